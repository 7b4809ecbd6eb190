package io.netattach.lab;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * Two clusters, one ipam-service: the lab's hub (cluster "local") and its member (lab.sh up --member east), each
 * with its own API server, attach-service and node, on one L2 segment. The same NAD in both clusters names one
 * global pool; their pods, started at once, never share an address, and reach each other.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MultiClusterTest {
    private static final Duration ATTACH = Duration.ofSeconds(120);
    private static final int PODS = 5;
    private LabWorld lab;
    private KubernetesClient member;

    @BeforeAll
    void up() throws Exception {
        lab = new LabWorld();
        member = LabWorld.member().orElse(null);
    }

    @AfterAll
    void close() {
        if (member != null) member.close();
        if (lab != null) lab.close();
    }

    @Test
    void theSameNadInTwoClustersNamingAGlobalPoolGivesEveryPodItsOwnAddress() throws Exception {
        if (member == null) abort("the lab has no member cluster (deploy/local/lab.sh up --member east; test.sh starts one)");
        String pool = "e2e-shared-" + UUID.randomUUID().toString().substring(0, 6);
        var put = Ipam.send("PUT", "/api/v1/pools/" + pool, "{\"ipam\": {\"type\": \"whereabouts\", \"range\": \"10.69.0.0/27\"}}");
        assertEquals(201, put.statusCode(), "global pool: " + put.body());
        String ns = "shared-" + UUID.randomUUID().toString().substring(0, 6);
        StringBuilder yaml = new StringBuilder("""
                apiVersion: v1
                kind: Namespace
                metadata: {name: %1$s}
                ---
                apiVersion: k8s.cni.cncf.io/v1
                kind: NetworkAttachmentDefinition
                metadata: {name: storage, namespace: %1$s}
                spec:
                  config: '{"cniVersion": "0.3.1", "type": "macvlan", "master": "eth1", "mode": "bridge", "ipam": {"type": "whereabouts", "network_name": "%2$s"}}'
                """.formatted(ns, pool));
        for (int i = 0; i < PODS; i++) {
            yaml.append("""
                    ---
                    apiVersion: v1
                    kind: Pod
                    metadata:
                      name: app-%d
                      namespace: %s
                      annotations: {k8s.v1.cni.cncf.io/networks: storage}
                    spec:
                      containers: [{name: app, image: nicolaka/netshoot}]
                    """.formatted(i, ns));
        }
        // the same YAML applied to both clusters at once, as two teams would
        byte[] manifest = yaml.toString().getBytes(StandardCharsets.UTF_8);
        Thread other = Thread.ofPlatform().start(() -> member.load(new ByteArrayInputStream(manifest)).createOrReplace());
        lab.client.load(new ByteArrayInputStream(manifest)).createOrReplace();
        other.join();

        Map<String, String> addressOf = new HashMap<>();
        for (var cluster : List.of(Map.entry("local", lab.client), Map.entry("east", member))) {
            for (int i = 0; i < PODS; i++) {
                String name = "app-" + i;
                Pod p = LabWorld.waitFor(cluster.getKey() + " " + ns + "/" + name + " Ready", ATTACH, () -> {
                    Pod q = cluster.getValue().pods().inNamespace(ns).withName(name).get();
                    return q != null && q.getStatus() != null && q.getStatus().getConditions() != null
                            && q.getStatus().getConditions().stream().anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus())) ? q : null;
                });
                String ip = net1(p);
                String before = addressOf.put(ip, cluster.getKey() + "/" + name);
                assertEquals(null, before, ip + " given to " + before + " and to " + cluster.getKey() + "/" + name);
                assertTrue(ip.startsWith("10.69.0."), "from the global pool: " + ip);
            }
        }
        assertEquals(2 * PODS, addressOf.size());

        // ipam-service's own view: one holder per address, from both clusters
        JsonNode held = Ipam.get("/api/v1/pools/" + pool + "/allocations");
        Map<String, Integer> perCluster = new HashMap<>();
        Set<String> addresses = new HashSet<>();
        for (JsonNode a : held) {
            perCluster.merge(a.path("owner").path("cluster").asText(), 1, Integer::sum);
            addresses.add(a.path("address").asText());
        }
        assertEquals(Map.of("local", PODS, "east", PODS), perCluster, "holders per cluster: " + held);
        assertEquals(addressOf.keySet(), addresses);

        // one segment: a pod of the hub reaches a pod of the member over it
        Pod hub = lab.pod(ns, "app-0");
        String eastIp = addressOf.entrySet().stream().filter(e -> e.getValue().startsWith("east/")).findFirst().orElseThrow().getKey();
        assertEquals(0, LabWorld.exitCode(List.of("ip", "netns", "exec", LabWorld.netnsOf(hub), "ping", "-c", "1", "-W", "3", eastIp)),
                "local/app-0 pings east's " + eastIp);
    }

    private static String net1(Pod p) {
        List<String> ips = new ArrayList<>();
        for (JsonNode a : LabWorld.ip(LabWorld.netnsOf(p), "-4", "addr", "show", "dev", "net1")) {
            for (JsonNode info : a.path("addr_info")) ips.add(info.path("local").asText());
        }
        assertEquals(1, ips.size(), "IPv4 addresses on net1 of " + p.getMetadata().getName() + ": " + ips);
        return ips.getFirst();
    }
}
