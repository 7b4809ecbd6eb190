package io.netattach.attach.deploy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkloadShapeTest {

    private static final Map<String, Integer> PORTS = Map.of("ipam-service", 8081, "attach-service", 8082, "policy-service", 8083, "node-worker", 8090);

    static List<RenderedManifests> overlays() {
        return List.of(RenderedManifests.of("overlays/single-cluster"), RenderedManifests.of("overlays/multi-cluster-member"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("overlays")
    void everyServiceContainerHasReadinessAndLivenessProbesOnQuarkusHealth(RenderedManifests rendered) {
        List<PodTemplates.Located> services = PodTemplates.containers(rendered).stream()
                .filter(c -> !c.init() && PORTS.containsKey(c.container().getName())).toList();
        assertFalse(services.isEmpty());
        for (PodTemplates.Located located : services) {
            Container c = located.container();
            assertHttpProbe(located + " readiness", c.getReadinessProbe(), "/q/health/ready", c);
            assertHttpProbe(located + " liveness", c.getLivenessProbe(), "/q/health/live", c);
        }
        for (Deployment d : rendered.all(Deployment.class)) {
            Container c = d.getSpec().getTemplate().getSpec().getContainers().getFirst();
            assertEquals(d.getMetadata().getName(), c.getName(), "the Deployment's first container is its service");
        }
    }

    private static void assertHttpProbe(String what, Probe probe, String path, Container c) {
        assertNotNull(probe, what + " missing");
        HTTPGetAction get = probe.getHttpGet();
        assertNotNull(get, what + " is not an HTTP probe");
        assertEquals(path, get.getPath(), what);
        IntOrString port = get.getPort();
        int number = port.getIntVal() != null ? port.getIntVal()
                : c.getPorts().stream().filter(p -> port.getStrVal().equals(p.getName())).findFirst()
                .orElseThrow(() -> new AssertionError(what + " names port " + port.getStrVal() + " that the container lacks")).getContainerPort();
        assertEquals(PORTS.get(c.getName()), number, what + " port (the service's quarkus.http.port)");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("overlays")
    void everyContainerRequestsCpuAndMemoryAndCapsMemory(RenderedManifests rendered) {
        for (PodTemplates.Located located : PodTemplates.containers(rendered)) {
            var resources = located.container().getResources();
            assertNotNull(resources, located + " has no resources");
            assertTrue(resources.getRequests() != null && resources.getRequests().containsKey("cpu")
                    && resources.getRequests().containsKey("memory"), located + " requests " + resources.getRequests());
            assertTrue(resources.getLimits() != null && resources.getLimits().containsKey("memory"), located + " limits " + resources.getLimits());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("overlays")
    void everyDeploymentSpreadsOverNodesAndHasADisruptionBudgetSelectingIt(RenderedManifests rendered) {
        for (Deployment d : rendered.all(Deployment.class)) {
            String name = d.getMetadata().getName();
            var spread = d.getSpec().getTemplate().getSpec().getTopologySpreadConstraints();
            assertTrue(spread != null && spread.stream().anyMatch(t -> "kubernetes.io/hostname".equals(t.getTopologyKey())), name + " spread " + spread);
            Map<String, String> podLabels = d.getSpec().getTemplate().getMetadata().getLabels();
            PodDisruptionBudget pdb = rendered.get(PodDisruptionBudget.class, name);
            assertTrue(podLabels.entrySet().containsAll(pdb.getSpec().getSelector().getMatchLabels().entrySet()),
                    "PodDisruptionBudget " + name + " does not select the Deployment's pods");
            assertTrue(podLabels.entrySet().containsAll(d.getSpec().getSelector().getMatchLabels().entrySet()), name + " selector");
            Service svc = rendered.get(Service.class, name);
            assertTrue(podLabels.entrySet().containsAll(svc.getSpec().getSelector().entrySet()), "Service " + name + " selector");
        }
    }

    @Test
    void singleClusterRunsTwoIpamOnePolicyTwoAttachReplicasAndANodeWorkerOnEveryNode() {
        RenderedManifests r = RenderedManifests.of("overlays/single-cluster");
        assertEquals(2, r.get(Deployment.class, "ipam-service").getSpec().getReplicas());
        assertEquals(1, r.get(Deployment.class, "policy-service").getSpec().getReplicas());
        assertEquals(2, r.get(Deployment.class, "attach-service").getSpec().getReplicas());
        DaemonSet nodeWorker = r.get(DaemonSet.class, "node-worker");
        var tolerations = nodeWorker.getSpec().getTemplate().getSpec().getTolerations();
        assertTrue(tolerations.stream().anyMatch(t -> "Exists".equals(t.getOperator()) && t.getKey() == null && "NoSchedule".equals(t.getEffect())),
                "node-worker must tolerate every NoSchedule taint: " + tolerations);
        assertEquals(1, r.get(PodDisruptionBudget.class, "ipam-service").getSpec().getMinAvailable().getIntVal());
    }

    @Test
    void ipamServiceTakesItsDatabaseCredentialsFromASecretReference() {
        RenderedManifests r = RenderedManifests.of("overlays/single-cluster");
        Container ipam = r.get(Deployment.class, "ipam-service").getSpec().getTemplate().getSpec().getContainers().getFirst();
        var password = ipam.getEnv().stream().filter(e -> "QUARKUS_DATASOURCE_PASSWORD".equals(e.getName())).findFirst().orElseThrow();
        assertNull(password.getValue(), "the password is never a literal");
        assertEquals("netattach-ipam-db-credentials", password.getValueFrom().getSecretKeyRef().getName());
        String dbConfig = r.generated(ConfigMap.class, "netattach-ipam-db").getMetadata().getName();
        assertTrue(ipam.getEnvFrom().stream().anyMatch(e -> e.getConfigMapRef() != null && dbConfig.equals(e.getConfigMapRef().getName())),
                "ipam-service reads " + dbConfig);
    }
}
