package io.netattach.policy.domain;

import io.netattach.policy.domain.nad.NetworkDefinition;
import io.netattach.policy.domain.rbac.LocalAccessReview;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static io.netattach.policy.domain.Fixtures.bindSa;
import static io.netattach.policy.domain.Fixtures.net;
import static io.netattach.policy.domain.Fixtures.seedRole;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ServiceAccountAccessTest {
    private final InMemoryRbac rbac = new InMemoryRbac();
    private final InMemoryNetworks networks = new InMemoryNetworks();
    private final PodRef restricted = new PodRef("default", "p", "uid-1", "restricted", Map.of());
    private int reviews;
    private final AccessReview counted = new AccessReview() {
        private final LocalAccessReview local = new LocalAccessReview(rbac);
        @Override public AccessAnswer check(AccessQuestion q) {
            reviews++;
            return local.check(q);
        }
        @Override public String name() { return "local"; }
    };

    ServiceAccountAccessTest() {
        rbac.roles.add(seedRole());
        rbac.bindings.add(bindSa("default", "restricted-network-user", "Role", "network-user", "default", "restricted"));
    }

    private ServiceAccountAccess rule(boolean everyNetwork) {
        return new ServiceAccountAccess(everyNetwork, "get", counted, networks);
    }

    @Test
    void requireRbacReadsTrueAndFalseInAnyCaseAndCountsAnythingElseAsTrue() {
        for (String v : new String[] {"true", "TRUE", " True "}) {
            var nad = new NetworkDefinition("default", "x", v);
            assertTrue(nad.requiresRbac() && !nad.annotationUnclear(), v);
        }
        for (String v : new String[] {"false", "False", "FALSE "}) {
            var nad = new NetworkDefinition("default", "x", v);
            assertFalse(nad.requiresRbac() || nad.annotationUnclear(), v);
        }
        for (String v : new String[] {"yes", "1", "", "on"}) {
            var nad = new NetworkDefinition("default", "x", v);
            assertTrue(nad.requiresRbac() && nad.annotationUnclear(), "fail-safe: \"" + v + "\" counts as true");
        }
        var absent = new NetworkDefinition("default", "x", null);
        assertFalse(absent.requiresRbac() || absent.annotationUnclear());
    }

    @Test
    void aMemberClustersNadIsJudgedByTheClusterWideSwitchOnlyNeverLeftUnknown() {
        // the hub's policy-service cannot read a member's NADs: not in its cache, and not to be waited for
        var hub = new ServiceAccountAccess(false, "get", counted, networks, "hub");
        Selection memberNad = new Selection("default", "member-only", "net1", null, null, null);
        assertEquals(new RbacRequirement.OtherCluster("member-1"), hub.requirement(memberNad, "member-1"));
        assertTrue(hub.evaluate(restricted, memberNad, hub.requirement(memberNad, "member-1")) instanceof Verdict.Abstain);
        assertTrue(hub.requirement(memberNad, "hub") instanceof RbacRequirement.Unknown, "its own cluster's NAD must be in the cache");
        assertEquals(new RbacRequirement.EveryNetwork(), new ServiceAccountAccess(true, "get", counted, networks, "hub").requirement(memberNad, "member-1"));
        assertEquals(0, reviews);
    }

    @Test
    void aNadWithoutTheAnnotationAsksNoAccessReview() {
        networks.add("default", "bridge-conf", null).add("default", "ipvlan-conf", "false");
        assertInstanceOf(Verdict.Abstain.class, rule(false).evaluate(restricted, net("default", "bridge-conf")));
        assertInstanceOf(Verdict.Abstain.class, rule(false).evaluate(restricted, net("default", "ipvlan-conf")));
        assertEquals(0, reviews);
    }

    @Test
    void anUnclearAnnotationRequiresRbacAndTheDenialSaysSo() {
        networks.add("default", "bridge-conf", "yes");
        var v = assertInstanceOf(Verdict.Deny.class, rule(false).evaluate(restricted, net("default", "bridge-conf")));
        assertTrue(v.reason().endsWith("annotation policy.netattach.io/require-rbac: \"yes\" (neither true nor false: counted as true)"), v.reason());
        assertEquals(Map.of("rbacRequired", true, "rbacRequiredBy", "nad-annotation", "rbacAnnotation", "yes", "rbacVerb", "get", "rbacEvaluator", "local"),
                rule(false).inputs(rule(false).requirement(net("default", "bridge-conf"))));
    }

    @Test
    void theClusterWideSwitchRequiresRbacForEveryNadWhateverItsAnnotation() {
        networks.add("default", "bridge-conf", "false");
        networks.ready = false; // never read with the switch on
        assertInstanceOf(RbacRequirement.EveryNetwork.class, rule(true).requirement(net("default", "bridge-conf")));
        assertInstanceOf(RbacRequirement.EveryNetwork.class, rule(true).requirement(net("default", "never-created")));
        var v = assertInstanceOf(Verdict.Deny.class, rule(true).evaluate(restricted, net("default", "bridge-conf")));
        assertEquals(Decision.RBAC, v.rule());
        assertInstanceOf(Verdict.Pass.class, rule(true).evaluate(restricted, net("default", "macvlan-conf")));
    }

    @Test
    void aNadTheCacheDoesNotHoldIsUnknownNeverAGuess() {
        var u = assertInstanceOf(RbacRequirement.Unknown.class, rule(false).requirement(net("default", "macvlan-conf")));
        assertTrue(u.why().contains("default/macvlan-conf"), u.why());
        var v = assertInstanceOf(Verdict.Unavailable.class, rule(false).evaluate(restricted, net("default", "macvlan-conf")));
        assertEquals(Decision.RBAC, v.rule());
        assertEquals(0, reviews);
        networks.ready = false;
        networks.add("default", "macvlan-conf", null);
        assertInstanceOf(RbacRequirement.Unknown.class, rule(false).requirement(net("default", "macvlan-conf")),
                "an unsynced cache says nothing, even about the NADs it holds");
    }
}
