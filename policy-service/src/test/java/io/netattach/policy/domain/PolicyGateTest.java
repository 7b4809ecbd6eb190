package io.netattach.policy.domain;

import io.netattach.policy.domain.crd.AttachmentPolicies;
import io.netattach.policy.domain.crd.AttachmentPolicy;
import io.netattach.policy.domain.crd.PolicySource;
import io.netattach.policy.domain.rbac.LocalAccessReview;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.netattach.policy.domain.Fixtures.bindSa;
import static io.netattach.policy.domain.Fixtures.net;
import static io.netattach.policy.domain.Fixtures.seedRole;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PolicyGateTest {
    private final InMemoryRbac rbac = new InMemoryRbac();
    private final List<AttachmentPolicy> policies = new ArrayList<>();
    private final PolicySource source = new PolicySource() {
        @Override public boolean ready() { return true; }
        @Override public long version() { return policies.size(); }
        @Override public List<AttachmentPolicy> policies() { return policies; }
        @Override public Map<String, String> namespaceLabels(String ns) { return Map.of(); }
    };
    private final PodRef pod = new PodRef("default", "multi-net-pod", "uid-1", "app-sa", Map.of());

    PolicyGateTest() {
        rbac.roles.add(seedRole());
        rbac.bindings.add(bindSa("default", "network-user", "Role", "network-user", "default", "app-sa"));
    }

    private PolicyGate gate(boolean failOpen, Duration ttl) {
        return new PolicyGate(new NamespaceIsolation(true, Set.of()), new ServiceAccountAccess(true, "get", new LocalAccessReview(rbac)),
                new AttachmentPolicies(true, false, source), failOpen, new DecisionCache(ttl, Clock.systemUTC()));
    }

    private static PolicyRequest request(PodRef pod, Selection... selections) {
        return new PolicyRequest("req-1", "local", pod, List.of(selections));
    }

    @Test
    void seedRoleAllowsMacvlanConfAndDeniesEveryOtherNetwork() {
        PolicyDecision d = gate(false, Duration.ZERO).decide(request(pod, net("default", "macvlan-conf"), net("default", "bridge-conf")));
        assertTrue(d.decisions().get(0).allowed());
        assertEquals(Decision.RBAC, d.decisions().get(0).rule());
        assertFalse(d.decisions().get(1).allowed());
        assertEquals(Decision.RBAC, d.decisions().get(1).rule());
        assertFalse(d.allowed(), "overall allowed only when every network is");
        assertTrue(d.reason().startsWith("default/bridge-conf: system:serviceaccount:default:app-sa may not get"), d.reason());
    }

    @Test
    void everyNetworkAllowedMeansAllowedWithNoReason() {
        PolicyDecision d = gate(false, Duration.ZERO).decide(request(pod, net("default", "macvlan-conf")));
        assertTrue(d.allowed());
        assertNull(d.reason());
        assertEquals("get", d.decisions().getFirst().inputs().get("rbacVerb"));
    }

    @Test
    void isolationDecidesBeforeRbac() {
        PolicyDecision d = gate(false, Duration.ZERO).decide(request(pod, net("other", "macvlan-conf")));
        assertEquals(Decision.NAMESPACE_ISOLATION, d.decisions().getFirst().rule());
    }

    @Test
    void policyIsNamedWhenItGrants() {
        policies.add(new AttachmentPolicy(new PolicyRef("default", "p"), null, null, List.of("macvlan-conf"), null, false, null, false, false));
        Decision d = gate(false, Duration.ZERO).decide(request(pod, net("default", "macvlan-conf"))).decisions().getFirst();
        assertTrue(d.allowed());
        assertEquals("policy/default/p", d.rule());
        assertEquals(new PolicyRef("default", "p"), d.policy());
    }

    @Test
    void unsyncedRbacFailsClosedWithPolicyUnavailable() {
        rbac.ready = false;
        PolicyDecision d = gate(false, Duration.ZERO).decide(request(pod, net("default", "macvlan-conf")));
        assertFalse(d.allowed());
        assertEquals(Decision.UNAVAILABLE, d.decisions().getFirst().rule());
        assertTrue(d.reason().contains("policy unavailable"), d.reason());
        assertTrue(d.retryable());
    }

    @Test
    void failOpenAllowsWhenUnavailableButNotWhenARuleDenies() {
        rbac.ready = false;
        PolicyDecision d = gate(true, Duration.ZERO).decide(request(pod, net("default", "macvlan-conf"), net("other", "x")));
        assertTrue(d.decisions().get(0).allowed());
        assertEquals(Decision.FAIL_OPEN, d.decisions().get(0).rule());
        assertFalse(d.decisions().get(1).allowed());
        assertEquals(Decision.NAMESPACE_ISOLATION, d.decisions().get(1).rule());
    }

    @Test
    void allRulesOffAllowsWithRuleNone() {
        var gate = new PolicyGate(new NamespaceIsolation(false, Set.of()), new ServiceAccountAccess(false, "use", new LocalAccessReview(rbac)),
                new AttachmentPolicies(false, false, source), false, new DecisionCache(Duration.ZERO, Clock.systemUTC()));
        Decision d = gate.decide(request(pod, net("other", "x"))).decisions().getFirst();
        assertTrue(d.allowed());
        assertEquals(Decision.NO_RULE, d.rule());
    }

    @Test
    void malformedFieldIsRejectedNamingFieldAndValue() {
        var bad = new Selection("default", "macvlan-conf", "net1", List.of("300.1.1.1/24"), null, null);
        var e = assertThrows(InvalidRequest.class, () -> gate(false, Duration.ZERO).decide(request(pod, bad)));
        assertTrue(e.getMessage().contains("selections[0].ips") && e.getMessage().contains("300.1.1.1/24"), e.getMessage());
        var badIf = new Selection("default", "macvlan-conf", "a-very-long-interface-name", null, null, null);
        e = assertThrows(InvalidRequest.class, () -> gate(false, Duration.ZERO).decide(request(pod, badIf)));
        assertTrue(e.getMessage().contains("selections[0].interface"), e.getMessage());
        var badMac = new Selection("default", "macvlan-conf", "net1", null, "zz:00", null);
        e = assertThrows(InvalidRequest.class, () -> gate(false, Duration.ZERO).decide(request(pod, badMac)));
        assertTrue(e.getMessage().contains("zz:00"), e.getMessage());
    }

    @Test
    void cacheAnswersRepeatsUntilRbacChanges() {
        PolicyGate gate = gate(false, Duration.ofMinutes(1));
        assertTrue(gate.decide(request(pod, net("default", "macvlan-conf"))).allowed());
        rbac.bindings.clear();
        Decision again = gate.decide(request(pod, net("default", "macvlan-conf"))).decisions().getFirst();
        assertTrue(again.allowed(), "same version: served from the cache");
        assertEquals(true, again.inputs().get("cached"));
        rbac.version++;
        assertFalse(gate.decide(request(pod, net("default", "macvlan-conf"))).allowed(), "a new RBAC version misses the cache");
    }

    @Test
    void cacheEntriesExpire() {
        var clock = new MutableClock();
        var cache = new DecisionCache(Duration.ofSeconds(5), clock);
        var key = new DecisionCache.Key("ns", "sa", Map.of(), List.of(), 1, 1);
        cache.put(key, List.of());
        assertEquals(List.of(), cache.get(key));
        clock.now = clock.now.plusSeconds(5);
        assertNull(cache.get(key));
    }

    @Test
    void unavailableDecisionsAreNotCached() {
        rbac.ready = false;
        PolicyGate gate = gate(false, Duration.ofMinutes(1));
        assertFalse(gate.decide(request(pod, net("default", "macvlan-conf"))).allowed());
        rbac.ready = true;
        assertTrue(gate.decide(request(pod, net("default", "macvlan-conf"))).allowed());
    }

    private static final class MutableClock extends Clock {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        @Override public java.time.ZoneId getZone() { return ZoneOffset.UTC; }
        @Override public Clock withZone(java.time.ZoneId zone) { return this; }
        @Override public Instant instant() { return now; }
    }
}
