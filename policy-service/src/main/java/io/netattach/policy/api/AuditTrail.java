package io.netattach.policy.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netattach.policy.api.Messages.AuditData;
import io.netattach.policy.api.Messages.CloudEvent;
import io.netattach.policy.domain.Decision;
import io.netattach.policy.domain.PolicyDecision;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Every decision, one event per requested network, to netattach.audit (channel {@code policy-out}): type
 * io.netattach.policy.allowed or .denied, subject namespace/pod, key pod UID, id
 * {@code <requestId>/audit/<ns>/<nad>/<interface>} (stable across redelivery).
 */
@ApplicationScoped
public class AuditTrail {
    @Inject ObjectMapper json;
    @Inject CloudEventRecords records;
    @ConfigProperty(name = "netattach.cluster-id") String cluster;

    String cluster() {
        return cluster;
    }

    String source() {
        return "/netattach/policy-service/" + cluster;
    }

    /**
     * Starts sending the decision's audit events (one per selection) and adds their futures to {@code sends}; each
     * completes when the broker has the event (acks=all). The caller awaits them before it sends the decision.
     */
    public void publish(PolicyDecision decision, List<CompletableFuture<Void>> sends) {
        for (Decision d : decision.decisions()) {
            String type = d.allowed() ? "io.netattach.policy.allowed" : "io.netattach.policy.denied";
            CloudEvent event = CloudEvent.of(decision.requestId() + "/audit/" + d.network() + "/" + d.interfaceName(), source(), type,
                    decision.pod().key(), cluster, AuditData.of(decision.pod(), d));
            // the Uni is lazy: subscribing sends now
            sends.add(records.audit(decision.pod().uid(), write(event)).subscribeAsCompletionStage());
        }
    }

    String write(Object o) {
        try {
            return json.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON: " + e.getMessage(), e);
        }
    }
}
