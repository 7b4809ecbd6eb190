package io.netattach.policy.domain;

/** The RBAC rule: the pod's service account must hold {@code verb} on the NAD, by name, in the NAD's namespace. */
public record ServiceAccountAccess(boolean enabled, String verb, AccessReview review) {

    public Verdict evaluate(PodRef pod, Selection selection) {
        if (!enabled) return new Verdict.Abstain("rbac rule is off");
        AccessQuestion q = AccessQuestion.forNetwork(pod, selection, verb);
        return switch (review.check(q)) {
            case AccessAnswer.Granted g -> new Verdict.Pass(Decision.RBAC, q.user() + " may " + verb + " " + q.resource() + "." + q.group()
                    + " " + selection.network() + " (" + g.why() + ")");
            case AccessAnswer.Refused r -> new Verdict.Deny(Decision.RBAC, q.user() + " may not " + verb + " " + q.resource() + "." + q.group()
                    + " \"" + selection.name() + "\" in namespace " + selection.namespace() + (r.why() == null || r.why().isBlank() ? "" : " (" + r.why() + ")"));
            case AccessAnswer.Unknown u -> new Verdict.Unavailable(Decision.RBAC, "RBAC could not be evaluated by " + review.name() + ": " + u.why());
        };
    }
}
