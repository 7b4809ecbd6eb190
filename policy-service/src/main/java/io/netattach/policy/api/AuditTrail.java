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

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

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

    /**
     * Returns when the broker has acknowledged every event (acks=all). The events of one decision travel
     * together (one per selection) instead of one broker round trip after the other.
     */
    public void publish(PolicyDecision decision) {
        List<CompletableFuture<Void>> sends = new ArrayList<>();
        for (Decision d : decision.decisions()) {
            String type = d.allowed() ? "io.netattach.policy.allowed" : "io.netattach.policy.denied";
            CloudEvent event = CloudEvent.of(decision.requestId() + "/audit/" + d.network() + "/" + d.interfaceName(), source(), type,
                    decision.pod().key(), cluster, AuditData.of(decision.pod(), d));
            sends.add(audit.sendMessage(keyed(decision.pod().uid(), write(event))).subscribeAsCompletionStage());
        }
        try {
            CompletableFuture.allOf(sends.toArray(CompletableFuture[]::new)).join();
        } catch (java.util.concurrent.CompletionException e) {
            // as sendMessageAndAwait did: the send's own failure, not its wrapper
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw e;
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
