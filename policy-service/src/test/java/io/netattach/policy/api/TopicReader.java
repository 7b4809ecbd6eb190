package io.netattach.policy.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/** Reads a whole topic from the start and keeps every record, so tests wait on a condition over what arrived. */
public final class TopicReader implements AutoCloseable {
    /** timestamp: the record's (the producer's send time, CreateTime). */
    public record Received(String key, JsonNode value, long timestamp) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private final KafkaConsumer<String, String> consumer;
    private final List<Received> seen = new ArrayList<>();

    public TopicReader(String bootstrap, String topic) {
        consumer = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName(),
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName()));
        List<TopicPartition> parts = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                .map(p -> new TopicPartition(topic, p.partition())).toList();
        consumer.assign(parts);
        consumer.seekToBeginning(parts);
    }

    /** Every record matching, once at least {@code count} have arrived; fails after {@code timeout}. */
    public synchronized List<Received> await(Predicate<Received> match, int count, Duration timeout) {
        Instant end = Instant.now().plus(timeout);
        while (true) {
            List<Received> hits = seen.stream().filter(match).toList();
            if (hits.size() >= count) return hits;
            if (Instant.now().isAfter(end)) {
                throw new AssertionError("expected " + count + " matching records within " + timeout + ", got " + hits.size() + " of " + seen.size() + " seen");
            }
            for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                try {
                    seen.add(new Received(r.key(), JSON.readTree(r.value()), r.timestamp()));
                } catch (Exception e) {
                    throw new AssertionError("record is not JSON: " + r.value(), e);
                }
            }
        }
    }

    public static Predicate<Received> id(String id) {
        return r -> id.equals(r.value().path("id").asText());
    }

    public static Predicate<Received> idStartsWith(String prefix) {
        return r -> r.value().path("id").asText().startsWith(prefix);
    }

    @Override
    public synchronized void close() {
        consumer.close();
    }
}
