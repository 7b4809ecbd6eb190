package io.netattach.lab;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Reads the netattach.audit topic from the beginning, as an auditor's tool would. */
final class Audit {
    private Audit() {
    }

    /** The `data.outcome` of every audit event about one pod (by its UID). */
    static Set<String> outcomesFor(String podUid) {
        Set<String> outcomes = new HashSet<>();
        try (var consumer = new KafkaConsumer<String, String>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, System.getProperty("kafka.bootstrap.servers", "127.0.0.1:9092"),
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName(),
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName()))) {
            List<TopicPartition> partitions = consumer.partitionsFor("netattach.audit" + LabWorld.topicSuffix()).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                    try {
                        JsonNode event = LabWorld.JSON.readTree(r.value());
                        JsonNode data = event.path("data");
                        // By UID, not name: StatefulSet pods come back under the same name.
                        if (podUid.equals(r.key()) || podUid.equals(data.path("pod").path("uid").asText())) {
                            outcomes.add(data.path("outcome").asText());
                        }
                    } catch (java.io.IOException e) {
                        throw new AssertionError("audit record is not JSON: " + r.value(), e);
                    }
                }
            }
        }
        return outcomes;
    }
}
