package io.netattach.node.netlink;

import com.fasterxml.jackson.databind.JsonNode;
import io.netattach.node.domain.AttachException;
import io.netattach.node.domain.AttachmentRequest;
import io.netattach.node.domain.InterfaceReport;
import io.netattach.node.domain.PodRef;
import io.netattach.node.domain.RouteRequest;
import io.netattach.node.lab.NetnsLab;
import io.netattach.node.netlink.addr.Addresses;
import io.netattach.node.netlink.link.Link;
import io.netattach.node.netlink.link.LinkSpec;
import io.netattach.node.netlink.link.Links;
import io.netattach.node.netlink.ns.NamespaceThread;
import io.netattach.node.netlink.ns.Netns;
import io.netattach.node.netlink.route.Routes;
import io.netattach.node.netlink.wire.NetlinkSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static io.netattach.node.lab.NetnsLab.ipJson;
import static io.netattach.node.lab.NetnsLab.linkNames;
import static io.netattach.node.lab.NetnsLab.path;
import static io.netattach.node.lab.NetnsLab.pings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.abort;

/**
 * Live: two node namespaces whose uplinks eth1 join one LAN bridge, pod namespaces on them; interfaces are made
 * through our netlink layer and checked with our own dumps and with `ip -d -j`.
 */
class PodInterfacesLiveTest {
    private static NamespaceThread nsThread;
    private NetnsLab lab;
    private String lanNs, node1, node2;
    private PodInterfaces onNode1, onNode2;

    @BeforeAll
    static void thread() { nsThread = new NamespaceThread(); }

    @AfterAll
    static void stopThread() { nsThread.close(); }

    @BeforeEach
    void namespaces() {
        lab = new NetnsLab();
        lanNs = lab.lan("lan");
        node1 = lab.node("n1", lanNs, "192.168.77.1/24", "192.168.77.254");
        node2 = lab.node("n2", lanNs, "192.168.77.2/24", "192.168.77.254");
        onNode1 = new PodInterfaces(nsThread, path(node1));
        onNode2 = new PodInterfaces(nsThread, path(node2));
    }

    @AfterEach
    void cleanUp() {
        if (onNode1 != null) onNode1.close();
        if (onNode2 != null) onNode2.close();
        lab.close();
    }

    private static PodRef pod(String name) { return new PodRef("default", name, "uid-" + name); }

    private static Map<String, Object> macvlan(String master, String mode, Integer mtu) {
        Map<String, Object> c = new HashMap<>();
        c.put("cniVersion", "1.0.0");
        c.put("type", "macvlan");
        if (master != null) c.put("master", master);
        if (mode != null) c.put("mode", mode);
        if (mtu != null) c.put("mtu", mtu);
        return c;
    }

    private static AttachmentRequest request(Map<String, Object> conf, String iface, String mac, String... ips) {
        return new AttachmentRequest("default/net-a", iface, conf, List.of(ips), List.of("10.10.0.1"),
                List.of(new RouteRequest("10.20.0.0/16", "10.10.0.1")), mac, false);
    }

    @Test
    void macvlanAttachMakesExactlyWhatWasAskedAndDetachLeavesNothing() {
        String podNs = lab.netns("p1");
        List<String> nodeBefore = linkNames(node1);
        AttachmentRequest req = request(macvlan(null, "private", 1400), "net1", "02:aa:bb:00:00:11", "10.10.0.11/24", "fd10::11/64");

        InterfaceReport made = onNode1.attach(path(podNs), pod("p1"), req);

        assertNull(made.error());
        assertEquals("net1", made.iface());
        assertEquals("02:aa:bb:00:00:11", made.mac());
        assertEquals(1400, made.mtu());
        assertEquals(Set.of("10.10.0.11/24", "fd10::11/64"), Set.copyOf(made.ips()));

        // our own dumps
        try (Netns ns = Netns.open(path(podNs)); NetlinkSocket s = nsThread.openSocket(ns)) {
            Link l = new Links(s).get("net1").orElseThrow();
            assertEquals("macvlan", l.kind());
            assertEquals(LinkSpec.MacvlanMode.PRIVATE, l.macvlanMode());
            assertTrue(l.up());
            assertEquals(Set.of("10.10.0.11/24", "fd10::11/64"), new TreeSet<>(new Addresses(s).dump(l.index()).stream()
                    .filter(a -> a.scope() == 0).map(a -> a.prefix().toString()).toList()));
            assertTrue(new Routes(s).dump(2).stream().anyMatch(r -> r.dst().toString().equals("10.20.0.0/16")
                    && r.gateway() != null && r.gateway().getHostAddress().equals("10.10.0.1") && r.linkIndex() == l.index()));
            assertTrue(new Routes(s).dump(2).stream().noneMatch(r -> r.isDefault()), "no default route unless asked");
        }
        // and iproute2's view
        JsonNode link = ipJson(podNs, "link", "show", "net1").get(0);
        assertEquals("macvlan", link.at("/linkinfo/info_kind").asText());
        assertEquals("private", link.at("/linkinfo/info_data/mode").asText());
        assertEquals(1400, link.get("mtu").asInt());
        assertEquals("02:aa:bb:00:00:11", link.get("address").asText());
        List<String> addrs = new ArrayList<>();
        ipJson(podNs, "addr", "show", "dev", "net1").get(0).get("addr_info").forEach(a -> {
            if (!a.get("scope").asText().equals("link")) addrs.add(a.get("local").asText() + "/" + a.get("prefixlen").asInt());
        });
        assertEquals(Set.of("10.10.0.11/24", "fd10::11/64"), Set.copyOf(addrs));
        List<String> routes = new ArrayList<>();
        ipJson(podNs, "route", "show", "dev", "net1").forEach(r -> routes.add(r.get("dst").asText() + " " + (r.has("gateway") ? r.get("gateway").asText() : "-")));
        assertEquals(Set.of("10.10.0.0/24 -", "10.20.0.0/16 10.10.0.1"), Set.copyOf(routes));

        assertEquals("1", NetnsLab.run("ip", "netns", "exec", podNs, "cat", "/proc/sys/net/ipv4/conf/net1/arp_notify").trim(), "arp_notify as the plugins set it");
        assertEquals("0", NetnsLab.run("ip", "netns", "exec", podNs, "cat", "/proc/sys/net/ipv6/conf/net1/ndisc_notify").trim(),
                "ndisc_notify left at the kernel default, as the reference macvlan plugin (1.1.1) leaves it");

        // redelivery: same interface, no change
        int index = ipJson(podNs, "link", "show", "net1").get(0).get("ifindex").asInt();
        InterfaceReport again = onNode1.attach(path(podNs), pod("p1"), req);
        assertEquals(made, again);
        assertEquals(index, ipJson(podNs, "link", "show", "net1").get(0).get("ifindex").asInt());

        assertEquals(List.of("net1"), onNode1.detach(path(podNs), pod("p1"), null));
        assertEquals(List.of("lo"), linkNames(podNs));
        assertEquals(nodeBefore, linkNames(node1));
        assertEquals(List.of(), onNode1.detach(path(podNs), pod("p1"), List.of("net1")), "detaching a missing interface is success");
    }

    @Test
    void aRedeliveryIsRecognisedEvenWhenTheMasterNoLongerPassesTheChecks() {
        // No look-up of the name before the create any more: a check failing before it (here the MTU, after
        // the master's MTU went down) must still find our interface and report it, as the first delivery did.
        String podNs = lab.netns("pr");
        AttachmentRequest req = request(macvlan("eth1", null, 1400), "net1", null, "10.10.0.71/24");
        InterfaceReport made = onNode1.attach(path(podNs), pod("pr"), req);
        int index = ipJson(podNs, "link", "show", "net1").get(0).get("ifindex").asInt();
        NetnsLab.run("ip", "-n", node1, "link", "set", "eth1", "mtu", "1300");
        InterfaceReport again = onNode1.attach(path(podNs), pod("pr"), req);
        assertEquals(made.ips(), again.ips());
        assertEquals(index, ipJson(podNs, "link", "show", "net1").get(0).get("ifindex").asInt(), "the same interface, not a new one");
        // a different request for the same name is a conflict, not a redelivery
        AttachmentRequest other = request(macvlan("eth1", null, null), "net1", null, "10.10.0.72/24");
        AttachException e = assertThrows(AttachException.class, () -> onNode1.attach(path(podNs), pod("pr"), other));
        assertEquals("Conflict", e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains("already exists in the pod with a different configuration"), e.getMessage());
    }

    @Test
    void aVeryLongNetworkNameStillFitsTheAliasMarker() {
        String podNs = lab.netns("pl");
        String network = "a".repeat(63) + "/" + "b".repeat(200);
        AttachmentRequest r = new AttachmentRequest(network, "net1", macvlan("eth1", null, null), List.of("10.10.0.61/24"),
                List.of(), List.of(), null, false);
        InterfaceReport made = onNode1.attach(path(podNs), pod("pl"), r);
        assertNull(made.error());
        assertEquals(made, onNode1.attach(path(podNs), pod("pl"), r), "redelivery recognised");
        assertEquals(List.of("net1"), onNode1.detach(path(podNs), pod("pl"), null));
    }

    @Test
    void macvlanPodsPingOnOneNodeAndAcrossNodesJoinedByABridge() {
        String p1 = lab.netns("p1"), p2 = lab.netns("p2"), p3 = lab.netns("p3");
        onNode1.attach(path(p1), pod("p1"), request(macvlan("eth1", null, null), "net1", null, "10.10.0.11/24"));
        onNode1.attach(path(p2), pod("p2"), request(macvlan("eth1", "bridge", null), "net1", null, "10.10.0.12/24"));
        onNode2.attach(path(p3), pod("p3"), request(macvlan("", "", null), "net1", null, "10.10.0.13/24"));
        assertEquals("bridge", ipJson(p1, "link", "show", "net1").get(0).at("/linkinfo/info_data/mode").asText(), "mode defaults to bridge");

        assertTrue(pings(p1, "10.10.0.12", Duration.ofSeconds(5)), "p1 -> p2 on the same node");
        assertTrue(pings(p1, "10.10.0.13", Duration.ofSeconds(5)), "p1 on node1 -> p3 on node2");
        assertTrue(pings(p3, "10.10.0.12", Duration.ofSeconds(5)), "p3 on node2 -> p2 on node1");
    }

    @Test
    void bridgeAndVethPodsPingEachOtherAndTheGatewayOnTheBridge() {
        String p1 = lab.netns("p1"), p2 = lab.netns("p2");
        Map<String, Object> conf = new HashMap<>(Map.of("cniVersion", "1.0.0", "type", "bridge", "bridge", "na-br0",
                "isGateway", true, "hairpinMode", true, "mtu", 1450));
        AttachmentRequest r1 = new AttachmentRequest("default/br", "net1", conf, List.of("10.30.0.11/24"), List.of("10.30.0.1"),
                List.of(), null, true);
        AttachmentRequest r2 = new AttachmentRequest("default/br", "br-net", conf, List.of("10.30.0.12/24"), List.of("10.30.0.1"),
                List.of(), "02:00:00:30:00:12", false);
        InterfaceReport a1 = onNode1.attach(path(p1), pod("p1"), r1);
        InterfaceReport a2 = onNode1.attach(path(p2), pod("p2"), r2);
        assertEquals(1450, a1.mtu());
        assertEquals("02:00:00:30:00:12", a2.mac());

        JsonNode br = ipJson(node1, "link", "show", "na-br0").get(0);
        assertEquals("bridge", br.at("/linkinfo/info_kind").asText());
        assertEquals(1450, br.get("mtu").asInt());
        List<String> brAddrs = new ArrayList<>();
        ipJson(node1, "addr", "show", "dev", "na-br0").get(0).get("addr_info").forEach(a -> brAddrs.add(a.get("local").asText() + "/" + a.get("prefixlen").asInt()));
        assertTrue(brAddrs.contains("10.30.0.1/24"), "isGateway puts the gateway on the bridge: " + brAddrs);
        List<JsonNode> ports = new ArrayList<>();
        ipJson(node1, "link", "show", "master", "na-br0").forEach(ports::add);
        assertEquals(2, ports.size());
        ports.forEach(p -> {
            assertTrue(p.get("ifname").asText().matches("veth[0-9a-f]{8}"), p.get("ifname").asText());
            assertTrue(p.at("/linkinfo/info_slave_data/hairpin").asBoolean(), "hairpinMode on " + p.get("ifname"));
        });
        assertEquals("veth", ipJson(p1, "link", "show", "net1").get(0).at("/linkinfo/info_kind").asText());
        JsonNode def = ipJson(p1, "route", "show", "default").get(0);
        assertEquals("10.30.0.1", def.get("gateway").asText());
        assertEquals("net1", def.get("dev").asText());
        assertEquals(0, ipJson(p2, "route", "show", "default").size(), "default route only where defaultRoute is true");

        assertTrue(pings(p1, "10.30.0.12", Duration.ofSeconds(5)), "pod to pod over the bridge");
        assertTrue(pings(p2, "10.30.0.1", Duration.ofSeconds(5)), "pod to the gateway on the bridge");

        onNode1.detach(path(p1), pod("p1"), null);
        onNode1.detach(path(p2), pod("p2"), null);
        assertEquals(0, ipJson(node1, "link", "show", "master", "na-br0").size(), "no veth left on the bridge");
        assertEquals(List.of("lo"), linkNames(p1));
    }

    @Test
    void bridgePromiscModeIsSetOnTheBridge() {
        String p1 = lab.netns("p1");
        Map<String, Object> conf = new HashMap<>(Map.of("cniVersion", "1.0.0", "type", "bridge", "bridge", "na-brp", "promiscMode", true));
        onNode1.attach(path(p1), pod("p1"), new AttachmentRequest("default/brp", "net1", conf, List.of("10.31.0.11/24"),
                List.of(), List.of(), null, false));
        JsonNode br = ipJson(node1, "link", "show", "na-brp").get(0);
        assertTrue(br.get("flags").toString().contains("PROMISC"), "promiscMode on the bridge: " + br.get("flags"));
    }

    @Test
    void bridgeIsDefaultGatewayTakesTheDefaultRouteViaTheSubnetsFirstAddressWhenIpamGivesNoGateway() {
        String p1 = lab.netns("p1");
        Map<String, Object> conf = new HashMap<>(Map.of("cniVersion", "1.0.0", "type", "bridge", "bridge", "na-brd", "isDefaultGateway", true));
        onNode1.attach(path(p1), pod("p1"), new AttachmentRequest("default/brd", "net1", conf, List.of("10.32.0.11/24"),
                List.of(), List.of(), null, false));
        List<String> brAddrs = new ArrayList<>();
        ipJson(node1, "addr", "show", "dev", "na-brd").get(0).get("addr_info").forEach(a -> brAddrs.add(a.get("local").asText() + "/" + a.get("prefixlen").asInt()));
        assertEquals(List.of("10.32.0.1/24"), brAddrs.stream().filter(a -> a.startsWith("10.")).toList(), "the bridge plugin's gateway: the subnet's first address");
        JsonNode def = ipJson(p1, "route", "show", "default").get(0);
        assertEquals("10.32.0.1", def.get("gateway").asText());
        assertEquals("net1", def.get("dev").asText(), "isDefaultGateway takes the default route without the selection's default-route");
        assertTrue(pings(p1, "10.32.0.1", Duration.ofSeconds(5)), "pod to its default gateway on the bridge");
    }

    @Test
    void bridgeIpMasqIsRefusedNamingTheFieldAndLeavesNothingBehind() {
        String p1 = lab.netns("p1");
        List<String> nodeBefore = linkNames(node1);
        Map<String, Object> conf = new HashMap<>(Map.of("cniVersion", "1.0.0", "type", "bridge", "bridge", "na-brm", "isGateway", true, "ipMasq", true));
        AttachException e = assertThrows(AttachException.class, () -> onNode1.attach(path(p1), pod("p1"),
                new AttachmentRequest("default/brm", "net1", conf, List.of("10.33.0.11/24"), List.of(), List.of(), null, false)));
        assertEquals("Invalid", e.reason());
        assertTrue(e.getMessage().contains("network default/brm interface net1: cniConfig.ipMasq true"), e.getMessage());
        assertEquals(nodeBefore, linkNames(node1), "no bridge made");
        assertEquals(List.of("lo"), linkNames(p1));
    }

    @Test
    void bridgePortVlanIsSetWhereTheKernelFiltersVlans() {
        String p1 = lab.netns("p1");
        Map<String, Object> conf = new HashMap<>(Map.of("cniVersion", "1.0.0", "type", "bridge", "bridge", "na-brv", "vlan", 100));
        List<String> nodeBefore = linkNames(node1);
        try {
            onNode1.attach(path(p1), pod("p1"), new AttachmentRequest("default/brv", "net1", conf, List.of("10.31.0.12/24"),
                    List.of(), List.of(), null, false));
        } catch (AttachException e) {
            assertEquals(nodeBefore, linkNames(node1), "nothing left behind");
            assertEquals(List.of("lo"), linkNames(p1));
            if (e.getMessage().contains("EOPNOTSUPP")) abort("kernel refuses bridge VLAN filtering: " + e.getMessage());
            throw e;
        }
        String port = ipJson(node1, "link", "show", "master", "na-brv").get(0).get("ifname").asText();
        String text = NetnsLab.run("ip", "netns", "exec", node1, "bridge", "-j", "vlan", "show", "dev", port);
        assertTrue(text.contains("\"vlan\":100") && text.contains("PVID") && text.contains("Egress Untagged"), text);
    }

    private void assertFailsCleanly(String podNs, AttachmentRequest req, String reason, String messagePart) {
        List<String> nodeBefore = linkNames(node1);
        List<String> podBefore = linkNames(podNs);
        AttachException e = assertThrows(AttachException.class, () -> onNode1.attach(path(podNs), pod("p1"), req));
        assertEquals(reason, e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains(messagePart), e.getMessage());
        assertEquals(nodeBefore, linkNames(node1), "nothing left on the node");
        assertEquals(podBefore, linkNames(podNs), "nothing left in the pod");
    }

    @Test
    void failuresAreClearAndLeaveNothingBehind() {
        String podNs = lab.netns("p1");
        assertFailsCleanly(podNs, request(macvlan("eth9", null, null), "net1", null, "10.10.0.11/24"),
                "NotFound", "failed to look up master \"eth9\"");
        assertFailsCleanly(podNs, request(macvlan("eth1", null, 9000), "net1", null, "10.10.0.11/24"),
                "Invalid", "cniConfig.mtu 9000 is above the MTU 1500 of master \"eth1\"");
        assertFailsCleanly(podNs, request(macvlan("eth1", null, null), "net1", "02:aa:bb:cc:dd", "10.10.0.11/24"),
                "Invalid", "mac \"02:aa:bb:cc:dd\" is not a MAC address");
        assertFailsCleanly(podNs, request(macvlan("eth1", null, null), "net1", "01:00:5e:00:00:01", "10.10.0.11/24"),
                "Invalid", "is a multicast address");
        for (String bad : List.of("a234567890123456", "a/b", "a b", ".", "..", "")) {
            assertFailsCleanly(podNs, request(macvlan("eth1", null, null), bad, null, "10.10.0.11/24"), "Invalid", "interface");
        }
        assertFailsCleanly(podNs, request(macvlan("eth1", "sideways", null), "net1", null, "10.10.0.11/24"),
                "Invalid", "mode \"sideways\"");
        // a kernel refusal half way (the route's gateway is unreachable from the address): rolled back
        AttachmentRequest unreachable = new AttachmentRequest("default/net-a", "net1", macvlan("eth1", null, null),
                List.of("10.10.0.11/24"), List.of(), List.of(new RouteRequest("10.20.0.0/16", "10.99.0.1")), null, false);
        assertFailsCleanly(podNs, unreachable, "Failed", "add route 10.20.0.0/16 via 10.99.0.1");

        // name taken in the pod
        NetnsLab.run("ip", "-n", podNs, "link", "add", "net1", "type", "veth", "peer", "name", "other");
        assertFailsCleanly(podNs, request(macvlan("eth1", null, null), "net1", null, "10.10.0.11/24"),
                "Conflict", "interface name \"net1\" is already taken in the pod");
    }

    @Test
    void aMissingPodNamespaceIsNotFoundAndDetachFromItIsSuccess() {
        List<String> nodeBefore = linkNames(node1);
        AttachException e = assertThrows(AttachException.class, () ->
                onNode1.attach("/var/run/netns/na-does-not-exist", pod("p9"), request(macvlan("eth1", null, null), "net1", null, "10.10.0.11/24")));
        assertEquals("NotFound", e.reason());
        assertTrue(e.getMessage().contains("ENOENT"), e.getMessage());
        assertEquals(nodeBefore, linkNames(node1));
        assertEquals(List.of(), onNode1.detach("/var/run/netns/na-does-not-exist", pod("p9"), null));
    }

    @Test
    void aPodNamespaceDeletedBeforeTheAttachRunsIsNotFoundAndLeavesNothingOnTheNode() {
        String podNs = lab.netns("p1");
        NetnsLab.run("ip", "netns", "del", podNs); // as the runtime does when the sandbox dies before our command runs
        List<String> nodeBefore = linkNames(node1);
        AttachException e = assertThrows(AttachException.class, () ->
                onNode1.attach(path(podNs), pod("p1"), request(macvlan("eth1", null, null), "net1", null, "10.10.0.11/24")));
        assertEquals("NotFound", e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains(path(podNs)) && e.getMessage().contains("ENOENT"), e.getMessage());
        assertEquals(nodeBefore, linkNames(node1), "nothing left on the node");
    }

    @Test
    void aPodNamespaceDeletedMidAttachFailsTheAttachAndLeavesNothingOnTheNode() {
        for (String kind : List.of("macvlan", "bridge")) {
            String podNs = lab.netns("p-" + kind);
            Map<String, Object> conf = kind.equals("macvlan") ? macvlan("eth1", null, null)
                    : new HashMap<>(Map.of("cniVersion", "1.0.0", "type", "bridge", "bridge", "na-br0"));
            List<String> nodeBefore = linkNames(node1);
            List<String> seenInPod = new ArrayList<>();
            // Deterministic: the namespace is deleted right after the interface was created in it.
            onNode1.onStep(step -> {
                if (step.equals("created")) {
                    seenInPod.addAll(linkNames(podNs));
                    NetnsLab.run("ip", "netns", "del", podNs);
                }
            });
            AttachException e = assertThrows(AttachException.class, () ->
                    onNode1.attach(path(podNs), pod("p1"), request(conf, "net1", null, "10.10.0.11/24")), kind);
            onNode1.onStep(step -> { });
            assertTrue(seenInPod.contains("net1"), kind + ": the interface existed when the namespace was deleted: " + seenInPod);
            assertEquals("NotFound", e.reason(), e.getMessage());
            assertTrue(e.getMessage().contains("was deleted during the attach"), e.getMessage());
            List<String> nodeAfter = linkNames(node1);
            nodeAfter.remove("na-br0"); // the bridge itself stays, as the reference plugin leaves it
            nodeBefore.remove("na-br0");
            assertEquals(nodeBefore, nodeAfter, kind + ": nothing left on the node (no host veth)");
        }
    }

    @Test
    void ipvlanIsMadeWhereTheKernelHasIt() {
        String podNs = lab.netns("p1");
        Map<String, Object> conf = new HashMap<>(Map.of("cniVersion", "1.0.0", "type", "ipvlan", "master", "eth1", "mode", "l2"));
        AttachmentRequest req = new AttachmentRequest("default/ipv", "net1", conf, List.of("10.10.0.21/24"), List.of(), List.of(), null, false);
        List<String> nodeBefore = linkNames(node1);
        try {
            onNode1.attach(path(podNs), pod("p1"), req);
        } catch (AttachException e) {
            assertEquals(nodeBefore, linkNames(node1), "nothing left behind");
            if (e.getMessage().contains("EOPNOTSUPP")) {
                assertEquals("Unsupported", e.reason(), "a kind the kernel lacks is told apart from other failures: " + e.getMessage());
                assertTrue(e.getMessage().contains("cannot make ipvlan interfaces"), e.getMessage());
                abort("kernel refuses ipvlan: " + e.getMessage());
            }
            throw e;
        }
        assertEquals("ipvlan", ipJson(podNs, "link", "show", "net1").get(0).at("/linkinfo/info_kind").asText());
        assertEquals("l2", ipJson(podNs, "link", "show", "net1").get(0).at("/linkinfo/info_data/mode").asText());
    }

    @Test
    void vlanIsMadeWhereTheKernelHasIt() {
        String podNs = lab.netns("p1");
        Map<String, Object> conf = new HashMap<>(Map.of("cniVersion", "1.0.0", "type", "vlan", "master", "eth1", "vlanId", 42));
        AttachmentRequest req = new AttachmentRequest("default/vl", "net1", conf, List.of("10.10.0.31/24"), List.of(), List.of(), null, false);
        List<String> nodeBefore = linkNames(node1);
        try {
            onNode1.attach(path(podNs), pod("p1"), req);
        } catch (AttachException e) {
            assertEquals(nodeBefore, linkNames(node1), "nothing left behind");
            if (e.getMessage().contains("EOPNOTSUPP")) {
                assertEquals("Unsupported", e.reason(), "a kind the kernel lacks is told apart from other failures: " + e.getMessage());
                assertTrue(e.getMessage().contains("cannot make vlan interfaces"), e.getMessage());
                abort("kernel refuses vlan: " + e.getMessage());
            }
            throw e;
        }
        assertEquals(42, ipJson(podNs, "link", "show", "net1").get(0).at("/linkinfo/info_data/id").asInt());
    }

    /** The interface as iproute2 shows it, minus what legitimately differs (index, name of the master's peer). */
    private static String state(String podNs, boolean withMac) {
        JsonNode l = ipJson(podNs, "link", "show", "net1").get(0);
        List<String> addrs = new ArrayList<>();
        ipJson(podNs, "addr", "show", "dev", "net1").get(0).get("addr_info").forEach(a -> {
            if (!a.get("scope").asText().equals("link")) addrs.add(a.get("local").asText() + "/" + a.get("prefixlen").asInt());
        });
        List<String> routes = new ArrayList<>();
        ipJson(podNs, "route", "show", "dev", "net1").forEach(r -> routes.add(r.get("dst").asText() + " via " + r.path("gateway").asText("-")));
        ipJson(podNs, "-6", "route", "show", "dev", "net1").forEach(r -> {
            if (!r.get("dst").asText().startsWith("fe80")) routes.add(r.get("dst").asText() + " via " + r.path("gateway").asText("-"));
        });
        return "kind=" + l.at("/linkinfo/info_kind").asText() + " mode=" + l.at("/linkinfo/info_data/mode").asText()
                + " mtu=" + l.get("mtu").asInt() + " up=" + l.get("flags").toString().contains("\"UP\"")
                + (withMac ? " mac=" + l.get("address").asText() : "")
                + " addrs=" + new TreeSet<>(addrs) + " routes=" + new TreeSet<>(routes);
    }

    @Test
    void theReferenceMacvlanPluginAndTheNativePathGiveTheSameInterface() {
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isExecutable(java.nio.file.Path.of("/usr/lib/cni/macvlan")),
                "reference plugins not installed in /usr/lib/cni (apt-get install containernetworking-plugins)");
        String nativePod = lab.netns("pa"), pluginPod = lab.netns("pb");
        Map<String, Object> conf = macvlan("eth1", "vepa", 1400);
        conf.put("name", "net-a");
        conf.put("ipam", Map.of("type", "host-local", "subnet", "10.10.0.0/24")); // replaced by static addresses from ipam-service
        AttachmentRequest a = new AttachmentRequest("default/net-a", "net1", conf, List.of("10.10.0.41/24", "fd10::41/64"),
                List.of("10.10.0.1"), List.of(new RouteRequest("10.20.0.0/16", null), new RouteRequest("0.0.0.0/0", null)), null, true);
        AttachmentRequest b = new AttachmentRequest("default/net-a", "net1", conf, List.of("10.10.0.42/24", "fd10::42/64"),
                List.of("10.10.0.1"), List.of(new RouteRequest("10.20.0.0/16", null), new RouteRequest("0.0.0.0/0", null)), null, true);
        onNode1.attach(path(nativePod), pod("pa"), a);
        PodInterfaces viaPlugin = new PodInterfaces(nsThread, path(node1), java.nio.file.Path.of("/usr/lib/cni"), Set.of("macvlan"));
        try {
            InterfaceReport made = viaPlugin.attach(path(pluginPod), pod("pb"), b);
            assertNull(made.error());
            assertEquals(state(nativePod, false).replace("41", "NN"), state(pluginPod, false).replace("42", "NN"));
            assertTrue(state(pluginPod, false).contains("10.20.0.0/16 via 10.10.0.1"), "a route without gw goes via the IPAM gateway: " + state(pluginPod, false));
            assertTrue(state(pluginPod, false).contains("default via 10.10.0.1"), state(pluginPod, false));
            assertEquals(List.of("net1"), viaPlugin.detach(path(pluginPod), pod("pb"), null));
            assertEquals(List.of("lo"), linkNames(pluginPod));
        } finally {
            viaPlugin.close();
        }
    }

    @Test
    void aConflistIsRunPluginByPluginWithPrevResultAndCapabilities() {
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isExecutable(java.nio.file.Path.of("/usr/lib/cni/tuning")),
                "reference plugins not installed in /usr/lib/cni");
        String podNs = lab.netns("pc");
        Map<String, Object> conflist = Map.of("cniVersion", "1.0.0", "name", "net-t", "plugins", List.of(
                Map.of("type", "macvlan", "master", "eth1", "mode", "bridge", "ipam", Map.of("type", "host-local", "subnet", "10.10.0.0/24")),
                Map.of("type", "tuning", "capabilities", Map.of("mac", true), "sysctl", Map.of("net.ipv4.conf.net1.arp_ignore", "1"))));
        AttachmentRequest req = new AttachmentRequest("default/net-t", "net1", conflist, List.of("10.10.0.51/24"), List.of("10.10.0.1"),
                List.of(), "02:aa:00:00:00:51", false);
        PodInterfaces viaPlugins = new PodInterfaces(nsThread, path(node1), java.nio.file.Path.of("/usr/lib/cni"), Set.of());
        try {
            InterfaceReport made = viaPlugins.attach(path(podNs), pod("pc"), req);
            assertEquals("02:aa:00:00:00:51", made.mac(), "tuning applied runtimeConfig.mac (capability mac)");
            assertEquals(List.of("10.10.0.51/24"), made.ips(), "static IPAM with ipam-service's address");
            assertEquals("1", NetnsLab.run("ip", "netns", "exec", podNs, "cat", "/proc/sys/net/ipv4/conf/net1/arp_ignore").trim());
            assertEquals(List.of("net1"), viaPlugins.detach(path(podNs), pod("pc"), null));
            assertEquals(List.of("lo"), linkNames(podNs));
        } finally {
            viaPlugins.close();
        }
    }

    @Test
    void anUnknownPluginTypeIsAClearErrorAndLeavesNothing() {
        String podNs = lab.netns("pu");
        Map<String, Object> conf = Map.of("cniVersion", "1.0.0", "type", "no-such-plugin");
        PodInterfaces viaPlugins = new PodInterfaces(nsThread, path(node1), java.nio.file.Path.of("/usr/lib/cni"), Set.of());
        try {
            AttachException e = assertThrows(AttachException.class, () -> viaPlugins.attach(path(podNs), pod("pu"),
                    new AttachmentRequest("default/x", "net1", conf, List.of(), List.of(), List.of(), null, false)));
            assertEquals("NotFound", e.reason());
            assertTrue(e.getMessage().contains("CNI plugin \"no-such-plugin\" not found in /usr/lib/cni"), e.getMessage());
            assertEquals(List.of("lo"), linkNames(podNs));
        } finally {
            viaPlugins.close();
        }
    }

    @Test
    void hostDeviceMovesIntoThePodAndBackOnDetach() {
        String podNs = lab.netns("p1");
        NetnsLab.run("ip", "-n", node1, "link", "add", "hostdev0", "type", "veth", "peer", "name", "hostdev0p");
        Map<String, Object> conf = new HashMap<>(Map.of("cniVersion", "1.0.0", "type", "host-device", "device", "hostdev0"));
        AttachmentRequest req = new AttachmentRequest("default/hd", "net5", conf, List.of("10.40.0.5/24"), List.of(), List.of(), null, false);
        onNode1.attach(path(podNs), pod("p1"), req);
        assertTrue(linkNames(podNs).contains("net5"));
        assertFalse(linkNames(node1).contains("hostdev0"));
        onNode1.detach(path(podNs), pod("p1"), null);
        assertEquals(List.of("lo"), linkNames(podNs));
        assertTrue(linkNames(node1).contains("hostdev0"), "device returned under its original name");
    }
}
