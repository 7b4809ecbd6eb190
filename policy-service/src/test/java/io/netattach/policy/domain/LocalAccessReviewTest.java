package io.netattach.policy.domain;

import io.netattach.policy.domain.rbac.Binding;
import io.netattach.policy.domain.rbac.LocalAccessReview;
import io.netattach.policy.domain.rbac.Role;
import io.netattach.policy.domain.rbac.RoleRule;
import io.netattach.policy.domain.rbac.Subject;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.netattach.policy.domain.Fixtures.bindSa;
import static io.netattach.policy.domain.Fixtures.seedRole;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

class LocalAccessReviewTest {
    private final InMemoryRbac rbac = new InMemoryRbac();
    private final LocalAccessReview review = new LocalAccessReview(rbac);

    private AccessAnswer ask(String saNs, String sa, String verb, String nadNs, String nad) {
        return review.check(new AccessQuestion(saNs, sa, verb, AccessQuestion.NAD_GROUP, AccessQuestion.NAD_RESOURCE, nadNs, nad));
    }

    private static Role clusterRole(String name, RoleRule... rules) {
        return new Role(null, name, List.of(rules));
    }

    @Test
    void seedRoleGrantsGetOnMacvlanConfOnly() {
        rbac.roles.add(seedRole());
        rbac.bindings.add(bindSa("default", "b", "Role", "network-user", "default", "app-sa"));
        assertInstanceOf(AccessAnswer.Granted.class, ask("default", "app-sa", "get", "default", "macvlan-conf"));
        assertInstanceOf(AccessAnswer.Refused.class, ask("default", "app-sa", "get", "default", "bridge-conf"));
        assertInstanceOf(AccessAnswer.Refused.class, ask("default", "app-sa", "use", "default", "macvlan-conf"));
        assertInstanceOf(AccessAnswer.Refused.class, ask("default", "other-sa", "get", "default", "macvlan-conf"));
    }

    @Test
    void serviceAccountSubjectMustMatchNamespace() {
        rbac.roles.add(seedRole());
        rbac.bindings.add(bindSa("default", "b", "Role", "network-user", "team-a", "app-sa"));
        assertInstanceOf(AccessAnswer.Refused.class, ask("default", "app-sa", "get", "default", "macvlan-conf"));
        assertInstanceOf(AccessAnswer.Granted.class, ask("team-a", "app-sa", "get", "default", "macvlan-conf"));
    }

    @Test
    void wildcardVerbsGroupsResourcesAndEmptyResourceNamesGrantEveryNetwork() {
        rbac.roles.add(clusterRole("all", new RoleRule(List.of("*"), List.of("*"), List.of("*"), List.of())));
        rbac.bindings.add(bindSa("team-a", "b", "ClusterRole", "all", "team-a", "app-sa"));
        assertInstanceOf(AccessAnswer.Granted.class, ask("team-a", "app-sa", "use", "team-a", "anything"));
    }

    @Test
    void roleBindingToClusterRoleGrantsOnlyInTheBindingsNamespace() {
        rbac.roles.add(clusterRole("nad-user", new RoleRule(List.of("k8s.cni.cncf.io"), List.of("network-attachment-definitions"), List.of("use"), List.of())));
        rbac.bindings.add(bindSa("team-a", "b", "ClusterRole", "nad-user", "team-a", "app-sa"));
        assertInstanceOf(AccessAnswer.Granted.class, ask("team-a", "app-sa", "use", "team-a", "x"));
        assertInstanceOf(AccessAnswer.Refused.class, ask("team-a", "app-sa", "use", "team-b", "x"));
    }

    @Test
    void clusterRoleBindingGrantsInEveryNamespace() {
        rbac.roles.add(clusterRole("nad-user", new RoleRule(List.of("k8s.cni.cncf.io"), List.of("network-attachment-definitions"), List.of("use"), List.of())));
        rbac.bindings.add(bindSa(null, "crb", "ClusterRole", "nad-user", "team-a", "app-sa"));
        assertInstanceOf(AccessAnswer.Granted.class, ask("team-a", "app-sa", "use", "team-b", "x"));
    }

    @Test
    void serviceAccountGroupsAreSubjects() {
        rbac.roles.add(seedRole());
        rbac.bindings.add(new Binding("default", "all-sa", "Role", "network-user", List.of(new Subject("Group", "system:serviceaccounts", null))));
        rbac.bindings.add(new Binding("default", "ns-sa", "Role", "network-user", List.of(new Subject("Group", "system:serviceaccounts:team-b", null))));
        assertInstanceOf(AccessAnswer.Granted.class, ask("team-a", "any", "get", "default", "macvlan-conf"));
        rbac.bindings.removeFirst();
        assertInstanceOf(AccessAnswer.Refused.class, ask("team-a", "any", "get", "default", "macvlan-conf"));
        assertInstanceOf(AccessAnswer.Granted.class, ask("team-b", "any", "get", "default", "macvlan-conf"));
    }

    @Test
    void roleOfAnotherGroupOrResourceDoesNotGrant() {
        rbac.roles.add(new Role("default", "pods", List.of(new RoleRule(List.of(""), List.of("pods"), List.of("*"), List.of()))));
        rbac.bindings.add(bindSa("default", "b", "Role", "pods", "default", "app-sa"));
        assertInstanceOf(AccessAnswer.Refused.class, ask("default", "app-sa", "use", "default", "macvlan-conf"));
    }

    @Test
    void bindingToMissingRoleGrantsNothing() {
        rbac.bindings.add(bindSa("default", "b", "Role", "gone", "default", "app-sa"));
        assertInstanceOf(AccessAnswer.Refused.class, ask("default", "app-sa", "use", "default", "macvlan-conf"));
    }

    @Test
    void unsyncedCachesGiveUnknownNotRefused() {
        rbac.ready = false;
        assertInstanceOf(AccessAnswer.Unknown.class, ask("default", "app-sa", "get", "default", "macvlan-conf"));
    }
}
