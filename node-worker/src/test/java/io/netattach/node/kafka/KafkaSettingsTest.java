package io.netattach.node.kafka;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class KafkaSettingsTest {

    @Test
    void theBrokersSecuritySettingsReachEveryClientAndTheClientsOwnWin() {
        // what Quarkus collects from KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_JAAS_CONFIG, ...
        Map<String, Object> broker = Map.of("bootstrap.servers", "kafka:9093", "security.protocol", "SASL_SSL",
                "sasl.mechanism", "SCRAM-SHA-512", "sasl.jaas.config", "jaas", "acks", "1", "devservices.enabled", false);
        Map<String, Object> merged = KafkaSettings.merged(broker, Map.of("acks", "all", "client.id", "mine"));
        assertEquals("SASL_SSL", merged.get("security.protocol"));
        assertEquals("SCRAM-SHA-512", merged.get("sasl.mechanism"));
        assertEquals("jaas", merged.get("sasl.jaas.config"));
        assertEquals("kafka:9093", merged.get("bootstrap.servers"));
        assertEquals("all", merged.get("acks"), "the client's own setting wins");
        assertEquals("mine", merged.get("client.id"));
        assertFalse(merged.containsKey("devservices.enabled"), "Quarkus's own keys are not client settings");
    }
}
