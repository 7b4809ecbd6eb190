package io.netattach.policy.domain;

import io.netattach.policy.domain.crd.AttachmentPolicies;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Decides a request: for every selection, namespace isolation, then RBAC (for the NADs that require it), then the
 * attachment policies. The first rule that denies decides. A rule that cannot be evaluated denies with reason
 * "policy unavailable" (rule {@code unavailable}), unless fail-open is set (rule {@code fail-open}): then only an
 * explicit denial denies.
 * An allowed selection names the most specific rule that granted it (policy, else rbac, else namespace-isolation).
 */
public final class PolicyGate {
    private final NamespaceIsolation isolation;
    private final ServiceAccountAccess rbac;
    private final AttachmentPolicies policies;
    private final boolean failOpen;
    private final DecisionCache cache;

    public PolicyGate(NamespaceIsolation isolation, ServiceAccountAccess rbac, AttachmentPolicies policies, boolean failOpen, DecisionCache cache) {
        this.isolation = isolation;
        this.rbac = rbac;
        this.policies = policies;
        this.failOpen = failOpen;
        this.cache = cache;
    }

    /** @throws InvalidRequest when a field of the request is malformed */
    public PolicyDecision decide(PolicyRequest request) {
        RequestValidation.check(request);
        PodRef pod = request.pod();
        var key = new DecisionCache.Key(request.cluster(), pod.namespace(), pod.serviceAccount(), pod.labels(), request.selections(),
                rbac.review().version(), rbac.definitionsVersion(), policies.source() == null ? 0 : policies.source().version());
        List<Decision> cached = cache.get(key);
        boolean hit = cached != null;
        List<Decision> decisions = hit ? cached : evaluate(request.cluster(), pod, request.selections());
        if (!hit && decisions.stream().noneMatch(d -> Decision.UNAVAILABLE.equals(d.rule()) || Decision.FAIL_OPEN.equals(d.rule()))) {
            cache.put(key, decisions);
        }
        List<Decision> withInputs = new ArrayList<>();
        for (int i = 0; i < decisions.size(); i++) {
            Decision d = decisions.get(i);
            withInputs.add(d.withInputs(inputs(pod, request.selections().get(i), d.inputs(), hit)));
        }
        return new PolicyDecision(request.requestId(), pod, withInputs);
    }

    private List<Decision> evaluate(String cluster, PodRef pod, List<Selection> selections) {
        List<Verdict> policyVerdicts = policies.evaluate(pod, selections);
        List<Decision> out = new ArrayList<>();
        for (int i = 0; i < selections.size(); i++) {
            Selection s = selections.get(i);
            List<Verdict> verdicts = new ArrayList<>();
            Verdict iso = isolation.evaluate(pod, s);
            verdicts.add(iso);
            Map<String, Object> ruleInputs = Map.of();
            // No NAD lookup and no RBAC round trip for a network that isolation already refuses.
            if (!(iso instanceof Verdict.Deny)) {
                RbacRequirement required = rbac.requirement(s, cluster);
                ruleInputs = rbac.inputs(required);
                verdicts.add(rbac.evaluate(pod, s, required));
            }
            verdicts.add(policyVerdicts.get(i));
            out.add(combine(s, verdicts).withInputs(ruleInputs));
        }
        return out;
    }

    private Decision combine(Selection s, List<Verdict> verdicts) {
        for (Verdict v : verdicts) {
            if (v instanceof Verdict.Deny d) return new Decision(s.network(), s.interfaceName(), false, d.rule(), d.reason(), null, d.policy());
        }
        List<String> unavailable = verdicts.stream().filter(v -> v instanceof Verdict.Unavailable)
                .map(v -> ((Verdict.Unavailable) v).why()).toList();
        if (!unavailable.isEmpty()) {
            String why = String.join("; ", unavailable);
            return failOpen
                    ? new Decision(s.network(), s.interfaceName(), true, Decision.FAIL_OPEN,
                        Decision.POLICY_UNAVAILABLE + " (" + why + "); allowed because fail-open is set", null, null)
                    : new Decision(s.network(), s.interfaceName(), false, Decision.UNAVAILABLE, Decision.POLICY_UNAVAILABLE + ": " + why, null, null);
        }
        Verdict.Pass last = null;
        for (Verdict v : verdicts) if (v instanceof Verdict.Pass p) last = p;
        if (last == null) {
            String why = verdicts.stream().filter(v -> v instanceof Verdict.Abstain).map(v -> ((Verdict.Abstain) v).why())
                    .collect(Collectors.joining("; "));
            return new Decision(s.network(), s.interfaceName(), true, Decision.NO_RULE, "no rule applies: " + why, null, null);
        }
        return new Decision(s.network(), s.interfaceName(), true, last.rule(), last.reason(), null, last.policy());
    }

    /** @param ruleInputs what the rules found while deciding (RBAC required and why), kept with a cached decision */
    private Map<String, Object> inputs(PodRef pod, Selection s, Map<String, Object> ruleInputs, boolean cached) {
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("serviceAccount", pod.serviceAccount());
        in.put("podLabels", pod.labels());
        in.put("network", s.network());
        in.put("interface", s.interfaceName());
        in.put("ips", s.ips());
        in.put("mac", s.mac());
        in.put("defaultRoute", s.defaultRoute());
        if (isolation.enabled()) in.put("globalNamespaces", isolation.globalNamespaces().stream().sorted().toList());
        in.putAll(ruleInputs);
        in.put("cached", cached);
        return in;
    }
}
