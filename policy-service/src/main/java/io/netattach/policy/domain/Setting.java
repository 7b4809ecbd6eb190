package io.netattach.policy.domain;

import java.util.Locale;

/**
 * A setting as an operator changes it: the configuration key and the environment variable that sets it. Denial
 * reasons name the setting that would allow what they refuse.
 */
public record Setting(String key) {
    public static final Setting NAMESPACE_ISOLATION = new Setting("netattach.policy.namespace-isolation.enabled");
    public static final Setting GLOBAL_NAMESPACES = new Setting("netattach.policy.namespace-isolation.global-namespaces");
    public static final Setting RBAC_EVERY_NETWORK = new Setting("netattach.policy.rbac.enabled");
    public static final Setting RBAC_VERB = new Setting("netattach.policy.rbac.verb");
    public static final Setting RBAC_EVALUATOR = new Setting("netattach.policy.rbac.evaluator");

    /** The environment variable, by the MicroProfile Config rule: upper case, every other character '_'. */
    public String env() {
        return key.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_");
    }

    /** {@code key (ENV)}, as reasons and errors print it. */
    @Override
    public String toString() {
        return key + " (" + env() + ")";
    }
}
