package io.netattach.policy.api;

import io.netattach.policy.config.PolicySettings;
import io.netattach.policy.domain.Decision;
import io.netattach.policy.domain.PodRef;
import io.netattach.policy.domain.PolicyDecision;
import io.netattach.policy.domain.PolicyGate;
import io.netattach.policy.domain.PolicyRequest;
import io.netattach.policy.domain.UnavailableRetry;
import io.micrometer.core.instrument.MeterRegistry;
import io.netattach.policy.kube.PodEvents;
import io.netattach.policy.kube.PolicyStatus;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** Decides a request and records it: audit events, an Event on the pod per denial, the policies' counters. */
@ApplicationScoped
public class Gatekeeper {
    private static final Logger LOG = Logger.getLogger(Gatekeeper.class);
    @Inject PolicyGate gate;
    @Inject AuditTrail audit;
    @Inject PodEvents events;
    @Inject PolicyStatus status;
    @Inject PolicySettings settings;
    @Inject MeterRegistry metrics;

    /** How many request ids {@link #firstRecord} remembers (the most recent ones). */
    static final int REMEMBERED = 10_000;
    /** Request ids already counted here, oldest first (guarded by itself). */
    private final Map<String, Boolean> recorded = new LinkedHashMap<>(1024, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > REMEMBERED;
        }
    };

    /** A dry run: decides and logs only (no audit event, no Kubernetes Event, no counter), so operators can probe. */
    public PolicyDecision dryRun(PolicyRequest request) {
        return decide(request, true, null);
    }

    /**
     * Decides and records the request; its audit events are sent, their futures added to {@code auditSends} (the
     * caller awaits them before it answers). @throws io.netattach.policy.domain.InvalidRequest on a malformed field
     */
    public PolicyDecision decide(PolicyRequest request, List<CompletableFuture<Void>> auditSends) {
        return decide(request, false, auditSends);
    }

    private PolicyDecision decide(PolicyRequest request, boolean dryRun, List<CompletableFuture<Void>> auditSends) {
        io.netattach.policy.domain.RequestValidation.check(request);
        PolicyDecision d = new UnavailableRetry(settings.unavailableRetryFor(), java.time.Clock.systemUTC(), x -> Thread.sleep(x.toMillis()))
                .decide(() -> gate.decide(request));
        for (Decision x : d.decisions()) {
            if (Decision.FAIL_OPEN.equals(x.rule())) {
                LOG.errorf("FAIL-OPEN: %s allowed on %s for pod %s without a policy check (%s)", x.network(), x.interfaceName(), d.pod().key(), x.reason());
            }
        }
        if (dryRun) {
            LOG.infof("dry run %s for pod %s: allowed=%s %s", request.requestId(), d.pod().key(), d.allowed(), d.reason() == null ? "" : d.reason());
            return d;
        }
        record(d, auditSends);
        return d;
    }

    /** A request whose fields cannot be read is denied as a whole, every network with rule invalid-request, and audited. */
    public PolicyDecision rejectInvalid(String requestId, PodRef pod, List<String> networks, List<String> interfaces, String why,
                                        List<CompletableFuture<Void>> auditSends) {
        List<Decision> denials = new java.util.ArrayList<>();
        for (int i = 0; i < networks.size(); i++) {
            denials.add(new Decision(networks.get(i), interfaces.get(i), false, Decision.INVALID_REQUEST, why, java.util.Map.of(), null));
        }
        if (denials.isEmpty()) denials.add(new Decision("-", null, false, Decision.INVALID_REQUEST, why, java.util.Map.of(), null));
        PolicyDecision d = new PolicyDecision(requestId, pod, denials);
        if (firstRecord(requestId)) count(d);
        LOG.warnf("invalid policy request %s for pod %s: %s", requestId, pod.key(), why);
        audit.publish(d, auditSends);
        return d;
    }

    /** netattach_policy_decisions_total{outcome, rule}: one per network decided (dry runs not counted). */
    private void count(PolicyDecision d) {
        for (Decision x : d.decisions()) {
            metrics.counter("netattach.policy.decisions", "outcome", x.allowed() ? "allowed" : "denied", "rule", x.rule()).increment();
        }
    }

    /**
     * Whether this request id is recorded here for the first time. A request is delivered again when its offset
     * was not committed before a restart or rebalance, or when its sender retries: it is decided and
     * audited again (the audit events keep their ids, so readers drop the copies), and its denial Events keep
     * their names, but its counters and the policies' status counts are recorded once. Remembered per replica,
     * for the last {@value #REMEMBERED} requests; a redelivery to another replica, or after a restart, counts
     * again.
     */
    boolean firstRecord(String requestId) {
        synchronized (recorded) {
            return recorded.putIfAbsent(requestId, Boolean.TRUE) == null;
        }
    }

    private void record(PolicyDecision d, List<CompletableFuture<Void>> auditSends) {
        audit.publish(d, auditSends);
        // the denial Events have names of their own per request and network: written again, they stay one (and a
        // write that failed the first time gets another chance)
        for (Decision x : d.decisions()) {
            if (!x.allowed() && settings.podEvents()) events.denied(d.requestId(), d.pod(), x);
        }
        if (!firstRecord(d.requestId())) {
            LOG.debugf("request %s decided again (redelivered): audited again, not counted again", d.requestId());
            return;
        }
        count(d);
        for (Decision x : d.decisions()) {
            if (x.policy() != null) status.count(x.policy(), x.allowed());
        }
        if (!d.allowed()) LOG.infof("denied %s for pod %s: %s", d.requestId(), d.pod().key(), d.reason());
    }
}
