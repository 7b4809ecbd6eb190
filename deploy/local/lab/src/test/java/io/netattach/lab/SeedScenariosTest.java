package io.netattach.lab;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Pod;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The seed document's scenarios, end to end on the running lab: YAML in, interfaces inside the pod's network
 * namespace out. Checks the kernel state with `ip -d -j` inside the pod, independently of what netattach reports.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SeedScenariosTest {
    private static final Duration ATTACH = Duration.ofSeconds(90);
    private LabWorld lab;

    @BeforeAll
    void networks() throws Exception {
        lab = new LabWorld();
        lab.apply("01-macvlan-network.yaml");
        lab.apply("09-routed-network.yaml");
    }

    @AfterAll
    void close() {
        if (lab != null) {
            lab.close();
        }
    }

    @Test
    void macvlanConfPodGetsNet1WithAnAddressInTheHostLocalRange() throws Exception {
        lab.apply("02-multi-interface-pod.yaml");
        Pod pod = attached("default", "multi-net-pod", "net1");
        JsonNode net1 = link(pod, "net1");
        assertEquals("macvlan", net1.path("linkinfo").path("info_kind").asText(), "kind of net1");
        assertEquals("bridge", net1.path("linkinfo").path("info_data").path("mode").asText(), "macvlan mode of net1");
        String ip = onlyIpv4(pod, "net1");
        assertInRange(ip, "192.168.1.200", "192.168.1.250");
    }

    @Test
    void staticIpPodGetsTheAddressItAskedFor() throws Exception {
        lab.apply("04-static-ip-pod.yaml");
        Pod pod = attached("default", "static-ip-pod", "net1");
        assertEquals("192.168.1.100", onlyIpv4(pod, "net1"));
    }

    @Test
    void routedNetworkInstallsItsRoutesInsideThePod() throws Exception {
        String pod = """
                apiVersion: v1
                kind: Pod
                metadata:
                  name: routed-pod
                  annotations:
                    k8s.v1.cni.cncf.io/networks: routed-network
                spec:
                  containers:
                  - name: app
                    image: nicolaka/netshoot
                """;
        lab.client.load(new java.io.ByteArrayInputStream(pod.getBytes())).createOrReplace();
        Pod p = attached("default", "routed-pod", "net1");
        JsonNode routes = LabWorld.ip(LabWorld.netnsOf(p), "route", "show", "dev", "net1");
        Set<String> seen = new HashSet<>();
        for (JsonNode r : routes) {
            if ("192.168.100.1".equals(r.path("gateway").asText())) {
                seen.add(r.path("dst").asText());
            }
        }
        assertEquals(Set.of("192.168.200.0/24", "192.168.201.0/24"), seen, "routes via 192.168.100.1 on net1: " + routes);
    }

    @Test
    void deploymentReplicasGetThreeDistinctAddresses() throws Exception {
        lab.apply("07-multi-net-deployment.yaml");
        List<Pod> pods = LabWorld.waitFor("3 web-app pods", ATTACH, () -> {
            var items = lab.client.pods().inNamespace("default").withLabel("app", "web").list().getItems();
            return items.size() == 3 ? items : null;
        });
        Set<String> addresses = new HashSet<>();
        for (Pod p : pods) {
            Pod ready = attached("default", p.getMetadata().getName(), "net1");
            addresses.add(onlyIpv4(ready, "net1"));
        }
        assertEquals(3, addresses.size(), "distinct addresses: " + addresses);
    }

    // --- helpers -------------------------------------------------------------------------------------

    /** Waits until netattach reports the interface in network-status, then returns the pod. */
    private Pod attached(String namespace, String name, String iface) {
        return LabWorld.waitFor(iface + " in network-status of " + namespace + "/" + name, ATTACH, () -> {
            Pod p = lab.pod(namespace, name);
            if (p == null || p.getMetadata().getAnnotations() == null) {
                return null;
            }
            String status = p.getMetadata().getAnnotations().get("k8s.v1.cni.cncf.io/network-status");
            return status != null && status.contains("\"" + iface + "\"") ? p : null;
        });
    }

    private static JsonNode link(Pod pod, String iface) {
        JsonNode links = LabWorld.ip(LabWorld.netnsOf(pod), "link", "show", "dev", iface);
        if (links.size() != 1) {
            fail(iface + " not found in " + LabWorld.netnsOf(pod) + ": " + links);
        }
        return links.get(0);
    }

    private static String onlyIpv4(Pod pod, String iface) {
        JsonNode addrs = LabWorld.ip(LabWorld.netnsOf(pod), "-4", "addr", "show", "dev", iface);
        List<String> ips = new ArrayList<>();
        for (JsonNode a : addrs) {
            for (JsonNode info : a.path("addr_info")) {
                ips.add(info.path("local").asText());
            }
        }
        assertEquals(1, ips.size(), "IPv4 addresses on " + iface + ": " + ips);
        return ips.getFirst();
    }

    private static void assertInRange(String ip, String first, String last) throws Exception {
        long v = toLong(ip);
        assertTrue(v >= toLong(first) && v <= toLong(last), ip + " not in " + first + "-" + last);
    }

    private static long toLong(String ip) throws Exception {
        long v = 0;
        for (byte b : InetAddress.getByName(ip).getAddress()) {
            v = (v << 8) | (b & 0xff);
        }
        return v;
    }

}
