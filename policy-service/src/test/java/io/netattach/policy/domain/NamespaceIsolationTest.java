package io.netattach.policy.domain;

import org.junit.jupiter.api.Test;

import java.util.Set;

import static io.netattach.policy.domain.Fixtures.net;
import static io.netattach.policy.domain.Fixtures.pod;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NamespaceIsolationTest {
    @Test
    void allowsNetworkInPodsOwnNamespace() {
        var v = new NamespaceIsolation(true, Set.of()).evaluate(pod("team-a", "p"), net("team-a", "macvlan-conf"));
        assertInstanceOf(Verdict.Pass.class, v);
    }

    @Test
    void deniesNetworkInAnotherNamespaceNamingBothNamespaces() {
        var v = assertInstanceOf(Verdict.Deny.class, new NamespaceIsolation(true, Set.of()).evaluate(pod("team-a", "p"), net("default", "macvlan-conf")));
        assertEquals(Decision.NAMESPACE_ISOLATION, v.rule());
        assertTrue(v.reason().contains("team-a") && v.reason().contains("default/macvlan-conf"), v.reason());
    }

    @Test
    void allowsNetworkInAGlobalNamespace() {
        var v = new NamespaceIsolation(true, Set.of("default")).evaluate(pod("team-a", "p"), net("default", "macvlan-conf"));
        assertInstanceOf(Verdict.Pass.class, v);
    }

    @Test
    void abstainsWhenSwitchedOff() {
        var v = new NamespaceIsolation(false, Set.of()).evaluate(pod("team-a", "p"), net("default", "macvlan-conf"));
        assertInstanceOf(Verdict.Abstain.class, v);
    }
}
