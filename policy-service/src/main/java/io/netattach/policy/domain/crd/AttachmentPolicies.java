package io.netattach.policy.domain.crd;

import io.netattach.policy.domain.PodRef;
import io.netattach.policy.domain.PolicyRef;
import io.netattach.policy.domain.Selection;
import io.netattach.policy.domain.Verdict;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The policy rule. Policies that select a pod grant, and grants add up within a tier (cluster policies;
 * the pod's namespace's policies). Each tier that selects the pod must grant: cluster administrators set a
 * ceiling that a namespace's own policies cannot widen, and namespace owners may narrow it. A pod that no policy
 * selects is not restricted by this rule, unless {@code defaultDeny}.
 */
public record AttachmentPolicies(boolean enabled, boolean defaultDeny, PolicySource source) {
    public static final String DEFAULT_DENY_RULE = "policy/default-deny";

    /** One verdict per selection, in order. */
    public List<Verdict> evaluate(PodRef pod, List<Selection> selections) {
        if (!enabled) return repeat(new Verdict.Abstain("policy rule is off"), selections.size());
        if (!source.ready()) {
            return repeat(new Verdict.Unavailable("policy", "NetworkAttachmentPolicy caches are not synced with the API server"), selections.size());
        }
        Map<String, String> nsLabels = source.namespaceLabels(pod.namespace());
        Comparator<AttachmentPolicy> byRule = Comparator.comparing(p -> p.ref().rule());
        List<AttachmentPolicy> selecting = source.policies().stream().filter(p -> p.selects(pod, nsLabels)).sorted(byRule).toList();
        List<AttachmentPolicy> cluster = selecting.stream().filter(p -> p.ref().clusterScoped()).toList();
        List<AttachmentPolicy> namespaced = selecting.stream().filter(p -> !p.ref().clusterScoped()).toList();
        if (selecting.isEmpty()) {
            Verdict v = defaultDeny
                    ? new Verdict.Deny(DEFAULT_DENY_RULE, "no NetworkAttachmentPolicy or ClusterNetworkAttachmentPolicy selects this pod (namespace " + pod.namespace() + ", labels " + pod.labels() + ")")
                    : new Verdict.Abstain("no policy selects the pod");
            return repeat(v, selections.size());
        }
        List<Verdict> out = new ArrayList<>();
        for (int i = 0; i < selections.size(); i++) {
            Selection s = selections.get(i);
            Verdict clusterVerdict = tier(cluster, pod, s, i, selections.size());
            Verdict namespaceVerdict = tier(namespaced, pod, s, i, selections.size());
            if (clusterVerdict instanceof Verdict.Deny) out.add(clusterVerdict);
            else if (namespaceVerdict instanceof Verdict.Deny) out.add(namespaceVerdict);
            else if (namespaceVerdict instanceof Verdict.Pass) out.add(namespaceVerdict);
            else out.add(clusterVerdict);
        }
        return out;
    }

    private static Verdict tier(List<AttachmentPolicy> policies, PodRef pod, Selection s, int index, int count) {
        if (policies.isEmpty()) return new Verdict.Abstain("no policy of this tier selects the pod");
        // The tier's limit is the largest any of its policies grants; one without a limit lifts it.
        Optional<AttachmentPolicy> widest = policies.stream().filter(p -> p.maxInterfaces() == null).findFirst()
                .or(() -> policies.stream().max(Comparator.comparing(AttachmentPolicy::maxInterfaces)));
        AttachmentPolicy limiter = widest.orElseThrow();
        if (limiter.maxInterfaces() != null && index >= limiter.maxInterfaces()) {
            return new Verdict.Deny(limiter.ref().rule(), "pod requests " + count + " secondary interfaces; "
                    + limiter.ref().rule() + " allows at most " + limiter.maxInterfaces(), limiter.ref());
        }
        List<String> refusals = new ArrayList<>();
        for (AttachmentPolicy p : policies) {
            Optional<String> refusal = p.refusal(pod, s);
            if (refusal.isEmpty()) return new Verdict.Pass(p.ref().rule(), "granted by " + p.ref().rule(), p.ref());
            refusals.add(p.ref().rule() + ": " + refusal.get());
        }
        PolicyRef first = policies.getFirst().ref();
        return new Verdict.Deny(first.rule(), "no policy selecting the pod allows it: " + String.join("; ", refusals), first);
    }

    private static List<Verdict> repeat(Verdict v, int n) {
        return java.util.Collections.nCopies(n, v);
    }
}
