package io.netattach.policy.domain;

import io.netattach.policy.domain.RbacRequirement.ByAnnotation;
import io.netattach.policy.domain.RbacRequirement.EveryNetwork;
import io.netattach.policy.domain.RbacRequirement.NotRequired;
import io.netattach.policy.domain.RbacRequirement.Unknown;
import io.netattach.policy.domain.nad.NetworkDefinition;
import io.netattach.policy.domain.nad.NetworkDefinitions;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The RBAC rule: the pod's service account must hold {@code verb} on the NAD, by name, in the NAD's namespace. It
 * applies to every NAD when {@code everyNetwork} is set, else only to NADs annotated
 * {@value NetworkDefinition#REQUIRE_RBAC}, read from {@code definitions} (the API server's copy, never a field of
 * the request). A NAD the rule does not apply to costs no access review. A request of another cluster than
 * {@code ownCluster} (a multi-cluster member) names NADs of that cluster's API server, which this one cannot read:
 * for those only {@code everyNetwork} applies. {@code ownCluster} null: every request is this cluster's.
 */
public record ServiceAccountAccess(boolean everyNetwork, String verb, AccessReview review, NetworkDefinitions definitions, String ownCluster) {

    public ServiceAccountAccess(boolean everyNetwork, String verb, AccessReview review, NetworkDefinitions definitions) {
        this(everyNetwork, verb, review, definitions, null);
    }

    public RbacRequirement requirement(Selection selection) {
        return requirement(selection, null);
    }

    /** @param cluster the cluster the request comes from (null: this one) */
    public RbacRequirement requirement(Selection selection, String cluster) {
        if (everyNetwork) return new EveryNetwork();
        if (cluster != null && ownCluster != null && !cluster.equals(ownCluster)) return new RbacRequirement.OtherCluster(cluster);
        if (!definitions.ready()) {
            return new Unknown("the NetworkAttachmentDefinition cache is not synced with the API server, so whether "
                    + selection.network() + " requires RBAC is not known");
        }
        Optional<NetworkDefinition> nad = definitions.find(selection.namespace(), selection.name());
        if (nad.isEmpty()) {
            return new Unknown("NetworkAttachmentDefinition " + selection.network()
                    + " is not in policy-service's cache (not created, or not seen yet), so whether it requires RBAC is not known");
        }
        NetworkDefinition d = nad.get();
        return d.requiresRbac() ? new ByAnnotation(d.requireRbac(), d.annotationUnclear()) : new NotRequired(d.requireRbac());
    }

    public Verdict evaluate(PodRef pod, Selection selection) {
        return evaluate(pod, selection, requirement(selection));
    }

    public Verdict evaluate(PodRef pod, Selection selection, RbacRequirement requirement) {
        return switch (requirement) {
            case NotRequired _ -> new Verdict.Abstain("RBAC is not required for " + selection.network());
            case RbacRequirement.OtherCluster c -> new Verdict.Abstain("RBAC is not required for " + selection.network() + " of cluster " + c.cluster()
                    + ": its NADs are read by no policy-service, so only " + Setting.RBAC_EVERY_NETWORK + " could require it");
            case Unknown u -> new Verdict.Unavailable(Decision.RBAC, u.why());
            case EveryNetwork _ -> check(pod, selection, "every NAD requires RBAC (" + Setting.RBAC_EVERY_NETWORK + " is true)");
            case ByAnnotation a -> check(pod, selection, "the NAD requires RBAC by its annotation " + NetworkDefinition.REQUIRE_RBAC
                    + ": \"" + a.value() + "\"" + (a.unclear() ? " (neither true nor false: counted as true)" : ""));
        };
    }

    /** @param required why the rule applies, for a denial: the pod's owner learns what to grant or whom to ask */
    private Verdict check(PodRef pod, Selection selection, String required) {
        AccessQuestion q = AccessQuestion.forNetwork(pod, selection, verb);
        return switch (review.check(q)) {
            case AccessAnswer.Granted g -> new Verdict.Pass(Decision.RBAC, q.user() + " may " + verb + " " + q.resource() + "." + q.group()
                    + " " + selection.network() + " (" + g.why() + ")");
            case AccessAnswer.Refused r -> new Verdict.Deny(Decision.RBAC, q.user() + " may not " + verb + " " + q.resource() + "." + q.group()
                    + " \"" + selection.name() + "\" in namespace " + selection.namespace()
                    + (r.why() == null || r.why().isBlank() ? "" : " (" + r.why() + ")") + "; " + required);
            case AccessAnswer.Unknown u -> new Verdict.Unavailable(Decision.RBAC, "RBAC could not be evaluated by " + review.name() + ": " + u.why());
        };
    }

    /** What the audit records of the rule: whether RBAC was required and why, and how it was asked. */
    public Map<String, Object> inputs(RbacRequirement requirement) {
        Map<String, Object> in = new LinkedHashMap<>();
        switch (requirement) {
            case EveryNetwork _ -> {
                in.put("rbacRequired", true);
                in.put("rbacRequiredBy", "cluster-wide");
            }
            case ByAnnotation a -> {
                in.put("rbacRequired", true);
                in.put("rbacRequiredBy", "nad-annotation");
                in.put("rbacAnnotation", a.value());
            }
            case NotRequired n -> {
                in.put("rbacRequired", false);
                if (n.annotation() != null) in.put("rbacAnnotation", n.annotation());
            }
            case RbacRequirement.OtherCluster c -> {
                in.put("rbacRequired", false);
                in.put("rbacNotReadableFromCluster", c.cluster());
            }
            case Unknown _ -> { }
        }
        if (Boolean.TRUE.equals(in.get("rbacRequired"))) {
            in.put("rbacVerb", verb);
            in.put("rbacEvaluator", review.name());
        }
        return in;
    }

    /** The version of what {@link #requirement} reads: part of the decision cache's key. */
    public long definitionsVersion() {
        return everyNetwork ? 0 : definitions.version();
    }
}
