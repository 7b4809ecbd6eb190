package io.netattach.ipam.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netattach.testkit.InMemorySpans;
import io.netattach.testkit.TracingOn;
import io.netattach.testkit.InMemorySpans.TraceParent;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** With tracing on, an allocation is a span of the trace its request came with, and its result carries that trace on. */
@QuarkusTest
@TestProfile(TracingOn.class)
class IpamTracingTest {
    private static final ObjectMapper JSON = new ObjectMapper();


    @Inject InMemorySpanExporter spans;

    @Test
    void anAllocationIsASpanOfTheRequestsTraceAndItsResultCarriesTheTraceOn() throws Exception {
        String suffix = ConfigProvider.getConfig().getOptionalValue("netattach.kafka.topic-suffix", String.class).orElse("");
        String bootstrap = ConfigProvider.getConfig().getValue("kafka.bootstrap.servers", String.class);
        String cluster = "t" + UUID.randomUUID().toString().substring(0, 6);
        String uid = UUID.randomUUID().toString();
        String requestId = "alloc/" + cluster + "/" + uid + "/net1";
        TraceParent attach = TraceParent.random(); // what attach-service's attach span would send

        Map<String, Object> owner = Map.of("cluster", cluster, "namespace", "default", "pod", "traced", "podUid", uid, "interface", "net1");
        Map<String, Object> data = Map.of("requestId", requestId, "network", "default/macvlan-conf", "owner", owner,
                "ipam", Map.of("type", "host-local", "subnet", "192.168.7.0/24", "rangeStart", "192.168.7.10", "rangeEnd", "192.168.7.20"));
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("specversion", "1.0");
        event.put("id", requestId);
        event.put("source", "/netattach/attach-service/" + cluster);
        event.put("type", "io.netattach.ipam.allocate");
        event.put("time", Instant.now().toString());
        event.put("datacontenttype", "application/json");
        event.put("netattachcluster", cluster);
        event.put("data", data);

        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, "ipam-tracing-test-" + UUID.randomUUID());
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        ConsumerRecord<String, String> result = null;
        try (var producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
             var consumer = new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of("netattach.ipam.results" + suffix));
            ProducerRecord<String, String> request = new ProducerRecord<>("netattach.ipam.requests" + suffix, uid, JSON.writeValueAsString(event));
            request.headers().add("content-type", "application/cloudevents+json".getBytes(StandardCharsets.UTF_8));
            request.headers().add("traceparent", attach.header().getBytes(StandardCharsets.UTF_8));
            producer.send(request).get(30, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (result == null && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    if (JSON.readTree(r.value()).path("data").path("requestId").asText().equals(requestId)) result = r;
                }
            }
        }
        assertNotNull(result, "no result for " + requestId + " within 30 s");
        JsonNode answer = JSON.readTree(result.value()).path("data");
        assertTrue(answer.path("ok").asBoolean(), answer.toString());

        SpanData allocate = InMemorySpans.await(spans, "ipam allocate of trace " + attach.traceId(),
                s -> s.getName().equals("ipam allocate") && s.getTraceId().equals(attach.traceId()));
        assertEquals(answer.path("pool").asText(), allocate.getAttributes().get(AttributeKey.stringKey("netattach.ipam.pool")));
        assertEquals(1L, allocate.getAttributes().get(AttributeKey.longKey("netattach.ipam.addresses")));
        // under the request's span: through the connector's span of the record, up to the sender's span in the header
        assertEquals(attach.spanId(), InMemorySpans.chain(spans, allocate.getSpanId()).getLast(), "ancestors of ipam allocate");

        Header header = result.headers().lastHeader("traceparent");
        assertNotNull(header, "the result carries a traceparent");
        TraceParent sent = TraceParent.parse(new String(header.value(), StandardCharsets.UTF_8));
        assertEquals(attach.traceId(), sent.traceId(), "the result's trace");
        InMemorySpans.await(spans, "the result's producer span", s -> s.getSpanId().equals(sent.spanId()));
        assertTrue(InMemorySpans.chain(spans, sent.spanId()).contains(allocate.getSpanId()), "the result is sent under ipam allocate");
    }
}
