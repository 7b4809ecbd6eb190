package io.netattach.policy.domain.nad;

import java.util.Locale;

/**
 * What the policy rules read of a NetworkAttachmentDefinition: its name and the value of its
 * {@value #REQUIRE_RBAC} annotation ({@code null} when absent).
 */
public record NetworkDefinition(String namespace, String name, String requireRbac) {
    /** A NAD's owner asks for the RBAC rule on that NAD alone, whatever the cluster-wide switch says. */
    public static final String REQUIRE_RBAC = "policy.netattach.io/require-rbac";

    /**
     * Absent or "false" (any case): not required. "true" (any case): required. Anything else ("yes", "1", "")
     * counts as "true": a typo must not open a NAD its owner meant to close.
     */
    public boolean requiresRbac() {
        return requireRbac != null && !"false".equals(normalized());
    }

    /** A value that is neither "true" nor "false": counted as "true", and worth a warning to the NAD's owner. */
    public boolean annotationUnclear() {
        return requireRbac != null && !"true".equals(normalized()) && !"false".equals(normalized());
    }

    private String normalized() {
        return requireRbac.strip().toLowerCase(Locale.ROOT);
    }

    /** namespace/name, as decisions name networks. */
    public String network() {
        return namespace + "/" + name;
    }
}
