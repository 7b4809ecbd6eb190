package io.netattach.attach.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The Kafka side of attach-service against the real broker: replies in, dead letters, the records it sends, health, metrics. */
@QuarkusTest
@WithKubernetesTestServer(crud = true)
class BusTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    @Inject Bus bus;
    @ConfigProperty(name = "kafka.bootstrap.servers") String bootstrap;
    @ConfigProperty(name = "netattach.kafka.topic-suffix") String suffix;

    private KafkaProducer<String, String> producer;

    @BeforeEach
    void producer() {
        producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap, ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class, ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class));
    }

    @AfterEach
    void close() {
        producer.close();
    }

    @Test
    void aPoisonReplyGoesToTheDeadLetterTopicWithItsReasonAndTheNextReplyIsStillDispatched() throws Exception {
        String run = UUID.randomUUID().toString();
        String requestId = "release/test/" + run + "/pod";
        LinkedBlockingQueue<JsonNode> answers = new LinkedBlockingQueue<>();
        bus.expect(requestId, "uid-" + run, answers::add);
        try {
            String notJson = "{\"specversion\":\"1.0\",\"type\":\"io.netattach.ipam.result\",";
            String noRequestId = event("io.netattach.ipam.result", "{\"ok\":true,\"released\":1}");
            producer.send(new ProducerRecord<>(t("netattach.ipam.results"), "poison-1-" + run, notJson)).get();
            producer.send(new ProducerRecord<>(t("netattach.ipam.results"), "poison-2-" + run, noRequestId)).get();
            producer.send(new ProducerRecord<>(t("netattach.ipam.results"), "uid-" + run,
                    event("io.netattach.ipam.result", "{\"requestId\":\"" + requestId + "\",\"ok\":true,\"released\":1,\"ips\":[],\"error\":null}"))).get();

            JsonNode answer = answers.poll(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            assertNotNull(answer, "the reply after the poison ones reached its waiter");
            assertEquals(requestId, answer.path("requestId").asText());

            ConsumerRecord<String, String> first = await(t("netattach.dlq.attach-service"), r -> r.key().equals("poison-1-" + run));
            assertEquals(notJson, first.value(), "the record as it came");
            assertTrue(header(first, "dead-letter-reason").startsWith("record value is not JSON: "), header(first, "dead-letter-reason"));
            assertEquals(t("netattach.ipam.results"), header(first, "dead-letter-topic"));
            assertNotNull(header(first, "dead-letter-offset"));
            ConsumerRecord<String, String> second = await(t("netattach.dlq.attach-service"), r -> r.key().equals("poison-2-" + run));
            assertEquals(noRequestId, second.value());
            assertEquals("data.requestId of io.netattach.ipam.result: missing", header(second, "dead-letter-reason"));
        } finally {
            bus.forget(requestId);
        }
        // the channel did not fail over it
        given().when().get("/q/health/live").then().statusCode(200);
    }

    @Test
    void everyTopicGetsItsOwnRecordsThroughTheOneChannel() throws Exception {
        String run = UUID.randomUUID().toString();
        for (Topic topic : Topic.values()) {
            bus.send(topic, topic + "-" + run, "test/" + run + "/" + topic, "io.netattach.test", null, JsonNodeFactory.instance.objectNode());
        }
        for (Topic topic : Topic.values()) {
            ConsumerRecord<String, String> r = await(t(topic.baseName()), x -> x.key().endsWith("-" + run));
            assertEquals(topic + "-" + run, r.key(), "the first record of this run on " + topic.baseName());
        }
    }

    @Test
    void aSentRecordHasItsKeyTheCloudEventAndTheStructuredModeContentType() throws Exception {
        String run = UUID.randomUUID().toString();
        String id = "test/" + run + "/audit/attached/net1";
        var data = JsonNodeFactory.instance.objectNode().put("outcome", "attached");
        bus.send(Topic.AUDIT, "uid-" + run, id, "io.netattach.attach.attached", "ns/pod-" + run, data);

        ConsumerRecord<String, String> r = await(t("netattach.audit"), x -> x.key().equals("uid-" + run));
        assertEquals("application/cloudevents+json", header(r, "content-type"));
        List<String> keys = new ArrayList<>();
        r.headers().forEach(h -> keys.add(h.key()));
        keys.removeAll(List.of("traceparent", "tracestate")); // W3C trace context, when OpenTelemetry is on
        assertEquals(List.of("content-type"), keys, "no header but the binding's and the trace context");
        JsonNode event = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.value());
        assertEquals(id, event.path("id").asText());
        assertEquals("io.netattach.attach.attached", event.path("type").asText());
        assertEquals("ns/pod-" + run, event.path("subject").asText());
        assertEquals("application/json", event.path("datacontenttype").asText());
        assertEquals("attached", event.path("data").path("outcome").asText());
    }

    @Test
    void isReadyOnceTheReplyPartitionsArePositioned() throws InterruptedException {
        // other checks (the Kubernetes caches) may still be DOWN just after start: wait for the whole, then look at ours
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (given().when().get("/q/health/ready").statusCode() != 200 && System.nanoTime() < deadline) Thread.sleep(100);
        given().when().get("/q/health/ready").then().statusCode(200)
                .body("checks.find { it.name == 'SmallRye Reactive Messaging - readiness check' }.status", equalTo("UP"))
                .body("checks.find { it.name == 'SmallRye Reactive Messaging - readiness check' }.data.'replies-positioned'", startsWith("[OK]"))
                .body("checks.find { it.name == 'SmallRye Reactive Messaging - readiness check' }.data.replies", startsWith("[OK]"));
    }

    @Test
    void metricsShowTheReplyConsumersLagAndTheProducer() {
        String metrics = given().when().get("/q/metrics").then().statusCode(200).extract().asString();
        // the names the Grafana dashboard charts, per client of the connector
        assertMetric(metrics, "kafka_consumer_fetch_manager_records_lag_max", "kafka-consumer-replies");
        assertMetric(metrics, "kafka_consumer_fetch_manager_records_consumed_total", "kafka-consumer-replies");
        assertMetric(metrics, "kafka_producer_record_send_total", "kafka-producer-" + Bus.OUT);
        assertMetric(metrics, "kafka_producer_record_error_total", "kafka-producer-" + Bus.OUT);
    }

    private static void assertMetric(String metrics, String name, String clientId) {
        assertTrue(metrics.lines().anyMatch(l -> l.startsWith(name + "{") && l.contains("client_id=\"" + clientId + "\"")),
                name + " of " + clientId + " in /q/metrics: " + metrics.lines().filter(l -> l.startsWith(name)).toList());
    }

    // ---- helpers -------------------------------------------------------------------------------------------

    private String t(String base) {
        return base + suffix;
    }

    private static String event(String type, String data) {
        return """
                {"specversion":"1.0","id":"x","source":"/netattach/test/local","type":"%s","time":"%s","datacontenttype":"application/json",
                 "netattachcluster":"test","data":%s}""".formatted(type, Instant.now(), data);
    }

    private static String header(ConsumerRecord<?, ?> r, String key) {
        Header h = r.headers().lastHeader(key);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /** The first record of the topic (read from its start) that matches, within TIMEOUT. */
    private ConsumerRecord<String, String> await(String topic, Predicate<ConsumerRecord<String, String>> matching) {
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.GROUP_ID_CONFIG, "bus-test-" + UUID.randomUUID(), ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class, ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class))) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.key() != null && matching.test(r)) return r;
                }
            }
        }
        return fail("no matching record on " + topic + " within " + TIMEOUT.toSeconds() + " s");
    }
}
