package io.netattach.policy.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netattach.policy.api.Messages.CloudEvent;
import io.netattach.policy.api.Messages.PolicyDecisionData;
import io.netattach.policy.api.Messages.PolicyRequestData;
import io.netattach.policy.api.Messages.SelectionData;
import io.netattach.policy.domain.InvalidRequest;
import io.netattach.policy.domain.PodRef;
import io.netattach.policy.domain.PolicyDecision;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * netattach.policy.requests -> decision -> netattach.policy.decisions (id {@code <requestId>/result}, key pod UID).
 * {@link #decide} decides one request and starts sending its audit events; PolicyKafka sends the answer once the
 * broker has every audit event of the poll, and commits after the answers are acknowledged too. A redelivered
 * request is decided again and answered with the same ids.
 */
@ApplicationScoped
public class PolicyRequestListener {
    private static final Logger LOG = Logger.getLogger(PolicyRequestListener.class);
    @Inject ObjectMapper json;
    @Inject Gatekeeper gatekeeper;
    @Inject AuditTrail audit;

    /** A decision to send to netattach.policy.decisions, keyed by pod UID. */
    public record Answer(String key, String value) {
    }

    /**
     * One record of netattach.policy.requests (PolicyKafka's poll loop): decided, its audit events sent (futures
     * added to {@code auditSends}); returns the answer to send after them, or null for a record that cannot be
     * answered (dropped, logged).
     */
    public Answer decide(String value, List<CompletableFuture<Void>> auditSends) {
        PolicyRequestData request;
        try {
            JsonNode event = json.readTree(value);
            request = json.treeToValue(event.path("data"), PolicyRequestData.class);
        } catch (Exception e) {
            LOG.errorf("unreadable policy request dropped (not a PolicyRequest CloudEvent): %s; value starts %s", e.getMessage(),
                    value == null ? "null" : value.substring(0, Math.min(200, value.length())));
            return null;
        }
        if (request == null || request.requestId() == null || request.requestId().isBlank() || request.pod() == null || request.pod().uid() == null) {
            LOG.errorf("policy request without requestId or pod.uid cannot be answered; dropped: %s", value.substring(0, Math.min(300, value.length())));
            return null;
        }
        PolicyDecision decision;
        try {
            decision = gatekeeper.decide(request.toDomain(), auditSends);
        } catch (InvalidRequest e) {
            var p = request.pod();
            List<SelectionData> s = request.selections() == null ? List.of() : request.selections();
            decision = gatekeeper.rejectInvalid(request.requestId(), new PodRef(p.namespace(), p.name(), p.uid(), p.serviceAccount(), p.labels()),
                    s.stream().map(SelectionData::network).toList(), s.stream().map(SelectionData::interfaceName).toList(), e.getMessage(), auditSends);
        }
        CloudEvent answer = CloudEvent.of(request.requestId() + "/result", audit.source(), "io.netattach.policy.decision",
                decision.pod().key(), audit.cluster(), PolicyDecisionData.of(decision));
        return new Answer(decision.pod().uid(), audit.write(answer));
    }
}
