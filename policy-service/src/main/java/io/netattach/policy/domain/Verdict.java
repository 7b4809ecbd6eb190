package io.netattach.policy.domain;

/** What one rule says about one selection. */
public sealed interface Verdict {
    /** The rule permits it; {@code policy} is set when a NetworkAttachmentPolicy granted it. */
    record Pass(String rule, String reason, PolicyRef policy) implements Verdict {
        public Pass(String rule, String reason) {
            this(rule, reason, null);
        }
    }

    record Deny(String rule, String reason, PolicyRef policy) implements Verdict {
        public Deny(String rule, String reason) {
            this(rule, reason, null);
        }
    }

    /** The rule does not apply here (e.g. no policy selects the pod). */
    record Abstain(String why) implements Verdict {}

    /** The rule could not be evaluated (API server unreachable, caches not synced). */
    record Unavailable(String rule, String why) implements Verdict {}
}
