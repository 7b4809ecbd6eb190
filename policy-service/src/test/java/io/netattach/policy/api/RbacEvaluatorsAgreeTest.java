package io.netattach.policy.api;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.api.model.rbac.SubjectBuilder;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import io.netattach.policy.domain.AccessAnswer;
import io.netattach.policy.domain.AccessQuestion;
import io.netattach.policy.domain.AccessReview;
import io.netattach.policy.domain.Decision;
import io.netattach.policy.domain.DecisionCache;
import io.netattach.policy.domain.NamespaceIsolation;
import io.netattach.policy.domain.PodRef;
import io.netattach.policy.domain.PolicyGate;
import io.netattach.policy.domain.PolicyRequest;
import io.netattach.policy.domain.Selection;
import io.netattach.policy.domain.ServiceAccountAccess;
import io.netattach.policy.domain.Verdict;
import io.netattach.policy.domain.crd.AttachmentPolicies;
import io.netattach.policy.domain.rbac.LocalAccessReview;
import io.netattach.policy.kube.NetworkDefinitionInformer;
import io.netattach.policy.kube.RbacInformers;
import io.netattach.policy.kube.SubjectAccessReviews;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One matrix of RBAC questions, answered by the local evaluator (informer caches over RBAC objects stored in the mock
 * API server) and by the SubjectAccessReview evaluator (against the mock server's scripted SAR replies, which answer
 * from the same matrix and refuse any review whose user, groups or resource attributes are not the expected ones).
 * The SAR half therefore checks the request we send and how we read the reply, not the API server's RBAC engine.
 * Then the seed's scenario through the gate, in both evaluators, with RBAC turned on either way a user turns it on.
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true, setup = KubeSetup.class)
class RbacEvaluatorsAgreeTest {
    @KubernetesTestServer KubernetesServer server;
    @Inject RbacInformers informers;
    @Inject SubjectAccessReviews sar;
    @Inject NetworkDefinitionInformer networks;

    record Case(String saNamespace, String sa, String verb, String nadNamespace, String nad, boolean allowed) {
        AccessQuestion question() {
            return new AccessQuestion(saNamespace, sa, verb, AccessQuestion.NAD_GROUP, AccessQuestion.NAD_RESOURCE, nadNamespace, nad);
        }
    }

    static final List<Case> MATRIX = List.of(
            // the seed's Role (get/list, resourceNames [macvlan-conf]) bound to default/restricted
            new Case("default", "restricted", "get", "default", "macvlan-conf", true),
            new Case("default", "restricted", "list", "default", "macvlan-conf", true),
            new Case("default", "restricted", "get", "default", "bridge-conf", false),
            new Case("default", "restricted", "get", "default", "ipvlan-conf", false),
            new Case("default", "restricted", "use", "default", "macvlan-conf", false),
            new Case("default", "other-sa", "get", "default", "macvlan-conf", false),
            new Case("rbac-other", "restricted", "get", "default", "macvlan-conf", false),
            // RoleBinding -> ClusterRole: only inside the binding's namespace
            new Case("rbac-x", "builder", "use", "rbac-x", "anything", true),
            new Case("rbac-x", "builder", "use", "rbac-w", "anything", false),
            new Case("rbac-x", "builder", "get", "rbac-x", "anything", false),
            // ClusterRoleBinding to the group system:serviceaccounts:rbac-y, resourceNames [shared-net]
            new Case("rbac-y", "any", "get", "rbac-q", "shared-net", true),
            new Case("rbac-y", "any", "get", "rbac-q", "other-net", false),
            new Case("rbac-q", "any", "get", "rbac-q", "shared-net", false),
            // Role with "*" everywhere bound to the group system:serviceaccounts in rbac-z
            new Case("rbac-a", "whoever", "use", "rbac-z", "x", true),
            new Case("rbac-z", "whoever", "delete", "rbac-z", "x", true),
            // a Role on pods grants nothing on NADs
            new Case("rbac-p", "app-sa", "use", "rbac-p", "x", false));

    @BeforeEach
    void rbacObjects() {
        var nad = List.of("network-attachment-definitions");
        var group = List.of("k8s.cni.cncf.io");
        List<HasMetadata> objects = new ArrayList<>();
        objects.add(new RoleBuilder().withNewMetadata().withName("network-user").withNamespace("default").endMetadata()
                .addNewRule().withApiGroups(group).withResources(nad).withVerbs("get", "list").withResourceNames("macvlan-conf").endRule().build());
        objects.add(new RoleBindingBuilder().withNewMetadata().withName("restricted-network-user").withNamespace("default").endMetadata()
                .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("Role").withName("network-user").endRoleRef()
                .withSubjects(new SubjectBuilder().withKind("ServiceAccount").withName("restricted").withNamespace("default").build()).build());
        objects.add(new ClusterRoleBuilder().withNewMetadata().withName("nad-user").endMetadata()
                .addNewRule().withApiGroups(group).withResources(nad).withVerbs("use").endRule().build());
        objects.add(new RoleBindingBuilder().withNewMetadata().withName("nad-users").withNamespace("rbac-x").endMetadata()
                .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("ClusterRole").withName("nad-user").endRoleRef()
                .withSubjects(new SubjectBuilder().withKind("ServiceAccount").withName("builder").withNamespace("rbac-x").build()).build());
        objects.add(new ClusterRoleBuilder().withNewMetadata().withName("nad-get-shared").endMetadata()
                .addNewRule().withApiGroups(group).withResources(nad).withVerbs("get").withResourceNames("shared-net").endRule().build());
        objects.add(new ClusterRoleBindingBuilder().withNewMetadata().withName("rbac-y-shared").endMetadata()
                .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("ClusterRole").withName("nad-get-shared").endRoleRef()
                .withSubjects(new SubjectBuilder().withKind("Group").withName("system:serviceaccounts:rbac-y").build()).build());
        objects.add(new RoleBuilder().withNewMetadata().withName("everything").withNamespace("rbac-z").endMetadata()
                .addNewRule().withApiGroups("*").withResources("*").withVerbs("*").endRule().build());
        objects.add(new RoleBindingBuilder().withNewMetadata().withName("all-sa").withNamespace("rbac-z").endMetadata()
                .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("Role").withName("everything").endRoleRef()
                .withSubjects(new SubjectBuilder().withKind("Group").withName("system:serviceaccounts").build()).build());
        objects.add(new RoleBuilder().withNewMetadata().withName("pods").withNamespace("rbac-p").endMetadata()
                .addNewRule().withApiGroups("").withResources("pods").withVerbs("*").endRule().build());
        objects.add(new RoleBindingBuilder().withNewMetadata().withName("pods").withNamespace("rbac-p").endMetadata()
                .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("Role").withName("pods").endRoleRef()
                .withSubjects(new SubjectBuilder().withKind("ServiceAccount").withName("app-sa").withNamespace("rbac-p").build()).build());
        for (HasMetadata o : objects) server.getClient().resource(o).createOr(NonDeletingOperation::update);
        // the seed's NADs, with the gate turned on where a user turns it on per NAD: the annotation
        KubeSetup.apply(server.getClient(), KubeSetup.nad("default", "macvlan-conf", "true"));
        KubeSetup.apply(server.getClient(), KubeSetup.nad("default", "bridge-conf", "true"));
        KubeSetup.apply(server.getClient(), KubeSetup.nad("default", "ipvlan-conf", null));
        Poll.until("the NAD informer to hold the seed's NADs", Duration.ofSeconds(20), () -> networks.ready()
                && networks.find("default", "macvlan-conf").isPresent() && networks.find("default", "bridge-conf").isPresent()
                && networks.find("default", "ipvlan-conf").isPresent());
        KubeSetup.sarAnswers = RbacEvaluatorsAgreeTest::scripted;
        // The informers see the objects asynchronously: wait until every grant of the matrix is visible.
        LocalAccessReview local = new LocalAccessReview(informers);
        Poll.until("RBAC informers to hold the matrix's objects", Duration.ofSeconds(20),
                () -> MATRIX.stream().filter(Case::allowed).allMatch(c -> local.check(c.question()) instanceof AccessAnswer.Granted));
    }

    /** The scripted API server: answers a review only when it is the exact review the matrix case implies. */
    static Boolean scripted(io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview review) {
        var spec = review.getSpec();
        var attrs = spec.getResourceAttributes();
        for (Case c : MATRIX) {
            if (spec.getUser().equals("system:serviceaccount:" + c.saNamespace() + ":" + c.sa())
                    && spec.getGroups().containsAll(List.of("system:serviceaccounts", "system:serviceaccounts:" + c.saNamespace()))
                    && attrs.getVerb().equals(c.verb()) && attrs.getNamespace().equals(c.nadNamespace()) && attrs.getName().equals(c.nad())
                    && attrs.getGroup().equals("k8s.cni.cncf.io") && attrs.getResource().equals("network-attachment-definitions")) {
                return c.allowed();
            }
        }
        return false;
    }

    private static boolean granted(AccessReview review, Case c) {
        AccessAnswer a = review.check(c.question());
        Class<? extends AccessAnswer> expected = c.allowed() ? AccessAnswer.Granted.class : AccessAnswer.Refused.class;
        assertEquals(expected, a.getClass(), review.name() + " on " + c + ": " + a);
        return a instanceof AccessAnswer.Granted;
    }

    @Test
    void localEvaluatorAnswersTheMatrix() {
        LocalAccessReview local = new LocalAccessReview(informers);
        for (Case c : MATRIX) assertEquals(c.allowed(), granted(local, c), "local: " + c);
    }

    @Test
    void subjectAccessReviewEvaluatorAnswersTheMatrix() {
        for (Case c : MATRIX) assertEquals(c.allowed(), granted(sar, c), "sar: " + c);
    }

    @Test
    void seedRoleWithVerbGetAllowsOnlyMacvlanConfInBothEvaluators() {
        PodRef pod = new PodRef("default", "multi-net-pod", "uid-seed", "restricted", Map.of());
        for (AccessReview review : List.of(new LocalAccessReview(informers), sar)) {
            var rule = new ServiceAccountAccess(true, "get", review, networks);
            assertInstanceOf(Verdict.Pass.class, rule.evaluate(pod, new Selection("default", "macvlan-conf", "net1", null, null, null)), review.name());
            for (String other : List.of("ipvlan-conf", "bridge-conf", "storage-network")) {
                var v = assertInstanceOf(Verdict.Deny.class, rule.evaluate(pod, new Selection("default", other, "net1", null, null, null)), review.name() + " " + other);
                assertEquals("rbac", v.rule());
            }
        }
    }

    /** The verb's default: a gate in the default install, with only how RBAC is turned on and the evaluator varied. */
    private PolicyGate gate(boolean rbacEveryNetwork, AccessReview review) {
        return new PolicyGate(new NamespaceIsolation(true, Set.of("default")), new ServiceAccountAccess(rbacEveryNetwork, "get", review, networks),
                new AttachmentPolicies(false, false, null), false, new DecisionCache(Duration.ZERO, Clock.systemUTC()));
    }

    @Test
    void seedScenarioHoldsInBothEvaluatorsWhetherTheSwitchOrTheNadsAnnotationTurnsRbacOn() {
        var restricted = new PodRef("default", "restricted-pod", "uid-r", "restricted", Map.of());
        var unbound = new PodRef("default", "other-pod", "uid-o", "other-sa", Map.of());
        var macvlan = new Selection("default", "macvlan-conf", "net1", null, null, null);
        var bridge = new Selection("default", "bridge-conf", "net2", null, null, null);
        for (AccessReview review : List.of(new LocalAccessReview(informers), sar)) {
            for (boolean everyNetwork : List.of(true, false)) {
                String how = review.name() + (everyNetwork ? ", cluster-wide switch" : ", NAD annotation");
                PolicyGate gate = gate(everyNetwork, review);
                List<Decision> d = gate.decide(new PolicyRequest("seed", "local", restricted, List.of(macvlan, bridge))).decisions();
                assertTrue(d.get(0).allowed(), how + ": " + d.get(0).reason());
                assertEquals("rbac", d.get(0).rule(), how);
                assertFalse(d.get(1).allowed(), how);
                assertEquals("rbac", d.get(1).rule(), how);
                assertEquals(everyNetwork ? "cluster-wide" : "nad-annotation", d.get(1).inputs().get("rbacRequiredBy"), how);
                Decision other = gate.decide(new PolicyRequest("unbound", "local", unbound, List.of(macvlan))).decisions().getFirst();
                assertFalse(other.allowed(), how + ": a service account with no binding");
                assertEquals("rbac", other.rule(), how);
            }
        }
    }

    @Test
    void aNadThatDoesNotRequireRbacCostsNoSubjectAccessReview() {
        var pod = new PodRef("default", "restricted-pod", "uid-r", "restricted", Map.of());
        PolicyGate gate = gate(false, sar);
        int before = KubeSetup.SAR_REQUESTS.get();
        Decision open = gate.decide(new PolicyRequest("open", "local", pod, List.of(new Selection("default", "ipvlan-conf", "net1", null, null, null))))
                .decisions().getFirst();
        assertTrue(open.allowed(), open.reason());
        assertEquals("namespace-isolation", open.rule());
        assertEquals(before, KubeSetup.SAR_REQUESTS.get(), "no SubjectAccessReview for a NAD without the annotation");
        gate.decide(new PolicyRequest("annotated", "local", pod, List.of(new Selection("default", "macvlan-conf", "net1", null, null, null))));
        assertEquals(before + 1, KubeSetup.SAR_REQUESTS.get(), "one for the annotated NAD");
    }

    @Test
    void subjectAccessReviewEvaluationErrorIsUnknownNotRefused() {
        KubeSetup.sarAnswers = r -> null;
        assertInstanceOf(AccessAnswer.Unknown.class, sar.check(MATRIX.getFirst().question()));
    }
}
