package io.netattach.attach.orchestration;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.netattach.attach.kube.ClusterView;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The whole attach flow against the real Kafka broker (stand-ins answer for policy, IPAM and node) and the
 * fabric8 mock API server holding pods, NADs and Events.
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true)
class AttachFlowTest {
    static final String NETWORKS = "k8s.v1.cni.cncf.io/networks";
    static final String STATUS = "k8s.v1.cni.cncf.io/network-status";
    static final String MACVLAN = """
            { "cniVersion": "0.3.1", "type": "macvlan", "master": "eth0", "mode": "bridge",
              "ipam": { "type": "host-local", "subnet": "192.168.1.0/24", "rangeStart": "192.168.1.200",
                        "rangeEnd": "192.168.1.250", "gateway": "192.168.1.1" } }""";
    static final String IPVLAN = """
            { "cniVersion": "0.3.1", "type": "ipvlan", "master": "eth1",
              "ipam": { "type": "host-local", "subnet": "10.10.0.0/24", "rangeStart": "10.10.0.100", "rangeEnd": "10.10.0.200" } }""";
    static final String BRIDGE = """
            { "cniVersion": "0.3.1", "type": "bridge", "bridge": "mybridge", "ipam": { "type": "host-local", "subnet": "10.20.0.0/24" } }""";

    static StandIns standIns;

    @Inject KubernetesClient client;
    @Inject PodReconciler reconciler;
    @Inject io.netattach.attach.kube.ClusterView clusterView;
    final ObjectMapper json = new ObjectMapper();

    @BeforeEach
    void standIns() {
        if (standIns == null) {
            var config = ConfigProvider.getConfig();
            standIns = new StandIns(config.getValue("kafka.bootstrap.servers", String.class), config.getValue("netattach.kafka.topic-suffix", String.class));
        }
    }

    @org.junit.jupiter.api.AfterEach
    void everyMessageMatchesTheContract() {
        assertEquals(List.of(), List.copyOf(standIns.violations), "messages that violate docs/asyncapi.yaml");
    }

    @AfterAll
    static void stop() {
        if (standIns != null) standIns.close();
        standIns = null;
    }

    @Test
    void seedTripleNetPodGetsNetworkStatusThroughPolicyIpamAndNode() throws Exception {
        nad("seed", "macvlan-conf", MACVLAN, "intel.com/sriov_netdevice");
        nad("seed", "ipvlan-conf", IPVLAN, null);
        nad("seed", "bridge-conf", BRIDGE, null);
        String uid = pod("seed", "triple-net-pod", "node-a", "macvlan-conf, ipvlan-conf, bridge-conf");

        List<JsonNode> status = awaitStatus("seed", "triple-net-pod", 3);
        assertEquals(List.of("seed/macvlan-conf", "seed/ipvlan-conf", "seed/bridge-conf"), status.stream().map(s -> s.path("name").asText()).toList());
        // first the cluster network, from the node's sandbox (the chain's prevResult), as Multus writes it
        List<JsonNode> all = status("seed", "triple-net-pod");
        assertEquals(4, all.size());
        JsonNode clusterNetwork = all.getFirst();
        assertEquals("k8s-pod-network", clusterNetwork.path("name").asText());
        assertEquals("eth0", clusterNetwork.path("interface").asText());
        assertEquals("10.244.0.5", clusterNetwork.path("ips").get(0).asText());
        assertEquals("0a:58:0a:f4:00:05", clusterNetwork.path("mac").asText());
        assertTrue(clusterNetwork.path("default").asBoolean());
        // only the fields of NPWG spec v1.3 section 4.1.2, in every entry
        Set<String> specFields = Set.of("name", "interface", "ips", "mac", "mtu", "default", "dns", "gateway", "device-info");
        for (JsonNode e : all) {
            e.fieldNames().forEachRemaining(f -> assertTrue(specFields.contains(f), "field \"" + f + "\" is not in the spec: " + e));
        }
        assertTrue(status.stream().noneMatch(e -> e.path("default").asBoolean(false)), "default marks the cluster network only, as Multus writes it");
        assertEquals(List.of("net1", "net2", "net3"), status.stream().map(s -> s.path("interface").asText()).toList());
        for (JsonNode s : status) {
            assertTrue(s.path("ips").get(0).asText().matches("10\\.9\\.0\\.\\d+"), s.toString()); // no prefix length
            assertTrue(s.path("mac").asText().startsWith("02:42:ac"), s.toString());
            assertEquals(1500, s.path("mtu").asInt());
            assertEquals("10.9.0.1", s.path("gateway").get(0).asText());
        }

        String cluster = ConfigProvider.getConfig().getValue("netattach.cluster-id", String.class);
        List<StandIns.Received> policy = standIns.of("io.netattach.policy.request", uid);
        assertEquals(1, policy.stream().map(r -> r.data().path("requestId").asText()).distinct().count());
        StandIns.Received p = policy.getFirst();
        assertEquals(uid, p.key());
        assertEquals("application/cloudevents+json", p.headers().get("content-type"), "the CloudEvents binding's structured mode");
        assertEnvelope(p.event(), cluster);
        assertEquals(cluster, p.data().path("cluster").asText());
        assertEquals("triple-net-pod", p.data().path("pod").path("name").asText());
        assertEquals(3, p.data().path("selections").size());
        assertEquals("net2", p.data().path("selections").get(1).path("interface").asText());

        List<StandIns.Received> alloc = standIns.of("io.netattach.ipam.allocate", uid);
        assertEquals(3, alloc.size());
        JsonNode first = alloc.stream().filter(r -> r.data().path("owner").path("interface").asText().equals("net1")).findFirst().orElseThrow().data();
        assertEquals("seed/macvlan-conf", first.path("network").asText());
        assertEquals("192.168.1.0/24", first.path("ipam").path("subnet").asText());
        assertEquals("host-local", first.path("ipam").path("type").asText());
        JsonNode owner = first.path("owner");
        assertEquals(List.of(cluster, "seed", "triple-net-pod", uid), List.of(owner.path("cluster").asText(), owner.path("namespace").asText(), owner.path("pod").asText(), owner.path("podUid").asText()));
        assertTrue(first.path("requestId").asText().startsWith("alloc/" + cluster + "/" + uid + "/net1/"));

        List<StandIns.Received> attach = standIns.of("io.netattach.node.attach", uid);
        assertEquals(1, attach.size());
        assertEquals("node-a", attach.getFirst().key());
        assertEquals("application/cloudevents+json", attach.getFirst().headers().get("content-type"));
        JsonNode a0 = attach.getFirst().data().path("attachments").get(0);
        assertEquals("macvlan", a0.path("cniConfig").path("type").asText());
        assertEquals("macvlan-conf", a0.path("cniConfig").path("name").asText()); // filled from the NAD name
        assertEquals("intel.com/sriov_netdevice", a0.path("resourceName").asText());
        assertEquals("net1", a0.path("interface").asText());
        assertEquals("10.8.0.0/16", a0.path("routes").get(0).path("dst").asText());
        assertFalse(a0.path("defaultRoute").asBoolean());
        assertTrue(attach.getFirst().data().path("attachments").get(1).path("resourceName").isNull());

        awaitTrue(() -> standIns.of("io.netattach.attach.attached", uid).size() == 3, "3 audit events 'attached'");
        assertEquals("attached", standIns.of("io.netattach.attach.attached", uid).getFirst().data().path("outcome").asText());
        awaitTrue(() -> event("seed", uid, "AddedInterface").isPresent(), "an AddedInterface event");
    }

    @Test
    void theActiveReplicaHoldsTheLease() throws Exception {
        var lease = await(() -> Optional.ofNullable(client.resources(io.fabric8.kubernetes.api.model.coordination.v1.Lease.class)
                .inNamespace("netattach-system").withName("netattach-attach-service").get()), "the leader Lease");
        assertFalse(lease.getSpec().getHolderIdentity().isBlank());
        assertEquals(15, lease.getSpec().getLeaseDurationSeconds());
    }

    @Test
    void staticAddressCustomNameMacAndDefaultRouteFromJsonReachIpamNodeAndStatus() throws Exception {
        nad("static", "macvlan-conf", MACVLAN, null);
        String uid = pod("static", "static-ip-pod", "node-a", """
                [ { "name": "macvlan-conf", "ips": ["192.168.1.100/24"], "interface": "storage",
                    "mac": "02:00:00:00:00:aa", "default-route": ["192.168.1.1"],
                    "infiniband-guid": "c2:11:22:33:44:55:66:77", "ipam-claim-reference": "claim-storage",
                    "cni-args": {"vlan": "10"}, "bandwidth": {"ingressRate": 1000},
                    "portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}] } ]""");
        List<JsonNode> status = awaitStatus("static", "static-ip-pod", 1);
        JsonNode s = status.getFirst();
        assertEquals("storage", s.path("interface").asText());
        assertEquals("192.168.1.100", s.path("ips").get(0).asText());
        assertEquals("02:00:00:00:00:aa", s.path("mac").asText());
        assertFalse(s.has("default"), "the default route is there, but default marks the cluster network's entry: " + s);
        assertEquals("192.168.1.1", s.path("gateway").get(0).asText());
        JsonNode alloc = standIns.of("io.netattach.ipam.allocate", uid).getFirst().data();
        assertEquals("192.168.1.100/24", alloc.path("ips").get(0).asText());
        JsonNode att = standIns.of("io.netattach.node.attach", uid).getFirst().data().path("attachments").get(0);
        assertEquals("02:00:00:00:00:aa", att.path("mac").asText());
        assertTrue(att.path("defaultRoute").asBoolean());
        assertEquals("192.168.1.1", att.path("gateways").get(0).asText());
        assertEquals("c2:11:22:33:44:55:66:77", att.path("infinibandGuid").asText());
        assertEquals("10", att.path("cniArgs").path("vlan").asText());
        assertEquals(1000, att.path("bandwidth").path("ingressRate").asInt());
        assertEquals(80, att.path("portMappings").get(0).path("containerPort").asInt());
        assertEquals("claim-storage", alloc.path("ipamClaimReference").asText());
    }

    @Test
    void missingNadRaisesNetworkNotFoundThenAttachesWhenItAppears() throws Exception {
        String uid = pod("late", "waiting-pod", "node-b", "late-net");
        Event e = await(() -> event("late", uid, "NetworkNotFound"), "a NetworkNotFound event");
        JsonNode blocked = await(() -> standIns.of("io.netattach.node.blocked", uid).stream().findFirst(), "a node notice").data();
        assertEquals("late/late-net", blocked.path("network").asText());
        assertEquals("NetworkNotFound", blocked.path("reason").asText());
        assertTrue(blocked.path("definitive").asBoolean(), "the ADD fails now, naming the NAD; the kubelet retries");
        assertEquals("Warning", e.getType());
        assertTrue(e.getMessage().contains("\"late-net\" not found in namespace \"late\""), e.getMessage());
        assertTrue(e.getMessage().contains("interface net1"), e.getMessage());
        assertTrue(standIns.of("io.netattach.policy.request", uid).isEmpty(), "no policy request before the NAD exists");

        nad("late", "late-net", BRIDGE, null);
        List<JsonNode> status = awaitStatus("late", "waiting-pod", 1);
        assertEquals("late/late-net", status.getFirst().path("name").asText());
    }

    @Test
    void aPodBeingDeletedGetsNothingAttachedWhenItsNadAppears() throws Exception {
        // both wait for the same missing NAD; one is then deleted but held by a finalizer (graceful deletion)
        String going = pod("leaving", "terminating-pod", "node-t", "later-net");
        String staying = pod("leaving", "staying-pod", "node-t", "later-net");
        await(() -> event("leaving", going, "NetworkNotFound"), "a NetworkNotFound event on the pod to be deleted");
        await(() -> event("leaving", staying, "NetworkNotFound"), "a NetworkNotFound event on the pod that stays");
        client.pods().inNamespace("leaving").withName("terminating-pod")
                .edit(p -> new PodBuilder(p).editMetadata().addToFinalizers("test.netattach.io/hold").endMetadata().build());
        client.pods().inNamespace("leaving").withName("terminating-pod").delete();
        awaitTrue(() -> pod("leaving", "terminating-pod").getMetadata().getDeletionTimestamp() != null, "the deletionTimestamp");
        awaitTrue(() -> reconcilerSawTerminating(going), "attach-service saw the deletionTimestamp");

        nad("leaving", "later-net", BRIDGE, null); // wakes both
        awaitStatus("leaving", "staying-pod", 1);
        assertTrue(standIns.of("io.netattach.ipam.allocate", going).isEmpty(), "no address for a pod being deleted");
        assertTrue(standIns.of("io.netattach.node.attach", going).isEmpty(), "no node command for a pod being deleted");
        client.pods().inNamespace("leaving").withName("terminating-pod")
                .edit(p -> new PodBuilder(p).editMetadata().withFinalizers(List.of()).endMetadata().build());
    }

    private boolean reconcilerSawTerminating(String uid) {
        return clusterView.terminating(uid);
    }

    @Test
    void denialRaisesAnEventAndSendsNoAllocationOrNodeCommand() throws Exception {
        nad("deny", "forbidden-net", BRIDGE, null);
        standIns.denied.add("deny/forbidden-net");
        String uid = pod("deny", "denied-pod", "node-a", "forbidden-net");
        Event e = await(() -> event("deny", uid, "NetworkDenied"), "a NetworkDenied event");
        assertTrue(e.getMessage().contains("may not use network \"deny/forbidden-net\""), e.getMessage());
        JsonNode audit = await(() -> standIns.of("io.netattach.attach.failed", uid).stream().findFirst(), "an audit event 'failed'").data();
        assertEquals("policy/netattach/deny-test", audit.path("rule").asText());
        assertEquals("net1", audit.path("interface").asText());
        // the event and the audit are emitted on the path that returns after the decision
        assertTrue(standIns.of("io.netattach.ipam.allocate", uid).isEmpty());
        assertTrue(standIns.of("io.netattach.node.attach", uid).isEmpty());
        assertNull(pod("deny", "denied-pod").getMetadata().getAnnotations().get(STATUS));
        // the pod's node hears why, so its CNI ADD fails with the reason and the pod does not start without the network
        JsonNode blocked = await(() -> standIns.of("io.netattach.node.blocked", uid).stream().findFirst(), "a node notice").data();
        assertEquals("node-a", standIns.of("io.netattach.node.blocked", uid).getFirst().key());
        assertEquals("deny/forbidden-net", blocked.path("network").asText());
        assertEquals("NetworkDenied", blocked.path("reason").asText());
        assertTrue(blocked.path("definitive").asBoolean());
        assertTrue(blocked.path("message").asText().contains("may not use network \"deny/forbidden-net\""), blocked.toString());

        // each new sandbox the kubelet tries reminds attach-service, which asks policy-service again (a policy may have changed)
        int asked = standIns.of("io.netattach.policy.request", uid).size();
        standIns.sandboxWaiting("node-a", "deny", "denied-pod", uid, "retry-1");
        awaitTrue(() -> standIns.of("io.netattach.policy.request", uid).size() > asked, "policy asked again");
        awaitTrue(() -> standIns.of("io.netattach.node.blocked", uid).size() == 2, "the node told again");
    }

    @Test
    void aReCreatedSandboxGetsItsNetworksAgainWithTheSameAddressesAndAFreshStatus() throws Exception {
        nad("recreate", "net-a", MACVLAN, null);
        String uid = pod("recreate", "restarted-pod", "node-r", "net-a");
        JsonNode before = awaitStatus("recreate", "restarted-pod", 1).getFirst();
        assertEquals(1, standIns.of("io.netattach.node.attach", uid).size());

        // the runtime re-creates the sandbox (a node reboot, a runtime restart): the node reports it waiting
        standIns.sandboxWaiting("node-r", "recreate", "restarted-pod", uid, "sandbox-2");
        awaitTrue(() -> standIns.of("io.netattach.node.attach", uid).size() == 2, "the networks attached again");
        List<StandIns.Received> attaches = standIns.of("io.netattach.node.attach", uid);
        assertEquals(attaches.get(0).data().path("attachments").get(0).path("ips"), attaches.get(1).data().path("attachments").get(0).path("ips"),
                "the same addresses");
        JsonNode after = awaitStatus("recreate", "restarted-pod", 1).getFirst();
        assertEquals(before.path("ips"), after.path("ips"));

        // a report of the sandbox it was just attached in changes nothing
        standIns.sandboxWaiting("node-r", "recreate", "restarted-pod", uid, "sandbox-2");
        nad("recreate", "marker", BRIDGE, null);
        String other = pod("recreate", "later-pod", "node-r", "marker");
        awaitStatus("recreate", "later-pod", 1); // the queue has moved on past the second report
        assertEquals(2, standIns.of("io.netattach.node.attach", uid).size());
        assertTrue(!other.isEmpty());
    }

    @Test
    void policyUnavailableIsRetriedWithAnEventSayingSoNotDeniedThenAttaches() throws Exception {
        nad("unavail", "flaky-net", BRIDGE, null);
        standIns.unavailable.add("unavail/flaky-net");
        String uid = pod("unavail", "waits-for-policy", "node-a", "flaky-net");
        Event e = await(() -> event("unavail", uid, "PolicyUnavailable"), "a PolicyUnavailable event");
        assertTrue(e.getMessage().contains("not denied"), e.getMessage());
        assertTrue(e.getMessage().contains("policy unavailable: rbac"), e.getMessage());
        // asked again with backoff (same request id), still no allocation, no denial
        awaitTrue(() -> standIns.of("io.netattach.policy.request", uid).size() >= 2, "the policy request asked again");
        assertTrue(event("unavail", uid, "NetworkDenied").isEmpty());
        assertTrue(standIns.of("io.netattach.ipam.allocate", uid).isEmpty());
        assertTrue(standIns.of("io.netattach.attach.failed", uid).isEmpty());

        standIns.unavailable.remove("unavail/flaky-net");
        List<JsonNode> status = awaitStatus("unavail", "waits-for-policy", 1);
        assertEquals("unavail/flaky-net", status.getFirst().path("name").asText());
        assertEquals(1, standIns.of("io.netattach.policy.request", uid).stream().map(r -> r.data().path("requestId").asText()).distinct().count());
    }

    @Test
    void theLeaderSendsIpamReconcileWithEveryLivePodAndLeakedAddressesAreReleased() throws Exception {
        nad("sweep", "swept-net", BRIDGE, null);
        String uid = pod("sweep", "alive", "node-a", "swept-net");
        awaitStatus("sweep", "alive", 1);
        // an address whose owner pod is gone without a release (e.g. deleted while attach-service was down)
        standIns.allocations.put("00000000-dead-0000-0000-000000000000/net1", "10.9.0.250/24");
        long before = standIns.of("io.netattach.ipam.reconcile", null).size();
        StandIns.Received r = await(() -> standIns.received.stream()
                .filter(x -> x.event().path("type").asText().equals("io.netattach.ipam.reconcile"))
                .skip(before).findFirst(), "an io.netattach.ipam.reconcile after the leak");
        String cluster = ConfigProvider.getConfig().getValue("netattach.cluster-id", String.class);
        assertEnvelope(r.event(), cluster);
        assertEquals(cluster, r.key());
        assertEquals(standIns.t("netattach.ipam.requests"), r.topic());
        assertEquals(cluster, r.data().path("cluster").asText());
        List<String> live = new java.util.ArrayList<>();
        r.data().path("liveOwners").forEach(n -> live.add(n.asText()));
        assertTrue(live.contains(uid), "live owners " + live + " lack the running pod " + uid);
        assertFalse(live.contains("00000000-dead-0000-0000-000000000000"));
        java.util.Set<String> expected = new java.util.HashSet<>();
        client.pods().inAnyNamespace().list().getItems().forEach(p -> expected.add(p.getMetadata().getUid()));
        assertTrue(expected.containsAll(live), "only existing pods are live: " + live + " vs " + expected);
        java.time.Instant snapshot = java.time.Instant.parse(r.data().path("snapshotTime").asText());
        assertFalse(snapshot.isAfter(java.time.Instant.parse(r.event().path("time").asText())), "snapshotTime is taken before sending");
        assertTrue(AsyncApiContract.violations(r.event()).isEmpty(), AsyncApiContract.violations(r.event()).toString());
        awaitTrue(() -> !standIns.allocations.containsKey("00000000-dead-0000-0000-000000000000/net1"), "the leaked address released");
        assertTrue(standIns.allocations.containsKey(uid + "/net1"), "the live pod keeps its address");
    }

    @Test
    void theSweepSparesADeletedPodWhoseNodeHasNotConfirmedTheDetachAndTheTeardownReleasesItAfter() throws Exception {
        nad("sweep-td", "swept-net", BRIDGE, null);
        String uid = pod("sweep-td", "leaving-slowly", "node-a", "swept-net");
        awaitStatus("sweep-td", "leaving-slowly", 1);
        standIns.nodeDetachSilentFor.add("leaving-slowly");
        client.pods().inNamespace("sweep-td").withName("leaving-slowly").delete();
        await(() -> standIns.of("io.netattach.node.detach", uid).stream().findFirst(), "the teardown's node detach");
        // a sweep while the node has not confirmed: the pod is gone from the API but counted live, its address kept
        long before = standIns.of("io.netattach.ipam.reconcile", null).size();
        StandIns.Received r = await(() -> standIns.received.stream()
                .filter(x -> x.event().path("type").asText().equals("io.netattach.ipam.reconcile"))
                .skip(before).findFirst(), "a reconcile during the teardown");
        List<String> live = new java.util.ArrayList<>();
        r.data().path("liveOwners").forEach(n -> live.add(n.asText()));
        assertTrue(live.contains(uid), "the pod being torn down is spared: " + live);
        assertTrue(standIns.allocations.containsKey(uid + "/net1"), "its address is still held while the node has not confirmed");
        assertTrue(standIns.of("io.netattach.ipam.release", uid).isEmpty(), "not released before the node answered or timed out");
        // the node answers again: the teardown finishes and releases
        standIns.nodeDetachSilentFor.remove("leaving-slowly");
        awaitTrue(() -> !standIns.allocations.containsKey(uid + "/net1"), "released by the teardown");
        awaitTrue(() -> !standIns.of("io.netattach.attach.detached", uid).isEmpty(), "an audit event 'detached'");
    }

    @Test
    void nodeFailureDetachesAndReleasesThenARetrySucceeds() throws Exception {
        nad("fail", "macvlan-conf", MACVLAN, null);
        standIns.nodeFailsFor.add("unlucky-pod");
        String uid = pod("fail", "unlucky-pod", "node-c", "macvlan-conf");
        Event e = await(() -> event("fail", uid, "AttachFailed"), "an AttachFailed event");
        assertTrue(e.getMessage().contains("master \"eth9\" not found"), e.getMessage());
        JsonNode release = await(() -> standIns.of("io.netattach.ipam.release", uid).stream().findFirst(), "a compensating IPAM release").data();
        assertEquals("net1", release.path("owner").path("interface").asText());
        JsonNode detach = await(() -> standIns.of("io.netattach.node.detach", uid).stream().findFirst(), "a compensating node detach").data();
        assertEquals("net1", detach.path("interfaces").get(0).asText());
        awaitTrue(() -> !standIns.of("io.netattach.attach.failed", uid).isEmpty(), "an audit event 'failed'");
        assertNull(pod("fail", "unlucky-pod").getMetadata().getAnnotations().get(STATUS));

        standIns.nodeFailsFor.remove("unlucky-pod");
        awaitStatus("fail", "unlucky-pod", 1); // the backoff retry goes through once the node is fine
    }

    @Test
    void aKindTheNodeKernelLacksIsLeftOutWithAnEventTheOthersAttachAndItsAddressGoesBack() throws Exception {
        nad("lacking", "macvlan-conf", MACVLAN, null);
        nad("lacking", "ipvlan-conf", IPVLAN, null);
        nad("lacking", "bridge-conf", BRIDGE, null);
        standIns.kernelLacks.add("lacking/ipvlan-conf");
        String uid = pod("lacking", "triple-net-pod", "node-k", "macvlan-conf, ipvlan-conf, bridge-conf");

        List<JsonNode> status = awaitStatus("lacking", "triple-net-pod", 2);
        assertEquals(List.of("net1", "net3"), status.stream().map(s -> s.path("interface").asText()).toList());
        JsonNode attach = standIns.of("io.netattach.node.attach", uid).getFirst().data();
        assertTrue(attach.path("attachments").get(1).path("skipIfUnsupported").asBoolean(), "the command allows the node to leave it out");
        JsonNode skipped = json.readTree(pod("lacking", "triple-net-pod").getMetadata().getAnnotations().get("netattach.io/skipped-networks"));
        assertEquals(1, skipped.size());
        assertEquals("lacking/ipvlan-conf", skipped.get(0).path("name").asText());
        assertEquals("net2", skipped.get(0).path("interface").asText());
        assertEquals("node-k", skipped.get(0).path("node").asText());
        assertTrue(skipped.get(0).path("reason").asText().contains("EOPNOTSUPP"), skipped.toString());

        Event e = await(() -> event("lacking", uid, "InterfaceSkipped"), "an InterfaceSkipped event");
        assertEquals("Warning", e.getType());
        assertTrue(e.getMessage().startsWith("net2 (lacking/ipvlan-conf) left out: node node-k cannot make it: ") && e.getMessage().contains("ipvlan"), e.getMessage());
        JsonNode audit = await(() -> standIns.of("io.netattach.attach.skipped", uid).stream().findFirst(), "an audit event 'skipped'").data();
        assertEquals("net2", audit.path("interface").asText());
        awaitTrue(() -> standIns.of("io.netattach.attach.attached", uid).size() == 2, "2 audit events 'attached'");
        awaitTrue(() -> !standIns.allocations.containsKey(uid + "/net2"), "net2's address released");
        assertTrue(standIns.allocations.containsKey(uid + "/net1") && standIns.allocations.containsKey(uid + "/net3"));
        assertTrue(standIns.of("io.netattach.node.detach", uid).isEmpty(), "nothing to undo on the node");

        // settled: our own status write woke the pod again, and net2 was not asked for again (checked below, once
        // the next change has been handled: one reconcile per pod at a time, in order)
        annotate("lacking", "triple-net-pod", "macvlan-conf, bridge-conf@net3");
        // net2 no longer asked for: its skipped entry goes, nothing else changes
        awaitTrue(() -> pod("lacking", "triple-net-pod").getMetadata().getAnnotations().get("netattach.io/skipped-networks") == null,
                "the skipped entry forgotten once net2 is no longer asked for");
        assertEquals(1, standIns.of("io.netattach.node.attach", uid).size(), "no attach command after the first: " + standIns.of("io.netattach.node.attach", uid));
        assertEquals(2, awaitStatus("lacking", "triple-net-pod", 2).size());
    }

    @Test
    void anUnansweredNodeCommandIsResentWithTheSameRequestId() throws Exception {
        nad("slow", "bridge-conf", BRIDGE, null);
        standIns.nodeSilentOnceFor.add("patient-pod");
        String uid = pod("slow", "patient-pod", "node-f", "bridge-conf");
        awaitStatus("slow", "patient-pod", 1);
        List<StandIns.Received> attach = standIns.of("io.netattach.node.attach", uid);
        assertEquals(2, attach.size(), "the command was sent again after the node timeout");
        assertEquals(attach.get(0).event().path("id").asText(), attach.get(1).event().path("id").asText());
        assertEquals(1, standIns.of("io.netattach.ipam.allocate", uid).size(), "IPAM was not asked twice");
        assertTrue(standIns.of("io.netattach.ipam.release", uid).isEmpty(), "nothing to compensate");
    }

    @Test
    void aControllerRestartHalfWayResumesWithTheSameRequests() throws Exception {
        nad("resume", "macvlan-conf", MACVLAN, null);
        nad("resume", "bridge-conf", BRIDGE, null);
        standIns.nodeSilentFor.add("interrupted-pod");
        String uid = pod("resume", "interrupted-pod", "node-g", "macvlan-conf, bridge-conf");
        awaitTrue(() -> !standIns.of("io.netattach.node.attach", uid).isEmpty(), "the node command of the first run");
        reconciler.handOver(); // all in-memory state gone, as after a restart or a leader change
        standIns.nodeSilentFor.remove("interrupted-pod");
        awaitStatus("resume", "interrupted-pod", 2);
        assertEquals(1, standIns.of("io.netattach.policy.request", uid).stream().map(r -> r.event().path("id").asText()).distinct().count());
        assertEquals(1, standIns.of("io.netattach.node.attach", uid).stream().map(r -> r.event().path("id").asText()).distinct().count());
        assertEquals(2, standIns.of("io.netattach.ipam.allocate", uid).stream().map(r -> r.event().path("id").asText()).distinct().count());
        assertEquals(2, standIns.allocations.keySet().stream().filter(k -> k.startsWith(uid + "/")).count(), "no address allocated twice");
        assertTrue(standIns.of("io.netattach.ipam.release", uid).isEmpty(), "nothing released: the restart is not a failure");
    }

    @Test
    void duplicateAnswersAndReplayedPodEventsAreHarmless() throws Exception {
        nad("dup", "macvlan-conf", MACVLAN, null);
        standIns.duplicateFor.add("twice-pod");
        String uid = pod("dup", "twice-pod", "node-a", "macvlan-conf, macvlan-conf");
        awaitStatus("dup", "twice-pod", 2);
        // a replayed / unrelated update of the pod must not start another attach
        client.pods().inNamespace("dup").withName("twice-pod").edit(p -> new PodBuilder(p).editMetadata().addToLabels("touched", "yes").endMetadata().build());
        String other = pod("dup", "after-pod", "node-a", "macvlan-conf");
        awaitStatus("dup", "after-pod", 1);
        assertEquals(1, standIns.of("io.netattach.node.attach", uid).size());
        assertEquals(1, standIns.of("io.netattach.policy.request", uid).size());
        assertEquals(2, standIns.allocations.keySet().stream().filter(k -> k.startsWith(uid + "/")).count());
        assertEquals(2, awaitStatus("dup", "twice-pod", 2).size());
        assertFalse(other.equals(uid));
    }

    @Test
    void podDeletionDetachesAndReleasesEvenWhenTheNadIsGone() throws Exception {
        nad("del", "macvlan-conf", MACVLAN, null);
        String uid = pod("del", "short-lived", "node-d", "macvlan-conf");
        awaitStatus("del", "short-lived", 1);
        client.genericKubernetesResources(ClusterView.NAD).inNamespace("del").withName("macvlan-conf").delete();
        client.pods().inNamespace("del").withName("short-lived").delete();
        StandIns.Received detach = await(() -> standIns.of("io.netattach.node.detach", uid).stream().findFirst(), "a node detach");
        assertEquals("node-d", detach.key());
        assertTrue(detach.data().path("interfaces").isNull(), "null = every interface of the pod");
        JsonNode release = await(() -> standIns.of("io.netattach.ipam.release", uid).stream().findFirst(), "an IPAM release").data();
        assertTrue(release.path("owner").path("interface").isNull());
        awaitTrue(() -> standIns.allocations.keySet().stream().noneMatch(k -> k.startsWith(uid + "/")), "no address left for the pod");
        JsonNode audit = await(() -> standIns.of("io.netattach.attach.detached", uid).stream().findFirst(), "an audit event 'detached'").data();
        assertEquals("net1", audit.path("interface").asText());
    }

    @Test
    void aDeletedNodeReleasesTheAddressesOfItsPodsAfterTheGracePeriod() throws Exception {
        client.nodes().resource(new io.fabric8.kubernetes.api.model.NodeBuilder().withNewMetadata().withName("node-z").endMetadata().build()).create();
        nad("orphan", "macvlan-conf", MACVLAN, null);
        String uid = pod("orphan", "stranded-pod", "node-z", "macvlan-conf");
        awaitStatus("orphan", "stranded-pod", 1);
        client.nodes().withName("node-z").delete();
        JsonNode release = await(() -> standIns.of("io.netattach.ipam.release", uid).stream().findFirst(), "an IPAM release").data();
        assertTrue(release.path("owner").path("interface").isNull());
        assertTrue(release.path("requestId").asText().endsWith("/node-gone"));
        awaitStatus("orphan", "stranded-pod", 0);
        JsonNode audit = await(() -> standIns.of("io.netattach.attach.detached", uid).stream().findFirst(), "an audit event 'detached'").data();
        assertEquals("node node-z deleted", audit.path("reason").asText());
        awaitTrue(() -> event("orphan", uid, "NodeGone").isPresent(), "a NodeGone event (written after the audit event)");
        assertTrue(standIns.of("io.netattach.node.detach", uid).isEmpty(), "no command to a node that is gone");
    }

    @Test
    void hotPlugAttachesAddedAndDetachesRemovedNetworks() throws Exception {
        nad("hot", "net-a", MACVLAN, null);
        nad("hot", "net-b", BRIDGE, null);
        String uid = pod("hot", "running-pod", "node-e", "net-a");
        awaitStatus("hot", "running-pod", 1);
        annotate("hot", "running-pod", "net-a, net-b");
        List<JsonNode> two = awaitStatus("hot", "running-pod", 2);
        assertEquals("hot/net-b", two.get(1).path("name").asText());
        assertEquals("net2", two.get(1).path("interface").asText());

        annotate("hot", "running-pod", "net-a");
        List<JsonNode> one = awaitStatus("hot", "running-pod", 1);
        assertEquals("net1", one.getFirst().path("interface").asText());
        JsonNode detach = await(() -> standIns.of("io.netattach.node.detach", uid).stream().findFirst(), "a node detach").data();
        assertEquals(List.of("net2"), List.of(detach.path("interfaces").get(0).asText()));
        assertEquals(1, detach.path("interfaces").size());
        JsonNode release = await(() -> standIns.of("io.netattach.ipam.release", uid).stream().findFirst(), "an IPAM release").data();
        assertEquals("net2", release.path("owner").path("interface").asText());
        awaitTrue(() -> standIns.of("io.netattach.attach.detached", uid).size() == 1, "one audit event 'detached'");
        assertTrue(standIns.allocations.containsKey(uid + "/net1"));
        assertFalse(standIns.allocations.containsKey(uid + "/net2"));
    }

    @Test
    void invalidAnnotationRaisesAnEventNamingTheProblem() throws Exception {
        String uid = pod("bad", "typo-pod", "node-a", "ns/name@if@x");
        Event e = await(() -> event("bad", uid, "InvalidNetworkSelection"), "an InvalidNetworkSelection event");
        assertTrue(e.getMessage().contains("element 1") && e.getMessage().contains("more than one '@'"), e.getMessage());
        assertTrue(standIns.of("io.netattach.policy.request", uid).isEmpty());
    }

    @Test
    void explainShowsSelectionsNadsDecisionDryRunAddressesAndTheNodeCommandWithoutActing() throws Exception {
        nad("explain", "macvlan-conf", MACVLAN, "intel.com/sriov_netdevice");
        String manifest = """
                {"apiVersion": "v1", "kind": "Pod",
                 "metadata": {"name": "what-if", "namespace": "explain",
                              "annotations": {"k8s.v1.cni.cncf.io/networks": "macvlan-conf@data0"}},
                 "spec": {"nodeName": "node-x", "containers": [{"name": "app", "image": "nginx:alpine"}]}}""";
        // explain reads the NAD cache, which learns of the new NAD through the informer a moment later
        String body = await(() -> {
            String b = io.restassured.RestAssured.given().contentType("application/json").body(manifest)
                    .when().post("/api/v1/explain").then().statusCode(200).extract().body().asString();
            return b.contains("\"found\":true") ? Optional.of(b) : Optional.empty();
        }, "explain to see the NAD");
        JsonNode r = json.readTree(body);
        assertEquals("data0", r.path("selections").get(0).path("interfaceName").asText());
        assertTrue(r.path("networks").get(0).path("found").asBoolean(), body);
        assertEquals("intel.com/sriov_netdevice", r.path("networks").get(0).path("resourceName").asText());
        assertTrue(r.path("policy").path("allowed").asBoolean(), body);
        JsonNode alloc = r.path("addresses").get(0).path("result");
        assertTrue(alloc.path("ok").asBoolean(), body);
        assertTrue(alloc.path("ips").get(0).asText().startsWith("10.9.0."), body);
        assertEquals("node-x", r.path("nodeCommand").path("node").asText());
        assertEquals("macvlan", r.path("nodeCommand").path("attachments").get(0).path("cniConfig").path("type").asText());
        assertTrue(r.path("outcome").asText().startsWith("would attach 1 interface(s) on node node-x"), body);
        String uid = r.path("pod").path("uid").asText();
        assertTrue(standIns.of("io.netattach.ipam.allocate", uid).getFirst().data().path("dryRun").asBoolean());
        assertTrue(standIns.of("io.netattach.node.attach", uid).isEmpty(), "explain sends no node command");
        assertTrue(standIns.allocations.keySet().stream().noneMatch(k -> k.startsWith(uid + "/")), "a dry run keeps no address");

        String missing = manifest.replace("macvlan-conf@data0", "nowhere-net");
        var r2 = json.readTree(io.restassured.RestAssured.given().contentType("application/json").body(missing)
                .when().post("/api/v1/explain").then().statusCode(200).extract().body().asString());
        assertFalse(r2.path("networks").get(0).path("found").asBoolean());
        assertTrue(r2.path("outcome").asText().contains("\"nowhere-net\" not found in namespace \"explain\""), r2.toString());
    }

    // ---- helpers -------------------------------------------------------------------------------------------

    private void nad(String ns, String name, String config, String resourceName) {
        var b = new GenericKubernetesResourceBuilder().withApiVersion("k8s.cni.cncf.io/v1").withKind("NetworkAttachmentDefinition")
                .withNewMetadata().withNamespace(ns).withName(name).endMetadata();
        if (resourceName != null) b.editMetadata().addToAnnotations("k8s.v1.cni.cncf.io/resourceName", resourceName).endMetadata();
        GenericKubernetesResource nad = b.build();
        nad.setAdditionalProperty("spec", Map.of("config", config));
        client.genericKubernetesResources(ClusterView.NAD).inNamespace(ns).resource(nad).create();
    }

    private String pod(String ns, String name, String node, String networks) {
        Pod pod = new PodBuilder().withNewMetadata().withNamespace(ns).withName(name).withUid(UUID.randomUUID().toString())
                .addToAnnotations(NETWORKS, networks).endMetadata()
                .withNewSpec().withNodeName(node).withServiceAccountName("default")
                .addNewContainer().withName("app").withImage("nicolaka/netshoot").endContainer().endSpec().build();
        return client.pods().inNamespace(ns).resource(pod).create().getMetadata().getUid();
    }

    private Pod pod(String ns, String name) {
        return client.pods().inNamespace(ns).withName(name).get();
    }

    private void annotate(String ns, String name, String networks) {
        client.pods().inNamespace(ns).withName(name).edit(p -> new PodBuilder(p).editMetadata().addToAnnotations(NETWORKS, networks).endMetadata().build());
    }

    /** The secondary networks' entries of network-status, once there are {@code entries} of them. */
    private List<JsonNode> awaitStatus(String ns, String name, int entries) throws Exception {
        return await(() -> {
            List<JsonNode> list = status(ns, name);
            List<JsonNode> secondary = list.stream().filter(e -> e.path("name").asText().contains("/")).toList();
            return !list.isEmpty() && secondary.size() == entries || list.isEmpty() && entries == 0 ? Optional.of(secondary) : Optional.empty();
        }, "network-status of " + ns + "/" + name + " with " + entries + " secondary entries");
    }

    /** The pod's whole network-status (empty when it has none). */
    private List<JsonNode> status(String ns, String name) {
        Pod p = pod(ns, name);
        String s = p == null || p.getMetadata().getAnnotations() == null ? null : p.getMetadata().getAnnotations().get(STATUS);
        if (s == null) return List.of();
        try {
            return json.readValue(s, new TypeReference<List<JsonNode>>() { });
        } catch (Exception e) {
            return List.of();
        }
    }

    private Optional<Event> event(String ns, String uid, String reason) {
        return client.v1().events().inNamespace(ns).list().getItems().stream()
                .filter(e -> uid.equals(e.getInvolvedObject().getUid()) && reason.equals(e.getReason())).findFirst();
    }

    private static void assertEnvelope(JsonNode e, String cluster) {
        assertEquals("1.0", e.path("specversion").asText());
        assertEquals("application/json", e.path("datacontenttype").asText());
        assertEquals("/netattach/attach-service/" + cluster, e.path("source").asText());
        assertEquals(cluster, e.path("netattachcluster").asText());
        assertFalse(e.path("time").asText().isEmpty());
        assertEquals(e.path("data").path("requestId").asText(), e.path("id").asText());
    }

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private static <T> T await(Supplier<Optional<T>> probe, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<T> v = probe.get();
            if (v.isPresent()) return v.get();
            Thread.sleep(50);
        }
        fail("waited " + TIMEOUT.toSeconds() + " s for " + what);
        return null;
    }

    private static void awaitTrue(Supplier<Boolean> condition, String what) throws InterruptedException {
        await(() -> condition.get() ? Optional.of(true) : Optional.empty(), what);
    }
}
