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
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        // the lab's kubelet marks the pod Running and Ready once its sandbox is up (one status patch)
        LabWorld.waitFor("default/routed-pod Running and Ready", ATTACH, () -> {
            Pod now = lab.pod("default", "routed-pod");
            return now != null && now.getStatus() != null && "Running".equals(now.getStatus().getPhase())
                    && now.getStatus().getConditions().stream().anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus())) ? now : null;
        });
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

    @Test
    void storageStatefulSetPodsGetJumboFramesAndDistinctAddresses() throws Exception {
        lab.createNamespace("database");
        lab.apply("05-storage-network.yaml");
        Set<String> addresses = new HashSet<>();
        for (int i = 0; i < 3; i++) {
            Pod p = attached("database", "postgres-" + i, "net1");
            assertEquals(9000, link(p, "net1").path("mtu").asInt(), "MTU of net1 in postgres-" + i);
            String ip = onlyIpv4(p, "net1");
            assertInRange(ip, "172.16.10.0", "172.16.10.255");
            addresses.add(ip);
        }
        assertEquals(3, addresses.size(), "distinct addresses: " + addresses);
    }

    @Test
    void vnfInstanceGetsControlAndDataInterfacesByName() throws Exception {
        lab.createNamespace("nfv");
        lab.apply("06-nfv-control-data-plane.yaml");
        Pod p = attached("nfv", "vnf-instance", "data0");
        assertEquals("veth", link(p, "ctrl0").path("linkinfo").path("info_kind").asText(), "ctrl0 is the bridge plugin's veth");
        assertEquals("macvlan", link(p, "data0").path("linkinfo").path("info_kind").asText(), "data0 is macvlan");
        assertInRange(onlyIpv4(p, "ctrl0"), "10.1.0.2", "10.1.255.254");
        assertInRange(onlyIpv4(p, "data0"), "10.2.0.2", "10.2.255.254");
    }

    /**
     * triple-net-pod and custom-if-names ask for ipvlan-conf next to other networks. The others must be there
     * whatever the kernel; the ipvlan interface where the kernel has ipvlan. Where it has not (this machine), the
     * lab's attach-service (skip-unsupported-kinds=true) leaves it out with a Warning Event naming the network and
     * the kernel's error, records it in netattach.io/skipped-networks and gives its address back.
     */
    @Test
    void podsAskingForIpvlanGetTheirOtherNetworksAndIpvlanOrItsReason() throws Exception {
        lab.apply("03-multiple-secondary-networks.yaml");
        lab.apply("08-custom-if-names.yaml");
        Pod triple = attached("default", "triple-net-pod", "net3");
        assertEquals("macvlan", link(triple, "net1").path("linkinfo").path("info_kind").asText(), "net1 of triple-net-pod");
        assertEquals("veth", link(triple, "net3").path("linkinfo").path("info_kind").asText(), "net3 of triple-net-pod (bridge plugin)");
        assertInRange(onlyIpv4(triple, "net1"), "192.168.1.200", "192.168.1.250");
        Pod custom = attached("default", "custom-if-names", "storage");
        assertEquals("macvlan", link(custom, "storage").path("linkinfo").path("info_kind").asText(), "storage of custom-if-names");
        if (kernelHasIpvlan()) {
            triple = attached("default", "triple-net-pod", "net2");
            assertEquals("ipvlan", link(triple, "net2").path("linkinfo").path("info_kind").asText());
            custom = attached("default", "custom-if-names", "backup");
            assertEquals("ipvlan", link(custom, "backup").path("linkinfo").path("info_kind").asText());
            return;
        }
        for (String name : List.of("triple-net-pod", "custom-if-names")) {
            String iface = name.equals("triple-net-pod") ? "net2" : "backup";
            String warning = LabWorld.waitFor("an InterfaceSkipped event on " + name, ATTACH, () -> lab.client.v1().events()
                    .inNamespace("default").list().getItems().stream()
                    .filter(e -> name.equals(e.getInvolvedObject().getName()) && "InterfaceSkipped".equals(e.getReason()))
                    .map(e -> e.getType() + " " + e.getReason() + ": " + e.getMessage()).findFirst().orElse(null));
            assertTrue(warning.startsWith("Warning") && warning.contains(iface + " (default/ipvlan-conf)") && warning.contains("EOPNOTSUPP"),
                    "the event names the interface, the network and the kernel's error: " + warning);
            Pod p = lab.pod("default", name);
            String skipped = p.getMetadata().getAnnotations().get("netattach.io/skipped-networks");
            assertTrue(skipped != null && skipped.contains("\"" + iface + "\"") && skipped.contains("default/ipvlan-conf"), "skipped-networks of " + name + ": " + skipped);
            assertFalse(p.getMetadata().getAnnotations().get("k8s.v1.cni.cncf.io/network-status").contains("\"" + iface + "\""),
                    iface + " is not in the network-status of " + name);
            Set<String> links = new HashSet<>();
            LabWorld.ip(LabWorld.netnsOf(p), "link", "show").forEach(l -> links.add(l.path("ifname").asText()));
            assertFalse(links.contains(iface), iface + " must not exist in " + name + ": " + links);
            String uid = p.getMetadata().getUid();
            Set<String> held = LabWorld.waitFor("the ipvlan address of " + name + " given back", ATTACH, () -> {
                Set<String> a = Ipam.addressesOf(uid);
                return a.stream().anyMatch(ip -> ip.startsWith("10.10.0.")) ? null : a;
            });
            assertFalse(held.isEmpty(), name + " still holds the addresses of its other networks");
        }
        System.out.println("[e2e] ipvlan is not in this kernel (EOPNOTSUPP): the other networks are attached and ipvlan-conf is left out with its reason");
    }

    @Test
    void deletingAPodReleasesItsAddressesRemovesItsInterfacesAndIsAudited() throws Exception {
        String manifest = """
                apiVersion: v1
                kind: Pod
                metadata:
                  name: short-lived
                  annotations:
                    k8s.v1.cni.cncf.io/networks: macvlan-conf
                spec:
                  containers: [{name: app, image: nicolaka/netshoot}]
                """;
        lab.client.load(new java.io.ByteArrayInputStream(manifest.getBytes())).createOrReplace();
        Pod p = attached("default", "short-lived", "net1");
        String uid = p.getMetadata().getUid();
        String ip = onlyIpv4(p, "net1");
        assertTrue(Ipam.holders().contains(uid), "ipam-service holds an address for the pod");
        String netns = LabWorld.netnsOf(p);
        lab.client.resource(p).delete();
        LabWorld.waitFor("the pod's addresses released", ATTACH, () -> Ipam.holders().contains(uid) ? null : true);
        LabWorld.waitFor("the pod's namespace removed", ATTACH,
                () -> LabWorld.exitCode(List.of("ip", "netns", "pids", netns)) != 0 ? true : null);
        Set<String> outcomes = LabWorld.waitFor("attached, allocated, detached and released in the audit topic", ATTACH, () -> {
            Set<String> seen = Audit.outcomesFor(uid);
            return seen.containsAll(Set.of("allocated", "attached", "released", "detached")) ? seen : null;
        });
        assertTrue(outcomes.contains("allowed"), "the policy decision is audited too: " + outcomes);
        assertTrue(!ip.isEmpty());
    }

    /**
     * An address whose pod is gone without a release (a crash between allocate and release, a pod deleted while
     * attach-service was down) is reclaimed by attach-service's leak sweep through the real ipam-service, while an
     * address of a pod that exists is kept (the lab runs the sweep every 10 s).
     */
    @Test
    void leakSweepReclaimsTheAddressOfAPodThatIsGoneAndSparesALivePod() throws Exception {
        var pool = Ipam.send("PUT", "/api/v1/pools/e2e-leak", "{\"ipam\": {\"type\": \"whereabouts\", \"range\": \"10.77.0.0/24\"}}");
        assertTrue(pool.statusCode() == 200 || pool.statusCode() == 201, "pool: " + pool.statusCode() + " " + pool.body());
        lab.client.load(new java.io.ByteArrayInputStream("""
                apiVersion: v1
                kind: Pod
                metadata:
                  name: leak-survivor
                spec:
                  containers: [{name: app, image: nicolaka/netshoot}]
                """.getBytes())).createOrReplace();
        String live = lab.pod("default", "leak-survivor").getMetadata().getUid();
        String gone = java.util.UUID.randomUUID().toString();
        for (String[] owner : List.of(new String[] {live, "leak-survivor"}, new String[] {gone, "leak-ghost"})) {
            var r = Ipam.send("POST", "/api/v1/pools/e2e-leak/allocations", "{\"owner\": {\"cluster\": \"local\", \"namespace\": \"default\", \"pod\": \""
                    + owner[1] + "\", \"podUid\": \"" + owner[0] + "\", \"interface\": \"net1\"}}");
            assertEquals(201, r.statusCode(), "allocation for " + owner[1] + ": " + r.body());
        }
        LabWorld.waitFor("the address of the pod that is gone reclaimed by the leak sweep", Duration.ofSeconds(60),
                () -> Ipam.addressesOf(gone).isEmpty() ? true : null);
        assertEquals(1, Ipam.addressesOf(live).size(), "the pod that exists keeps its address");
        Set<String> outcomes = Audit.outcomesFor(gone);
        assertTrue(outcomes.contains("released"), "the reclaim is audited: " + outcomes);
    }

    private static boolean kernelHasIpvlan() {
        String ns = "na-e2e-probe";
        LabWorld.exitCode(List.of("ip", "netns", "add", ns));
        try {
            LabWorld.exitCode(List.of("ip", "-n", ns, "link", "add", "p0", "type", "veth", "peer", "name", "p1"));
            return LabWorld.exitCode(List.of("ip", "-n", ns, "link", "add", "link", "p0", "name", "iv0", "type", "ipvlan")) == 0;
        } finally {
            LabWorld.exitCode(List.of("ip", "netns", "delete", ns));
        }
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
