package io.netattach.policy.domain;

import java.util.Map;

/**
 * The answer for one requested network: allowed or not, the rule that decided and why, and what it was decided
 * from (audited as is). {@code policy} names the NetworkAttachmentPolicy that decided, when one did.
 */
public record Decision(String network, String interfaceName, boolean allowed, String rule, String reason,
                       Map<String, Object> inputs, PolicyRef policy) {

    public static final String NAMESPACE_ISOLATION = "namespace-isolation";
    public static final String RBAC = "rbac";
    public static final String UNAVAILABLE = "unavailable";
    public static final String FAIL_OPEN = "fail-open";
    public static final String INVALID_REQUEST = "invalid-request";
    /** No rule applies (switched off, RBAC not required, no policy selects the pod): nothing was checked. */
    public static final String NO_RULE = "none";
    public static final String POLICY_UNAVAILABLE = "policy unavailable";

    public Decision {
        // Values may be null (no MAC asked for): audited as null, so no Map.copyOf.
        inputs = inputs == null ? Map.of() : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(inputs));
    }

    public Decision withInputs(Map<String, Object> newInputs) {
        return new Decision(network, interfaceName, allowed, rule, reason, newInputs, policy);
    }
}
