package io.netattach.policy.domain;

import io.netattach.policy.domain.crd.AttachmentPolicies;
import io.netattach.policy.domain.crd.AttachmentPolicy;
import io.netattach.policy.domain.crd.LabelSelector;
import io.netattach.policy.domain.crd.PolicySource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.netattach.policy.domain.Fixtures.net;
import static io.netattach.policy.domain.Fixtures.pod;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AttachmentPoliciesTest {
    private final List<AttachmentPolicy> policies = new ArrayList<>();
    private final Map<String, Map<String, String>> nsLabels = Map.of("team-a", Map.of("tier", "prod"), "team-b", Map.of("tier", "dev"));
    private boolean ready = true;
    private final PolicySource source = new PolicySource() {
        @Override public boolean ready() { return ready; }
        @Override public long version() { return 1; }
        @Override public List<AttachmentPolicy> policies() { return policies; }
        @Override public Map<String, String> namespaceLabels(String ns) { return nsLabels.getOrDefault(ns, Map.of()); }
    };
    private final AttachmentPolicies rule = new AttachmentPolicies(true, false, source);

    private static AttachmentPolicy open(String ns, String name) {
        return new AttachmentPolicy(new PolicyRef(ns, name), null, null, null, null, false, null, false, false);
    }

    private Verdict one(PodRef pod, Selection s) {
        return rule.evaluate(pod, List.of(s)).getFirst();
    }

    @Test
    void podSelectedByNoPolicyIsNotRestricted() {
        assertInstanceOf(Verdict.Abstain.class, one(pod("team-a", "p"), net("team-a", "n")));
    }

    @Test
    void defaultDenyRefusesPodSelectedByNoPolicy() {
        var v = new AttachmentPolicies(true, true, source).evaluate(pod("team-a", "p"), List.of(net("team-a", "n"))).getFirst();
        assertEquals(AttachmentPolicies.DEFAULT_DENY_RULE, assertInstanceOf(Verdict.Deny.class, v).rule());
    }

    @Test
    void listedNetworkIsGrantedAndOthersDenied() {
        policies.add(new AttachmentPolicy(new PolicyRef("team-a", "p1"), null, null, List.of("macvlan-conf", "shared/*"), null, false, null, false, false));
        var pass = assertInstanceOf(Verdict.Pass.class, one(pod("team-a", "p"), net("team-a", "macvlan-conf")));
        assertEquals("policy/team-a/p1", pass.rule());
        assertInstanceOf(Verdict.Pass.class, one(pod("team-a", "p"), net("shared", "anything")));
        var deny = assertInstanceOf(Verdict.Deny.class, one(pod("team-a", "p"), net("team-a", "bridge-conf")));
        assertEquals("policy/team-a/p1", deny.rule());
        assertTrue(deny.reason().contains("team-a/bridge-conf"), deny.reason());
    }

    @Test
    void podSelectorChoosesWhichPodsAPolicyGoverns() {
        var sel = new LabelSelector(Map.of("app", "db"), List.of());
        policies.add(new AttachmentPolicy(new PolicyRef("team-a", "db-only"), null, sel, List.of("storage"), null, false, null, false, false));
        assertInstanceOf(Verdict.Deny.class, one(pod("team-a", "db"), net("team-a", "other")));
        assertInstanceOf(Verdict.Abstain.class, one(pod("team-a", "web"), net("team-a", "other")));
    }

    @Test
    void matchExpressionsSelectPods() {
        var sel = new LabelSelector(Map.of(), List.of(new LabelSelector.Requirement("app", "In", List.of("db", "cache"))));
        policies.add(new AttachmentPolicy(new PolicyRef("team-a", "p"), null, sel, List.of(), null, false, null, false, false));
        assertInstanceOf(Verdict.Deny.class, one(pod("team-a", "cache"), net("team-a", "n")));
        assertInstanceOf(Verdict.Abstain.class, one(pod("team-a", "web"), net("team-a", "n")));
    }

    @Test
    void clusterPolicyNamespaceSelectorUsesNamespaceLabels() {
        var prod = new LabelSelector(Map.of("tier", "prod"), List.of());
        policies.add(new AttachmentPolicy(new PolicyRef(null, "prod-nets"), prod, null, List.of("prod-net"), null, false, null, false, false));
        assertEquals("clusterpolicy/prod-nets", assertInstanceOf(Verdict.Pass.class, one(pod("team-a", "p"), net("team-a", "prod-net"))).rule());
        assertInstanceOf(Verdict.Deny.class, one(pod("team-a", "p"), net("team-a", "dev-net")));
        assertInstanceOf(Verdict.Abstain.class, one(pod("team-b", "p"), net("team-b", "dev-net")));
    }

    @Test
    void namespacePolicyCannotWidenAClusterPolicy() {
        policies.add(new AttachmentPolicy(new PolicyRef(null, "ceiling"), null, null, List.of("a"), null, false, null, false, false));
        policies.add(open("team-a", "wide-open"));
        assertEquals("clusterpolicy/ceiling", assertInstanceOf(Verdict.Deny.class, one(pod("team-a", "p"), net("team-a", "b"))).rule());
        assertEquals("policy/team-a/wide-open", assertInstanceOf(Verdict.Pass.class, one(pod("team-a", "p"), net("team-a", "a"))).rule());
    }

    @Test
    void grantsAddUpWithinATier() {
        policies.add(new AttachmentPolicy(new PolicyRef("team-a", "a"), null, null, List.of("a"), null, false, null, false, false));
        policies.add(new AttachmentPolicy(new PolicyRef("team-a", "b"), null, null, List.of("b"), null, false, null, false, false));
        assertEquals("policy/team-a/b", assertInstanceOf(Verdict.Pass.class, one(pod("team-a", "p"), net("team-a", "b"))).rule());
    }

    @Test
    void maxInterfacesDeniesTheSelectionsBeyondTheLimit() {
        policies.add(new AttachmentPolicy(new PolicyRef("team-a", "two"), null, null, null, 2, false, null, false, false));
        var v = rule.evaluate(pod("team-a", "p"), List.of(net("team-a", "a"), net("team-a", "b"), net("team-a", "c")));
        assertInstanceOf(Verdict.Pass.class, v.get(0));
        assertInstanceOf(Verdict.Pass.class, v.get(1));
        var d = assertInstanceOf(Verdict.Deny.class, v.get(2));
        assertTrue(d.reason().contains("at most 2"), d.reason());
    }

    @Test
    void staticIpsNeedPermissionAndMustLieInTheAllowedCidrs() {
        var claim = new Selection("team-a", "n", "net1", List.of("192.168.1.100/24"), null, null);
        policies.add(open("team-a", "no-static"));
        assertTrue(assertInstanceOf(Verdict.Deny.class, one(pod("team-a", "p"), claim)).reason().contains("static IPs"));
        policies.clear();
        policies.add(new AttachmentPolicy(new PolicyRef("team-a", "static"), null, null, null, null, true, List.of("192.168.1.0/25", "fd00::/64"), false, false));
        assertInstanceOf(Verdict.Pass.class, one(pod("team-a", "p"), claim));
        var outside = new Selection("team-a", "n", "net1", List.of("192.168.1.200"), null, null);
        assertTrue(assertInstanceOf(Verdict.Deny.class, one(pod("team-a", "p"), outside)).reason().contains("192.168.1.200"));
        var v6 = new Selection("team-a", "n", "net1", List.of("fd00::5/64"), null, null);
        assertInstanceOf(Verdict.Pass.class, one(pod("team-a", "p"), v6));
    }

    @Test
    void macAndDefaultRouteAreRefusedUnlessAllowed() {
        var mac = new Selection("team-a", "n", "net1", null, "02:00:00:00:00:01", null);
        var route = new Selection("team-a", "n", "net1", null, null, List.of("10.0.0.1"));
        policies.add(open("team-a", "plain"));
        assertInstanceOf(Verdict.Deny.class, one(pod("team-a", "p"), mac));
        assertInstanceOf(Verdict.Deny.class, one(pod("team-a", "p"), route));
        policies.clear();
        policies.add(new AttachmentPolicy(new PolicyRef("team-a", "all"), null, null, null, null, false, null, true, true));
        assertInstanceOf(Verdict.Pass.class, one(pod("team-a", "p"), mac));
        assertInstanceOf(Verdict.Pass.class, one(pod("team-a", "p"), route));
    }

    @Test
    void unsyncedPoliciesAreUnavailable() {
        ready = false;
        assertInstanceOf(Verdict.Unavailable.class, one(pod("team-a", "p"), net("team-a", "n")));
    }
}
