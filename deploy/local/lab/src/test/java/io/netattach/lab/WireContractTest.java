package io.netattach.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Kafka contract as the running services keep it: the topics of deploy/kubernetes/kafka/topics.yaml are the
 * channels of docs/asyncapi.yaml (same partitions, replicas and configuration), and every record the services
 * wrote on the lab's topics is a CloudEvent in the binding's structured mode (content-type header).
 */
class WireContractTest {
    private static final String STRUCTURED = "application/cloudevents+json";

    record Declared(int partitions, int replicas, Map<String, String> config) {
    }

    static Map<String, Declared> declaredTopics() throws IOException {
        Map<String, Declared> topics = new TreeMap<>();
        try (MappingIterator<JsonNode> docs = new YAMLMapper().readerFor(JsonNode.class)
                .readValues(LabWorld.ROOT.resolve("deploy/kubernetes/kafka/topics.yaml").toFile())) {
            while (docs.hasNext()) {
                JsonNode d = docs.next();
                if (d == null || !"KafkaTopic".equals(d.path("kind").asText())) continue;
                Map<String, String> config = new TreeMap<>();
                d.path("spec").path("config").properties().forEach(e -> config.put(e.getKey(), e.getValue().asText()));
                topics.put(d.path("spec").path("topicName").asText(), new Declared(d.path("spec").path("partitions").asInt(), d.path("spec").path("replicas").asInt(), config));
            }
        }
        return topics;
    }

    @Test
    void everyDeclaredTopicIsADocumentedChannelWithTheSamePartitionsAndConfig() throws IOException {
        JsonNode asyncapi = new YAMLMapper().readTree(LabWorld.ROOT.resolve("docs/asyncapi.yaml").toFile());
        Map<String, Declared> documented = new TreeMap<>();
        asyncapi.path("channels").forEach(ch -> {
            JsonNode b = ch.path("bindings").path("kafka");
            Map<String, String> config = new TreeMap<>();
            // AsyncAPI's Kafka binding gives cleanup.policy as a list; Kafka's config as "delete" or "compact,delete"
            b.path("topicConfiguration").properties().forEach(e -> config.put(e.getKey(), e.getValue().isArray()
                    ? String.join(",", java.util.stream.StreamSupport.stream(e.getValue().spliterator(), false).map(JsonNode::asText).toList()) : e.getValue().asText()));
            assertEquals(ch.path("address").asText(), b.path("topic").asText(), "channel binding topic = address");
            documented.put(ch.path("address").asText(), new Declared(b.path("partitions").asInt(), b.path("replicas").asInt(), config));
        });
        assertEquals(declaredTopics(), documented, "deploy/kubernetes/kafka/topics.yaml and docs/asyncapi.yaml's channel bindings");
        asyncapi.path("components").path("messages").properties().forEach(m -> {
            if (m.getKey().equals("DeadLetter")) return;
            assertTrue(m.getValue().path("traits").toString().contains("CloudEventsStructured"), m.getKey() + " carries the CloudEvents binding trait");
        });
    }

    @Test
    void everyRecordOnTheLabsTopicsIsAStructuredCloudEvent() throws IOException {
        String suffix = LabWorld.topicSuffix();
        List<String> topics = declaredTopics().keySet().stream().filter(t -> !t.startsWith("netattach.dlq.")).map(t -> t + suffix).toList();
        Map<String, Integer> seen = new HashMap<>();
        List<String> wrong = new ArrayList<>();
        try (var consumer = new KafkaConsumer<String, String>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, System.getProperty("kafka.bootstrap.servers", "127.0.0.1:9092"),
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName(),
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName()))) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String t : topics) consumer.partitionsFor(t).forEach(p -> partitions.add(new TopicPartition(p.topic(), p.partition())));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    seen.merge(r.topic(), 1, Integer::sum);
                    Header ct = r.headers().lastHeader("content-type");
                    String type = ct == null ? null : new String(ct.value(), StandardCharsets.UTF_8);
                    JsonNode event = LabWorld.JSON.readTree(r.value());
                    if (!STRUCTURED.equals(type) || !"1.0".equals(event.path("specversion").asText()) || event.path("id").asText().isEmpty()) {
                        if (wrong.size() < 5) wrong.add(r.topic() + "@" + r.offset() + " content-type=" + type + " " + r.value().substring(0, Math.min(160, r.value().length())));
                    }
                }
            }
        }
        // the lab's traffic so far: at least the node inventories every node-worker reports at start
        assertFalse(seen.isEmpty(), "no record on any of " + topics);
        assertTrue(wrong.isEmpty(), "records without the CloudEvents structured binding: " + wrong + " (seen per topic: " + seen + ")");
    }
}
