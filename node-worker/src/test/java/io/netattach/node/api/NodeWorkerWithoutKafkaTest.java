package io.netattach.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.netattach.node.lab.NetnsLab;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import io.restassured.RestAssured;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * node-worker with no broker to reach: the CNI shim is served all the same. A pod that asks for no network starts
 * as if netattach were not there; one that asks for networks is not started without them, and says why. The node
 * is not ready (no command partition confirmed), but alive.
 */
@QuarkusTest
@TestProfile(NodeWorkerWithoutKafkaTest.NoBroker.class)
@WithKubernetesTestServer(crud = true)
@QuarkusTestResource(value = NodeNamespaces.class, restrictToAnnotatedClass = true)
class NodeWorkerWithoutKafkaTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Nothing listens on the discard port of the loopback. */
    public static class NoBroker implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("kafka.bootstrap.servers", "127.0.0.1:9", "netattach.node.add-timeout", "PT3S");
        }
    }

    @Inject KubernetesClient kube;
    private NetnsLab lab;
    private String socket;

    @BeforeEach
    void setUp() {
        lab = new NetnsLab();
        socket = ConfigProvider.getConfig().getValue("netattach.node.socket", String.class);
    }

    @AfterEach
    void tearDown() {
        lab.close();
    }

    private String[] pod(String networks) {
        String name = "solo-" + UUID.randomUUID().toString().substring(0, 8);
        var meta = new PodBuilder().withNewMetadata().withNamespace("default").withName(name);
        if (networks != null) meta.addToAnnotations("k8s.v1.cni.cncf.io/networks", networks);
        String uid = kube.pods().inNamespace("default").resource(meta.endMetadata().withNewSpec().withNodeName(NodeNamespaces.nodeName)
                .addNewContainer().withName("app").withImage("nicolaka/netshoot").endContainer().endSpec().build()).create().getMetadata().getUid();
        return new String[] {name, uid};
    }

    private record Exec(int exit, String stdout) {}

    private Exec add(String netns, String[] pod) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(Path.of("target/netattach-shim").toAbsolutePath().toString());
        pb.environment().clear();
        pb.environment().putAll(Map.of("CNI_COMMAND", "ADD", "CNI_CONTAINERID", "c-" + pod[1], "CNI_NETNS", netns, "CNI_IFNAME", "eth0",
                "CNI_PATH", "/usr/lib/cni", "CNI_ARGS", "K8S_POD_NAMESPACE=default;K8S_POD_NAME=" + pod[0] + ";K8S_POD_UID=" + pod[1], "PATH", "/usr/bin:/bin"));
        Process p = pb.start();
        p.getOutputStream().write(("{\"cniVersion\":\"1.0.0\",\"name\":\"k8s-pod-network\",\"type\":\"netattach-shim\",\"socketPath\":\"" + socket
                + "\",\"prevResult\":{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.244.1.9/24\"}]}}").getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        return new Exec(p.waitFor(), out);
    }

    @Test
    void aPodWithoutNetworksStartsAndOneWithNetworksIsHeldWithTheReason() throws Exception {
        JsonNode ready = JSON.readTree(RestAssured.get("/q/health/ready").asString());
        assertEquals("DOWN", ready.get("status").asText(), ready.toString());
        assertEquals("the partition count of its command topic is not confirmed by the broker yet",
                NodeWorkerTest.check(ready, "node-worker").at("/data/commands").asText(), ready.toString());
        // alive all the same: the channels keep trying to reach the broker (nothing to restart)
        JsonNode live = JSON.readTree(RestAssured.get("/q/health/live").asString());
        assertEquals("UP", live.get("status").asText(), live.toString());
        JsonNode channels = NodeWorkerTest.check(live, "SmallRye Reactive Messaging - liveness check");
        assertTrue(channels.at("/data/node-commands").asText().startsWith("[OK]"), channels.toString());

        Exec plain = add(NetnsLab.path(lab.netns("pod")), pod(null));
        assertEquals(0, plain.exit(), plain.stdout());
        assertEquals("10.244.1.9/24", JSON.readTree(plain.stdout()).at("/ips/0/address").asText(), "the chain's result passes through");

        Exec held = add(NetnsLab.path(lab.netns("pod2")), pod("macvlan-conf"));
        assertEquals(1, held.exit(), held.stdout());
        JsonNode err = JSON.readTree(held.stdout());
        assertEquals(11, err.get("code").asInt());
        assertTrue(err.get("details").asText().contains("is attach-service running, and Kafka reachable?"), err.toString());
    }
}
