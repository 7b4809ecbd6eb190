package io.netattach.lab;

import io.fabric8.kubernetes.api.model.Pod;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The broker killed (SIGKILL) for 90 s under the running lab, then started again: while it is gone every
 * service reports not ready (its Kafka channels cannot reach a broker) and stays live (a restart would not bring
 * the broker back: a liveness failure would only turn a broker outage into a restart storm of every node's
 * worker); afterwards every consumer resumes by itself and a new pod gets its network. Tagged "outage": it takes
 * the broker away from every other test, so deploy/local/test.sh runs it alone, after the others.
 */
@Tag("outage")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BrokerOutageTest {
    private static final Duration OUTAGE = Duration.ofSeconds(Long.getLong("netattach.outage-seconds", 90));
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private LabWorld lab;

    @BeforeAll
    void up() throws Exception {
        lab = new LabWorld();
    }

    @AfterAll
    void close() {
        if (lab != null) lab.close();
    }

    /** Every service of the lab by name -> its HTTP port: the central three, each node's worker, a member's attach-service. */
    private static Map<String, Integer> services() throws Exception {
        Map<String, Integer> ports = new TreeMap<>(Map.of("ipam-service", 8081, "attach-service", 8082, "policy-service", 8083));
        int nodes = Integer.parseInt(Files.readString(LabWorld.labDir().resolve("nodes")).trim());
        for (int i = 1; i <= nodes; i++) ports.put("node-worker node" + i, 8090 + i);
        if (Files.exists(LabWorld.labDir().resolve("member"))) {
            String member = Files.readString(LabWorld.labDir().resolve("member")).trim();
            ports.put("attach-service " + member, 8084);
            ports.put("node-worker " + member + "1", 8099);
        }
        return ports;
    }

    private static int status(int port, String check) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/health/" + check)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private static List<String> where(Map<String, Integer> services, String check, int code) {
        List<String> names = new ArrayList<>();
        services.forEach((name, port) -> { if (status(port, check) == code) names.add(name); });
        return names;
    }

    private static void servicesSh(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(LabWorld.ROOT.resolve("deploy/local/services.sh").toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        assertEquals(0, p.waitFor(), "deploy/local/services.sh " + String.join(" ", args));
    }

    @Test
    void afterNinetySecondsWithoutABrokerEveryConsumerResumesByItselfAndANewPodIsAttached() throws Exception {
        Map<String, Integer> services = services();
        LabWorld.waitFor("every service ready before the outage", Duration.ofSeconds(60),
                () -> where(services, "ready", 200).size() == services.size() ? true : null);

        long pid = Long.parseLong(Files.readString(LabWorld.labDir().getParent().resolve("kafka.pid")).trim());
        long killedAt = System.nanoTime();
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        LabWorld.waitFor("the broker process gone", Duration.ofSeconds(30), () -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) ? null : true);
        try {
            LabWorld.waitFor("every service not ready while the broker is gone", Duration.ofSeconds(60),
                    () -> where(services, "ready", 503).size() == services.size() ? true : null);
            assertEquals(List.copyOf(services.keySet()), where(services, "live", 200), "every service stays live during the outage");
            long left = OUTAGE.toNanos() - (System.nanoTime() - killedAt);
            // the outage's length is the test's subject: the broker stays away for OUTAGE in all
            if (left > 0) Thread.sleep(left / 1_000_000);
            assertEquals(List.copyOf(services.keySet()), where(services, "live", 200), "every service still live after " + OUTAGE.toSeconds() + " s without a broker");
        } finally {
            servicesSh("start");
        }
        LabWorld.waitFor("every service ready again after the broker is back", Duration.ofSeconds(180),
                () -> where(services, "ready", 200).size() == services.size() ? true : null);

        String ns = "outage-" + UUID.randomUUID().toString().substring(0, 6);
        lab.applyYaml("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n");
        lab.applyYaml("""
                apiVersion: k8s.cni.cncf.io/v1
                kind: NetworkAttachmentDefinition
                metadata:
                  name: lan
                  namespace: %s
                spec:
                  config: '{"cniVersion": "0.3.1", "type": "macvlan", "master": "eth1", "mode": "bridge", "ipam": {"type": "whereabouts", "range": "10.67.0.0/24"}}'
                """.formatted(ns));
        lab.applyYaml("""
                apiVersion: v1
                kind: Pod
                metadata:
                  name: after-outage
                  namespace: %s
                  annotations:
                    k8s.v1.cni.cncf.io/networks: lan
                spec:
                  containers: [{name: app, image: nicolaka/netshoot}]
                """.formatted(ns));
        Pod pod = LabWorld.waitFor(ns + "/after-outage with its network-status", Duration.ofSeconds(120), () -> {
            Pod p = lab.pod(ns, "after-outage");
            String status = p == null || p.getMetadata().getAnnotations() == null ? null : p.getMetadata().getAnnotations().get("k8s.v1.cni.cncf.io/network-status");
            return status != null && status.contains("10.67.0.") ? p : null;
        });
        assertTrue(LabWorld.ip(LabWorld.netnsOf(pod), "-4", "addr", "show", "dev", "net1").toString().contains("10.67.0."), "net1 in the pod's namespace has its address");
        lab.client.pods().inNamespace(ns).withName("after-outage").delete();
    }

}
