package io.netattach.policy.kube;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.netattach.policy.domain.AccessAnswer;
import io.netattach.policy.domain.AccessQuestion;
import io.netattach.policy.domain.Decision;
import io.netattach.policy.domain.DecisionCache;
import io.netattach.policy.domain.NamespaceIsolation;
import io.netattach.policy.domain.PodRef;
import io.netattach.policy.domain.PolicyDecision;
import io.netattach.policy.domain.PolicyGate;
import io.netattach.policy.domain.PolicyRequest;
import io.netattach.policy.domain.Selection;
import io.netattach.policy.domain.ServiceAccountAccess;
import io.netattach.policy.domain.crd.AttachmentPolicies;
import io.netattach.policy.domain.rbac.LocalAccessReview;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** No API server at the configured address: every evaluator reports unknown and the gate denies "policy unavailable". */
class ApiServerUnreachableTest {
    private KubernetesClient client;
    private int port;
    private final PodRef pod = new PodRef("default", "multi-net-pod", "uid-1", "app-sa", Map.of());
    private final PolicyRequest request = new PolicyRequest("r-1", "local", pod, List.of(new Selection("default", "macvlan-conf", "net1", null, null, null)));

    @BeforeEach
    void clientToAClosedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort(); // closed again at once: nothing listens there
        }
        client = new KubernetesClientBuilder().withConfig(new ConfigBuilder().withMasterUrl("http://127.0.0.1:" + port)
                .withRequestRetryBackoffLimit(0).withConnectionTimeout(1000).withRequestTimeout(1000).build()).build();
    }

    @AfterEach
    void close() {
        client.close();
    }

    /** RBAC required for every NAD (the cluster-wide switch): no NAD is read. */
    private PolicyGate gate(io.netattach.policy.domain.AccessReview review, PolicyInformers policies, boolean failOpen) {
        return gate(new ServiceAccountAccess(true, "get", review, new NetworkDefinitionInformer(client)), policies, failOpen);
    }

    private PolicyGate gate(ServiceAccountAccess rbac, PolicyInformers policies, boolean failOpen) {
        return new PolicyGate(new NamespaceIsolation(true, Set.of()), rbac,
                new AttachmentPolicies(policies != null, false, policies), failOpen, new DecisionCache(Duration.ofMinutes(1), Clock.systemUTC()));
    }

    @Test
    void subjectAccessReviewFailureDeniesWithPolicyUnavailable() {
        var sar = new SubjectAccessReviews(client);
        assertInstanceOf(AccessAnswer.Unknown.class, sar.check(AccessQuestion.forNetwork(pod, request.selections().getFirst(), "get")));
        PolicyDecision d = gate(sar, null, false).decide(request);
        assertFalse(d.allowed());
        Decision only = d.decisions().getFirst();
        assertEquals(Decision.UNAVAILABLE, only.rule());
        assertTrue(only.reason().startsWith("policy unavailable"), only.reason());
    }

    @Test
    void unsyncedInformersDenyWithPolicyUnavailable() {
        var rbac = new RbacInformers(client);
        var policies = new PolicyInformers(client, new ObjectMapper());
        rbac.start();
        policies.start();
        try {
            PolicyDecision d = gate(new LocalAccessReview(rbac), policies, false).decide(request);
            assertFalse(d.allowed());
            assertEquals(Decision.UNAVAILABLE, d.decisions().getFirst().rule());
            assertTrue(d.reason().contains("RBAC") && d.reason().contains("NetworkAttachmentPolicy"), d.reason());
        } finally {
            rbac.close();
            policies.close();
        }
    }

    @Test
    void anUnsyncedNadInformerDeniesWithPolicyUnavailable() {
        var networks = new NetworkDefinitionInformer(client);
        networks.start();
        try {
            PolicyDecision d = gate(new ServiceAccountAccess(false, "get", new SubjectAccessReviews(client), networks), null, false).decide(request);
            assertFalse(d.allowed());
            assertEquals(Decision.UNAVAILABLE, d.decisions().getFirst().rule());
            assertTrue(d.reason().contains("NetworkAttachmentDefinition cache is not synced"), d.reason());
        } finally {
            networks.close();
        }
    }

    /**
     * The API server comes up after policy-service (or was restarting): the informers keep trying and decisions
     * stop being "policy unavailable" by themselves, without a restart (fabric8's default gives up for good).
     */
    @Test
    void informersThatCouldNotListRecoverOnceTheApiServerAnswers() throws Exception {
        var rbac = new RbacInformers(client);
        var policies = new PolicyInformers(client, new ObjectMapper());
        var networks = new NetworkDefinitionInformer(client);
        rbac.start();
        policies.start();
        networks.start();
        var server = new io.fabric8.kubernetes.client.server.mock.KubernetesMockServer(new io.fabric8.mockwebserver.Context(),
                new io.fabric8.mockwebserver.MockWebServer(), new java.util.HashMap<>(),
                new io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher(List.of()), false);
        try {
            assertFalse(rbac.ready() || policies.ready() || networks.ready());
            server.init(java.net.InetAddress.getByName("127.0.0.1"), port);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!(rbac.ready() && policies.ready() && networks.ready())) {
                if (System.nanoTime() > deadline) org.junit.jupiter.api.Assertions.fail("informers not ready 60 s after the API server appeared");
                Thread.sleep(100);
            }
            PolicyDecision d = gate(new LocalAccessReview(rbac), policies, false).decide(request);
            assertFalse(d.allowed(), "no Role grants app-sa anything");
            assertEquals("rbac", d.decisions().getFirst().rule(), "an RBAC answer now, not 'unavailable': " + d);

            // the NAD informer is live too: a NAD annotated require-rbac applies RBAC with the switch off
            client.genericKubernetesResources(NetworkDefinitionInformer.NAD).inNamespace("default").resource(new GenericKubernetesResourceBuilder()
                    .withApiVersion("k8s.cni.cncf.io/v1").withKind("NetworkAttachmentDefinition")
                    .withNewMetadata().withNamespace("default").withName("macvlan-conf")
                    .withAnnotations(Map.of("policy.netattach.io/require-rbac", "true")).endMetadata().build()).create();
            while (networks.find("default", "macvlan-conf").isEmpty()) {
                if (System.nanoTime() > deadline) org.junit.jupiter.api.Assertions.fail("the NAD informer did not see the NAD");
                Thread.sleep(50);
            }
            Decision annotated = gate(new ServiceAccountAccess(false, "get", new LocalAccessReview(rbac), networks), policies, false)
                    .decide(request).decisions().getFirst();
            assertEquals("rbac", annotated.rule(), annotated.reason());
            assertEquals("nad-annotation", annotated.inputs().get("rbacRequiredBy"));
        } finally {
            rbac.close();
            policies.close();
            networks.close();
            server.destroy();
        }
    }

    @Test
    void failOpenAllowsAndSaysSo() {
        PolicyDecision d = gate(new SubjectAccessReviews(client), null, true).decide(request);
        assertTrue(d.allowed());
        assertEquals(Decision.FAIL_OPEN, d.decisions().getFirst().rule());
    }
}
