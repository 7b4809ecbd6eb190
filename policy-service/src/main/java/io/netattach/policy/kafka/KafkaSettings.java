package io.netattach.policy.kafka;

import java.util.HashMap;
import java.util.Map;

/**
 * The settings every Kafka client of this service starts from: each {@code kafka.*} property as Quarkus collects
 * it (the {@code default-kafka-broker} map: {@code KAFKA_SECURITY_PROTOCOL}, SASL, TLS and any other client
 * setting given as a variable), with the client's own settings on top. The consumers, the producers and the topic
 * bootstrap's admin client all take them, so a secured broker is reached the same way by each. No shared module
 * by layout: each service keeps this copy.
 */
public final class KafkaSettings {
    private KafkaSettings() {
    }

    /** The broker settings with ours on top (ours win); Quarkus's own keys (devservices ...) left out. */
    public static Map<String, Object> merged(Map<String, Object> broker, Map<String, Object> ours) {
        Map<String, Object> all = new HashMap<>();
        broker.forEach((k, v) -> { if (k.contains(".") && !k.startsWith("devservices")) all.put(k, v); });
        all.putAll(ours);
        return all;
    }
}
