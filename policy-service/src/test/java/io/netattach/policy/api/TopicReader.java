package io.netattach.policy.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/** Reads a whole topic from the start and keeps every record, so tests wait on a condition over what arrived. */
public final class TopicReader implements AutoCloseable {
    /**
     * timestamp: the record's (the producer's send time, CreateTime); value: the JSON (null when read as raw);
     * headers: the last value of each header, as UTF-8.
     */
    public record Received(String key, JsonNode value, String raw, Map<String, String> headers, long timestamp) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private final KafkaConsumer<String, String> consumer;
    private final boolean json;
    private final List<Received> seen = new ArrayList<>();

    /** A reader of JSON records: a record that is not JSON fails the test. */
    public TopicReader(String bootstrap, String topic) {
        this(bootstrap, topic, true);
    }

    /** @param json whether every value must be JSON (false: values kept as they came, e.g. a dead-letter topic's) */
    public TopicReader(String bootstrap, String topic, boolean json) {
        this.json = json;
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
                Map<String, String> headers = new HashMap<>();
                for (Header h : r.headers()) headers.put(h.key(), h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8));
                JsonNode value = null;
                if (json) {
                    try {
                        value = JSON.readTree(r.value());
                    } catch (Exception e) {
                        throw new AssertionError("record is not JSON: " + r.value(), e);
                    }
                }
                seen.add(new Received(r.key(), value, r.value(), Collections.unmodifiableMap(headers), r.timestamp()));
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
