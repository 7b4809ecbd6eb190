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
    void denialNamesTheSettingAndItsEnvironmentVariableThatWouldAllowIt() {
        var v = assertInstanceOf(Verdict.Deny.class, new NamespaceIsolation(true, Set.of("default")).evaluate(pod("team-a", "p"), net("team-b", "x")));
        assertTrue(v.reason().contains("the global namespaces [default]; to allow it, set netattach.policy.namespace-isolation.global-namespaces "
                + "(NETATTACH_POLICY_NAMESPACE_ISOLATION_GLOBAL_NAMESPACES) to include \"team-b\", or turn namespace isolation off "
                + "(netattach.policy.namespace-isolation.enabled=false)"), v.reason());
        var none = assertInstanceOf(Verdict.Deny.class, new NamespaceIsolation(true, Set.of()).evaluate(pod("team-a", "p"), net("default", "x")));
        assertTrue(none.reason().contains("global namespaces (none)"), none.reason());
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
