package io.netattach.policy.domain;

import java.util.List;

/** All decisions for one request. Allowed only when every network is allowed; reason = the first denial. */
public record PolicyDecision(String requestId, PodRef pod, List<Decision> decisions) {
    public PolicyDecision {
        decisions = List.copyOf(decisions);
    }

    public boolean allowed() {
        return decisions.stream().allMatch(Decision::allowed);
    }

    public String reason() {
        return decisions.stream().filter(d -> !d.allowed()).findFirst()
                .map(d -> d.network() + ": " + d.reason()).orElse(null);
    }

    /** True when some denial is transient (the API server could not be asked): the caller should ask again later. */
    public boolean retryable() {
        return decisions.stream().anyMatch(d -> !d.allowed() && Decision.UNAVAILABLE.equals(d.rule()));
    }
}
