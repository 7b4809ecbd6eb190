package io.netattach.policy.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netattach.policy.api.Messages.CloudEvent;
import io.netattach.policy.api.Messages.PolicyDecisionData;
import io.netattach.policy.api.Messages.PolicyRequestData;
import io.netattach.policy.api.Messages.SelectionData;
import io.netattach.policy.domain.InvalidRequest;
import io.netattach.policy.domain.PodRef;
import io.netattach.policy.domain.PolicyDecision;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.smallrye.reactive.messaging.TracingMetadata;
import io.smallrye.reactive.messaging.annotations.Blocking;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.jboss.logging.Logger;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * netattach.policy.requests (channel {@code policy-requests}) -> decision -> netattach.policy.decisions (channel
 * {@code policy-out}, id {@code <requestId>/result}, key pod UID). A decision's audit events are sent first,
 * its answer once the broker has every one of them (acks=all), and the request is acknowledged, so its offset may be
 * committed, once the broker has the answer too. A redelivered request is decided again and answered with the same
 * ids. A request that cannot be answered (not JSON, no requestId or pod.uid) is nacked with the field and its value
 * and goes to the dead-letter topic netattach.dlq.policy-service.
 */
@ApplicationScoped
public class PolicyRequestListener {
    private static final Logger LOG = Logger.getLogger(PolicyRequestListener.class);
    @Inject ObjectMapper json;
    @Inject Gatekeeper gatekeeper;
    @Inject AuditTrail audit;
    @Inject CloudEventRecords records;
    @Inject Tracer tracer;

    /** A request without what its answer needs; the message names the field and its value (the dead-letter reason). */
    static final class Unanswerable extends RuntimeException {
        Unanswerable(String message) {
            super(message);
        }
    }

    /**
     * Decides one request and completes once the broker has its audit events and then its answer; fails with
     * {@link Unanswerable} for a record that cannot be answered, or with the send's error.
     */
    // @Blocking: the gate may ask the API server through fabric8's synchronous client and waits between "unavailable"
    // retries. ordered=false: requests are decided concurrently, in no order even for one pod. None is needed: the gate
    // only reads, and each answer reaches its asker by its requestId whatever the order.
    @Incoming("policy-requests")
    @Blocking(value = "policy-decider", ordered = false)
    // tracing: the connector's span of the record (its parent is the sender's, named by the traceparent header)
    public CompletionStage<Void> answer(String value, Optional<TracingMetadata> tracing) {
        PolicyRequestData request;
        try {
            request = read(json, value);
        } catch (Unanswerable e) {
            LOG.warnf("policy request cannot be answered, sent to the dead-letter topic: %s", e.getMessage());
            return CompletableFuture.failedFuture(e);
        }
        Context parent = tracing.map(TracingMetadata::getCurrentContext).orElseGet(Context::current);
        Span span = tracer.spanBuilder("policy decision").setParent(parent)
                .setAttribute("netattach.request-id", request.requestId()).startSpan();
        Context trace = parent.with(span);
        List<CompletableFuture<Void>> audits = new ArrayList<>();
        PolicyDecision decision;
        try (Scope ignored = trace.makeCurrent()) {
            decision = decide(request, audits);
        } catch (RuntimeException e) {
            span.setStatus(StatusCode.ERROR, String.valueOf(e.getMessage())).end();
            throw e;
        }
        ended(span, decision);
        CloudEvent answer = CloudEvent.of(request.requestId() + "/result", audit.source(), "io.netattach.policy.decision",
                decision.pod().key(), audit.cluster(), PolicyDecisionData.of(decision));
        String record = audit.write(answer);
        return CompletableFuture.allOf(audits.toArray(CompletableFuture[]::new))
                .thenCompose(stored -> records.decision(decision.pod().uid(), record, trace).subscribeAsCompletionStage())
                .exceptionallyCompose(e -> {
                    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                    return CompletableFuture.failedFuture(new IllegalStateException("the answer to policy request " + request.requestId()
                            + " could not be sent: " + cause.getMessage(), cause));
                });
    }

    /** Ends the decision's span with its verdict: allowed, or the rule of the first denial (a denial is an answer, not an error). */
    private static void ended(Span span, PolicyDecision decision) {
        span.setAttribute("netattach.policy.allowed", decision.allowed()).setAttribute("netattach.interface.count", decision.decisions().size());
        decision.decisions().stream().filter(d -> !d.allowed()).findFirst().ifPresent(denied ->
                span.setAttribute("netattach.policy.rule", denied.rule()).setAttribute("netattach.policy.denied-network", denied.network()));
        span.end();
    }

    private PolicyDecision decide(PolicyRequestData request, List<CompletableFuture<Void>> audits) {
        try {
            return gatekeeper.decide(request.toDomain(), audits);
        } catch (InvalidRequest e) {
            var p = request.pod();
            List<SelectionData> s = request.selections() == null ? List.of() : request.selections();
            return gatekeeper.rejectInvalid(request.requestId(), new PodRef(p.namespace(), p.name(), p.uid(), p.serviceAccount(), p.labels()),
                    s.stream().map(SelectionData::network).toList(), s.stream().map(SelectionData::interfaceName).toList(), e.getMessage(), audits);
        }
    }

    /**
     * The request of one record, with the requestId and pod UID its answer needs; other fields are judged by the
     * gate (a bad one is answered "invalid-request"). @throws Unanswerable naming the field and its value
     */
    static PolicyRequestData read(ObjectMapper json, String value) {
        if (value == null) throw new Unanswerable("value: null; expected a PolicyRequest CloudEvent");
        JsonNode event;
        try {
            event = json.readTree(value);
        } catch (JsonProcessingException e) {
            throw new Unanswerable("value: not JSON (" + e.getOriginalMessage() + "): " + head(value));
        }
        JsonNode data = event == null ? null : event.get("data");
        if (data == null || !data.isObject()) {
            throw new Unanswerable("data: " + (data == null ? "missing" : head(data.toString()) + " is not an object")
                    + "; expected a PolicyRequest CloudEvent, got " + head(value));
        }
        PolicyRequestData request;
        try {
            request = json.treeToValue(data, PolicyRequestData.class);
        } catch (JsonMappingException e) {
            throw new Unanswerable(path("data", e) + ": " + e.getOriginalMessage());
        } catch (JsonProcessingException e) {
            throw new Unanswerable("data: " + e.getOriginalMessage());
        }
        if (blank(request.requestId())) throw new Unanswerable("data.requestId: " + shown(request.requestId()) + "; the answer could not be correlated");
        if (request.pod() == null) throw new Unanswerable("data.pod: missing; the answer would have no pod UID to be keyed by");
        if (blank(request.pod().uid())) throw new Unanswerable("data.pod.uid: " + shown(request.pod().uid()) + "; the answer would have no key");
        return request;
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    private static String shown(String s) {
        return s == null ? "missing" : "\"" + s + "\" is blank";
    }

    /** The JSON path of a field Jackson could not map, e.g. data.pod.labels or data.selections[0]. */
    private static String path(String root, JsonMappingException e) {
        StringBuilder at = new StringBuilder(root);
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) at.append('.').append(r.getFieldName());
            else if (r.getIndex() >= 0) at.append('[').append(r.getIndex()).append(']');
        }
        return at.toString();
    }

    private static String head(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }
}
