package io.netattach.attach.deploy;

import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LeastPrivilegeRbacTest {

    /** Verbs that hand out rights or identities, and resources that hold credentials: none of ours needs them. */
    private static final Set<String> FORBIDDEN_VERBS = Set.of("escalate", "bind", "impersonate", "deletecollection", "*");
    private static final Set<String> FORBIDDEN_RESOURCES = Set.of("secrets", "serviceaccounts/token", "nodes/proxy", "pods/exec", "*");

    static List<RenderedManifests> variants() {
        return RenderedManifests.everyVariant();
    }

    record NamedRule(String role, PolicyRule rule) {
    }

    private static List<NamedRule> rules(RenderedManifests r) {
        List<NamedRule> all = new ArrayList<>();
        r.all(ClusterRole.class).forEach(c -> Stream.ofNullable(c.getRules()).flatMap(List::stream)
                .forEach(rule -> all.add(new NamedRule("ClusterRole " + c.getMetadata().getName(), rule))));
        r.all(Role.class).forEach(c -> Stream.ofNullable(c.getRules()).flatMap(List::stream)
                .forEach(rule -> all.add(new NamedRule("Role " + c.getMetadata().getName(), rule))));
        return all;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void noRoleOrClusterRoleUsesAWildcardVerbResourceOrApiGroup(RenderedManifests rendered) {
        for (NamedRule r : rules(rendered)) {
            for (List<String> field : List.of(r.rule().getVerbs(), r.rule().getResources(), r.rule().getApiGroups())) {
                assertFalse(field == null || field.isEmpty(), r.role() + " has a rule with an empty field: " + r.rule());
                assertFalse(field.stream().anyMatch(s -> s.contains("*")), r.role() + " uses a wildcard: " + r.rule());
            }
            assertTrue(r.rule().getNonResourceURLs() == null || r.rule().getNonResourceURLs().isEmpty(),
                    r.role() + " grants non-resource URLs: " + r.rule());
            r.rule().getVerbs().forEach(v -> assertFalse(FORBIDDEN_VERBS.contains(v), r.role() + " grants " + v));
            r.rule().getResources().forEach(res -> assertFalse(FORBIDDEN_RESOURCES.contains(res), r.role() + " grants " + res));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void bindingsNameOnlyNetattachServiceAccountsAndRolesThatExist(RenderedManifests rendered) {
        for (ClusterRoleBinding b : rendered.all(ClusterRoleBinding.class)) {
            rendered.get(ClusterRole.class, b.getRoleRef().getName());
            b.getSubjects().forEach(s -> assertOwnServiceAccount(rendered, s));
        }
        for (RoleBinding b : rendered.all(RoleBinding.class)) {
            assertEquals("Role", b.getRoleRef().getKind(), "RoleBinding " + b.getMetadata().getName() + " binds a ClusterRole");
            rendered.get(Role.class, b.getRoleRef().getName());
            b.getSubjects().forEach(s -> assertOwnServiceAccount(rendered, s));
        }
    }

    private static void assertOwnServiceAccount(RenderedManifests rendered, Subject s) {
        assertEquals("ServiceAccount", s.getKind(), "binding subject " + s);
        assertEquals("netattach-system", s.getNamespace(), "binding subject " + s);
        rendered.get(ServiceAccount.class, s.getName());
    }

    @Test
    void attachServiceMayReadAndWritePodsReadNadsWriteEventsAndHoldItsLeaseOnly() {
        RenderedManifests r = RenderedManifests.of("overlays/single-cluster");
        assertEquals(Set.of(
                        "/pods:get,list,patch,watch",
                        "k8s.cni.cncf.io/network-attachment-definitions:get,list,watch",
                        "/events:create,patch"),
                grants(r.get(ClusterRole.class, "netattach-attach-service").getRules()));
        Role lease = r.get(Role.class, "netattach-attach-service-leader-election");
        assertEquals("netattach-system", lease.getMetadata().getNamespace());
        assertEquals(Set.of("coordination.k8s.io/leases:create", "coordination.k8s.io/leases[netattach-attach-service]:get,update"),
                grants(lease.getRules()));
        assertEquals(Set.of("netattach-attach-service"), clusterRolesOf(r, "attach-service"));
    }

    @Test
    void theNodeWatchComponentAddsNodeReadsAndTurnsTheWatchOn() {
        RenderedManifests r = RenderedManifests.withComponents("overlays/single-cluster", "components/attach-watch-nodes");
        assertEquals(Set.of("/nodes:get,list,watch"), grants(r.get(ClusterRole.class, "netattach-attach-service-nodes").getRules()));
        assertEquals(Set.of("netattach-attach-service", "netattach-attach-service-nodes"), clusterRolesOf(r, "attach-service"));
        var env = r.get(Deployment.class, "attach-service").getSpec().getTemplate().getSpec().getContainers().getFirst().getEnv();
        assertTrue(env.stream().anyMatch(e -> "NETATTACH_ATTACH_WATCH_NODES".equals(e.getName()) && "true".equals(e.getValue())), env.toString());
        assertTrue(RenderedManifests.of("overlays/single-cluster").find(ClusterRole.class, "netattach-attach-service-nodes").isEmpty(),
                "off by default");
    }

    @Test
    void policyServiceMayAskAccessReviewsAndReadRbacNamespacesAndItsPolicies() {
        RenderedManifests r = RenderedManifests.of("overlays/single-cluster");
        Set<String> grants = grants(r.get(ClusterRole.class, "netattach-policy-service").getRules());
        assertTrue(grants.contains("authorization.k8s.io/subjectaccessreviews:create"), grants.toString());
        for (String rbac : List.of("roles", "rolebindings", "clusterroles", "clusterrolebindings")) {
            assertTrue(grants.contains("rbac.authorization.k8s.io/" + rbac + ":get,list,watch"), rbac + " in " + grants);
        }
        assertTrue(grants.contains("/events:create,patch"), grants.toString());
        // Everything it may write: access reviews (questions), events, and its own CRDs' status.
        for (String g : grants) {
            String verbs = g.substring(g.indexOf(':') + 1);
            boolean readOnly = Set.of(verbs.split(",")).stream().allMatch(v -> Set.of("get", "list", "watch").contains(v));
            assertTrue(readOnly || g.startsWith("authorization.k8s.io/subjectaccessreviews:") || g.startsWith("/events:")
                    || g.matches("[a-z.]+/[a-z]+/status:.*"), "policy-service may write: " + g);
        }
        assertEquals(Set.of("netattach-policy-service"), clusterRolesOf(r, "policy-service"));
    }

    @Test
    void policyServiceReadsEveryPolicyCrdThatIsInstalledAndWritesOnlyTheirStatus() {
        RenderedManifests r = RenderedManifests.of("overlays/single-cluster");
        Set<String> grants = grants(r.get(ClusterRole.class, "netattach-policy-service").getRules());
        List<CustomResourceDefinition> policyCrds = r.all(CustomResourceDefinition.class).stream()
                .filter(c -> c.getSpec().getGroup().equals("policy.netattach.io")).toList();
        assertEquals(2, policyCrds.size(), "NetworkAttachmentPolicy and ClusterNetworkAttachmentPolicy");
        for (CustomResourceDefinition crd : policyCrds) {
            String plural = crd.getSpec().getGroup() + "/" + crd.getSpec().getNames().getPlural();
            assertTrue(grants.contains(plural + ":get,list,watch"), plural + " in " + grants);
            boolean hasStatus = crd.getSpec().getVersions().stream().anyMatch(v -> v.getSubresources() != null && v.getSubresources().getStatus() != null);
            assertTrue(hasStatus, plural + " has a status subresource");
            assertTrue(grants.contains(plural + "/status:update"), plural + "/status in " + grants);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void ipamServiceHasNoRbacAndNoApiToken(RenderedManifests rendered) {
        String sa = "ipam-service";
        if (rendered.find(ServiceAccount.class, sa).isEmpty()) return;
        assertEquals(Set.of(), clusterRolesOf(rendered, sa), sa + " has cluster roles");
        assertTrue(rendered.all(RoleBinding.class).stream().flatMap(b -> b.getSubjects().stream()).noneMatch(s -> sa.equals(s.getName())),
                sa + " has a RoleBinding");
        assertEquals(Boolean.FALSE, rendered.get(ServiceAccount.class, sa).getAutomountServiceAccountToken(), sa);
        rendered.find(Deployment.class, "ipam-service").ifPresent(d ->
                assertEquals(Boolean.FALSE, d.getSpec().getTemplate().getSpec().getAutomountServiceAccountToken(), "ipam-service pods"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void nodeWorkerMayOnlyReadPodsAndHasNoRoleBinding(RenderedManifests rendered) {
        if (rendered.find(ServiceAccount.class, "node-worker").isEmpty()) return;
        assertEquals(Set.of("netattach-node-worker"), clusterRolesOf(rendered, "node-worker"));
        assertEquals(Set.of("/pods:get,list,watch"), grants(rendered.get(ClusterRole.class, "netattach-node-worker").getRules()));
        assertTrue(rendered.all(RoleBinding.class).stream().flatMap(b -> b.getSubjects().stream()).noneMatch(s -> "node-worker".equals(s.getName())),
                "node-worker has a RoleBinding");
        rendered.find(DaemonSet.class, "node-worker").ifPresent(d -> assertTrue(
                !Boolean.FALSE.equals(d.getSpec().getTemplate().getSpec().getAutomountServiceAccountToken())
                        && !Boolean.FALSE.equals(rendered.get(ServiceAccount.class, "node-worker").getAutomountServiceAccountToken()),
                "node-worker pods get an API token, to read the pod of each sandbox"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void everyWorkloadRunsAsItsOwnServiceAccount(RenderedManifests rendered) {
        for (Deployment d : rendered.all(Deployment.class)) {
            assertEquals(d.getMetadata().getName(), d.getSpec().getTemplate().getSpec().getServiceAccountName(), "Deployment " + d.getMetadata().getName());
        }
        rendered.find(DaemonSet.class, "node-worker").ifPresent(d ->
                assertEquals("node-worker", d.getSpec().getTemplate().getSpec().getServiceAccountName()));
    }

    /** Rules flattened to "group/resource:verbs" or "group/resource[names]:verbs" (verbs sorted), one entry per resource. */
    private static Set<String> grants(List<PolicyRule> rules) {
        Set<String> out = new TreeSet<>();
        for (PolicyRule rule : rules) {
            String names = rule.getResourceNames() == null || rule.getResourceNames().isEmpty() ? ""
                    : "[" + String.join(",", new TreeSet<>(rule.getResourceNames())) + "]";
            String verbs = String.join(",", new TreeSet<>(rule.getVerbs()));
            for (String group : rule.getApiGroups()) {
                for (String resource : rule.getResources()) out.add(group + "/" + resource + names + ":" + verbs);
            }
        }
        return out;
    }

    private static Set<String> clusterRolesOf(RenderedManifests r, String serviceAccount) {
        Set<String> roles = new TreeSet<>();
        for (ClusterRoleBinding b : r.all(ClusterRoleBinding.class)) {
            if (b.getSubjects().stream().anyMatch(s -> serviceAccount.equals(s.getName()))) roles.add(b.getRoleRef().getName());
        }
        return roles;
    }
}
