package io.netattach.policy.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netattach.policy.api.Messages.AuditData;
import io.netattach.policy.api.Messages.CloudEvent;
import io.netattach.policy.domain.Decision;
import io.netattach.policy.domain.PolicyDecision;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;

/**
 * Every decision, one event per requested network, to netattach.audit: type io.netattach.policy.allowed or
 * .denied, subject namespace/pod, id {@code <requestId>/audit/<ns>/<nad>/<interface>} (stable across redelivery).
 */
@ApplicationScoped
public class AuditTrail {
    @Inject ObjectMapper json;
    @Inject @Channel("audit") MutinyEmitter<String> audit;
    @ConfigProperty(name = "netattach.cluster-id") String cluster;

    String cluster() {
        return cluster;
    }

    String source() {
        return "/netattach/policy-service/" + cluster;
    }

    /** Returns when the broker has acknowledged every event (acks=all). */
    public void publish(PolicyDecision decision) {
        for (Decision d : decision.decisions()) {
            String type = d.allowed() ? "io.netattach.policy.allowed" : "io.netattach.policy.denied";
            CloudEvent event = CloudEvent.of(decision.requestId() + "/audit/" + d.network() + "/" + d.interfaceName(), source(), type,
                    decision.pod().key(), cluster, AuditData.of(decision.pod(), d));
            audit.sendMessageAndAwait(keyed(decision.pod().uid(), write(event)));
        }
    }

    String write(Object o) {
        try {
            return json.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON: " + e.getMessage(), e);
        }
    }

    static Message<String> keyed(String key, String value) {
        return Message.of(value).addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(key).build());
    }
}
