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
    /** The seed's NADs, not annotated: the install's defaults decide. */
    private final InMemoryNetworks networks = new InMemoryNetworks()
            .add("default", "macvlan-conf", null).add("default", "bridge-conf", null).add("default", "ipvlan-conf", null);
    private final List<AttachmentPolicy> policies = new ArrayList<>();
    private final PolicySource source = new PolicySource() {
        @Override public boolean ready() { return true; }
        @Override public long version() { return policies.size(); }
        @Override public List<AttachmentPolicy> policies() { return policies; }
        @Override public Map<String, String> namespaceLabels(String ns) { return Map.of(); }
    };
    /** The seed's pod: service account restricted, bound to the seed's Role. */
    private final PodRef pod = new PodRef("default", "multi-net-pod", "uid-1", "restricted", Map.of());
    private int reviews;

    PolicyGateTest() {
        rbac.roles.add(seedRole());
        rbac.bindings.add(bindSa("default", "restricted-network-user", "Role", "network-user", "default", "restricted"));
    }

    /** RBAC required for every NAD (the cluster-wide switch), with no global namespace: the strictest install. */
    private PolicyGate gate(boolean failOpen, Duration ttl) {
        return gate(true, Set.of(), failOpen, ttl);
    }

    /** The default install: isolation on with default global, RBAC only where a NAD's annotation asks for it. */
    private PolicyGate defaults(Duration ttl) {
        return gate(false, Set.of("default"), false, ttl);
    }

    private PolicyGate gate(boolean rbacEveryNetwork, Set<String> global, boolean failOpen, Duration ttl) {
        LocalAccessReview local = new LocalAccessReview(rbac);
        AccessReview counted = new AccessReview() {
            @Override public AccessAnswer check(AccessQuestion q) {
                reviews++;
                return local.check(q);
            }
            @Override public long version() { return local.version(); }
            @Override public String name() { return local.name(); }
        };
        return new PolicyGate(new NamespaceIsolation(true, global), new ServiceAccountAccess(rbacEveryNetwork, "get", counted, networks),
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
        assertTrue(d.reason().startsWith("default/bridge-conf: system:serviceaccount:default:restricted may not get"), d.reason());
        assertTrue(d.reason().contains("every NAD requires RBAC (netattach.policy.rbac.enabled (NETATTACH_POLICY_RBAC_ENABLED) is true)"), d.reason());
    }

    @Test
    void seedRoleDecidesTheNadsAnnotatedRequireRbacWithTheSwitchOff() {
        networks.add("default", "macvlan-conf", "true").add("default", "bridge-conf", "true");
        PolicyDecision d = defaults(Duration.ZERO).decide(request(pod, net("default", "macvlan-conf"), net("default", "bridge-conf"),
                net("default", "ipvlan-conf")));
        assertTrue(d.decisions().get(0).allowed());
        assertEquals(Decision.RBAC, d.decisions().get(0).rule());
        assertFalse(d.decisions().get(1).allowed());
        assertEquals(Decision.RBAC, d.decisions().get(1).rule());
        assertTrue(d.decisions().get(1).reason().endsWith("the NAD requires RBAC by its annotation policy.netattach.io/require-rbac: \"true\""),
                d.decisions().get(1).reason());
        assertTrue(d.decisions().get(2).allowed(), "ipvlan-conf is not annotated: RBAC not required");
        assertEquals(Decision.NAMESPACE_ISOLATION, d.decisions().get(2).rule());
    }

    @Test
    void annotatedNadDeniesAServiceAccountWithoutABindingAndAllowsOneWithIt() {
        networks.add("default", "macvlan-conf", "true");
        PolicyGate gate = defaults(Duration.ZERO);
        var unbound = new PodRef("default", "other-pod", "uid-2", "default", Map.of());
        Decision denied = gate.decide(request(unbound, net("default", "macvlan-conf"))).decisions().getFirst();
        assertFalse(denied.allowed());
        assertEquals(Decision.RBAC, denied.rule());
        assertTrue(denied.reason().startsWith("system:serviceaccount:default:default may not get"), denied.reason());
        assertTrue(gate.decide(request(pod, net("default", "macvlan-conf"))).allowed());
    }

    @Test
    void aFreshNamespaceWithNoRbacObjectsIsAllowedByDefaultWithoutAnAccessReview() {
        networks.add("fresh", "macvlan-conf", null);
        var fresh = new PodRef("fresh", "web", "uid-3", null, Map.of());
        Decision d = defaults(Duration.ZERO).decide(request(fresh, net("fresh", "macvlan-conf"))).decisions().getFirst();
        assertTrue(d.allowed(), d.reason());
        assertEquals(Decision.NAMESPACE_ISOLATION, d.rule());
        assertEquals(false, d.inputs().get("rbacRequired"));
        assertEquals(0, reviews, "no RBAC round trip for a NAD that does not require RBAC");
    }

    @Test
    void aPodOfAnyNamespaceMayUseTheNadsOfDefaultByDefault() {
        var fresh = new PodRef("fresh", "web", "uid-3", null, Map.of());
        Decision d = defaults(Duration.ZERO).decide(request(fresh, net("default", "bridge-conf"))).decisions().getFirst();
        assertTrue(d.allowed(), d.reason());
        assertEquals("namespace default is global", d.reason());
    }

    @Test
    void inputsSayWhetherRbacWasRequiredAndWhy() {
        networks.add("default", "macvlan-conf", "True").add("default", "bridge-conf", "false");
        List<Decision> d = defaults(Duration.ZERO).decide(request(pod, net("default", "macvlan-conf"), net("default", "bridge-conf"))).decisions();
        assertEquals(true, d.get(0).inputs().get("rbacRequired"));
        assertEquals("nad-annotation", d.get(0).inputs().get("rbacRequiredBy"));
        assertEquals("True", d.get(0).inputs().get("rbacAnnotation"));
        assertEquals("get", d.get(0).inputs().get("rbacVerb"));
        assertEquals("local", d.get(0).inputs().get("rbacEvaluator"));
        assertEquals(false, d.get(1).inputs().get("rbacRequired"));
        assertEquals("false", d.get(1).inputs().get("rbacAnnotation"));
        assertFalse(d.get(1).inputs().containsKey("rbacVerb"), "no verb asked for where RBAC is not required");
        Decision everywhere = gate(false, Duration.ZERO).decide(request(pod, net("default", "macvlan-conf"))).decisions().getFirst();
        assertEquals(true, everywhere.inputs().get("rbacRequired"));
        assertEquals("cluster-wide", everywhere.inputs().get("rbacRequiredBy"));
        assertEquals(List.of(), everywhere.inputs().get("globalNamespaces"));
    }

    @Test
    void aNadMissingFromTheCacheIsUnavailableNeitherAllowedNorDenied() {
        PolicyGate gate = defaults(Duration.ofMinutes(1));
        PolicyDecision d = gate.decide(request(pod, net("default", "not-yet-seen")));
        Decision only = d.decisions().getFirst();
        assertFalse(only.allowed());
        assertEquals(Decision.UNAVAILABLE, only.rule());
        assertTrue(only.reason().startsWith("policy unavailable: NetworkAttachmentDefinition default/not-yet-seen is not in policy-service's cache"),
                only.reason());
        assertTrue(d.retryable(), "transient: attach-service asks again");
        networks.add("default", "not-yet-seen", null);
        assertTrue(gate.decide(request(pod, net("default", "not-yet-seen"))).allowed(), "not cached: known now, decided now");
    }

    @Test
    void anUnsyncedNadCacheIsUnavailable() {
        networks.ready = false;
        Decision d = defaults(Duration.ZERO).decide(request(pod, net("default", "macvlan-conf"))).decisions().getFirst();
        assertEquals(Decision.UNAVAILABLE, d.rule());
        assertTrue(d.reason().contains("NetworkAttachmentDefinition cache is not synced"), d.reason());
    }

    @Test
    void theClusterWideSwitchNeedsNoNadCache() {
        networks.ready = false;
        assertTrue(gate(false, Duration.ZERO).decide(request(pod, net("default", "macvlan-conf"))).allowed());
    }

    @Test
    void anAnnotationChangeMissesTheCache() {
        PolicyGate gate = defaults(Duration.ofMinutes(1));
        var unbound = new PodRef("default", "other-pod", "uid-2", "default", Map.of());
        assertTrue(gate.decide(request(unbound, net("default", "macvlan-conf"))).allowed());
        networks.add("default", "macvlan-conf", "true"); // a new version, as the informer counts an annotation change
        assertFalse(gate.decide(request(unbound, net("default", "macvlan-conf"))).allowed());
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
        assertEquals(0, reviews, "no RBAC round trip for a network isolation refuses");
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
        networks.add("other", "x", null); // not annotated: RBAC not required
        var gate = new PolicyGate(new NamespaceIsolation(false, Set.of()), new ServiceAccountAccess(false, "use", new LocalAccessReview(rbac), networks),
                new AttachmentPolicies(false, false, source), false, new DecisionCache(Duration.ZERO, Clock.systemUTC()));
        Decision d = gate.decide(request(pod, net("other", "x"))).decisions().getFirst();
        assertTrue(d.allowed());
        assertEquals(Decision.NO_RULE, d.rule());
        assertEquals("no rule applies: namespace isolation is off; RBAC is not required for other/x; policy rule is off", d.reason());
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
        var key = new DecisionCache.Key("local", "ns", "sa", Map.of(), List.of(), 1, 1, 1);
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
