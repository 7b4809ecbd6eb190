package io.netattach.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netattach.node.kafka.CommandPartition;
import io.netattach.node.lab.NetnsLab;
import io.quarkus.test.common.QuarkusTestResource;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import io.restassured.RestAssured;
import jakarta.inject.Inject;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The running service: attach commands from Kafka for this node, the CNI shim executed exactly as a container
 * runtime would (CNI_* environment, config on stdin), results and sandbox events on netattach.node.results.
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true)
@QuarkusTestResource(value = NodeNamespaces.class, restrictToAnnotatedClass = true)
class NodeWorkerTest {
    static final String NETWORKS = "k8s.v1.cni.cncf.io/networks";
    @Inject KubernetesClient kube;
    private static final ObjectMapper JSON = new ObjectMapper();
    private NetnsLab lab;
    private KafkaProducer<String, String> producer;
    private KafkaConsumer<String, String> results;
    private final List<JsonNode> seen = new CopyOnWriteArrayList<>();
    /** The content-type header of each record in {@link #seen}, in the same order. */
    private final List<String> contentTypes = new CopyOnWriteArrayList<>();
    /** The key of each record in {@code seen}, in the same order. */
    private final List<String> keys = new CopyOnWriteArrayList<>();
    private String suffix, socket, node, bootstrap;

    @BeforeEach
    void setUp() {
        lab = new NetnsLab();
        suffix = ConfigProvider.getConfig().getOptionalValue("netattach.kafka.topic-suffix", String.class).orElse("");
        socket = ConfigProvider.getConfig().getValue("netattach.node.socket", String.class);
        node = NodeNamespaces.nodeName;
        bootstrap = ConfigProvider.getConfig().getValue("kafka.bootstrap.servers", String.class);
        producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap, ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class, ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class));
        results = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class, ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest", ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false));
        String topic = "netattach.node.results" + suffix;
        List<TopicPartition> tps = results.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
        results.assign(tps);
        results.seekToBeginning(tps);
    }

    @AfterEach
    void tearDown() {
        producer.close();
        results.close();
        lab.close();
    }

    private JsonNode await(String what, Predicate<JsonNode> match) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            Optional<JsonNode> hit = seen.stream().filter(match).findFirst();
            if (hit.isPresent()) return hit.get();
            for (ConsumerRecord<String, String> r : results.poll(Duration.ofMillis(200))) {
                try {
                    seen.add(JSON.readTree(r.value()));
                } catch (IOException e) {
                    throw new AssertionError("result is not JSON: " + r.value());
                }
                Header ct = r.headers().lastHeader("content-type");
                contentTypes.add(ct == null ? "(none)" : new String(ct.value(), StandardCharsets.UTF_8));
                keys.add(r.key());
            }
        }
        throw new AssertionError("no " + what + " within 30 s; seen: " + seen);
    }

    private RecordMetadata send(String key, ObjectNode event) throws Exception {
        String schema = switch (event.get("type").asText()) {
            case "io.netattach.node.attach" -> "NodeAttachData";
            case "io.netattach.node.blocked" -> "NodeBlockedData";
            default -> "NodeDetachData";
        };
        assertEquals(List.of(), Contract.checkEvent(event, schema), "the command this test sends follows the contract");
        assertEquals(List.of(), Contract.checkKey(schema.replace("Data", ""), key, event), "the key of the command this test sends");
        return producer.send(new ProducerRecord<>("netattach.node.commands" + suffix, key, event.toString())).get();
    }

    private ObjectNode attach(String requestId, String nodeName, String uid, String iface, String mac, String... ips) {
        ObjectNode ev = envelope(requestId, "io.netattach.node.attach");
        ObjectNode d = ev.putObject("data");
        d.put("requestId", requestId);
        d.put("node", nodeName);
        d.putObject("pod").put("namespace", "default").put("name", podName(uid)).put("uid", uid);
        ObjectNode a = d.putArray("attachments").addObject();
        a.put("network", "default/macvlan-conf");
        a.put("interface", iface);
        a.putObject("cniConfig").put("cniVersion", "1.0.0").put("type", "macvlan").put("mode", "bridge").put("mtu", 1400);
        var ipa = a.putArray("ips");
        for (String ip : ips) ipa.add(ip);
        a.putArray("gateways").add("10.50.0.1");
        a.putArray("routes").addObject().put("dst", "10.60.0.0/16");
        if (mac != null) a.put("mac", mac); else a.putNull("mac");
        a.put("defaultRoute", false);
        return ev;
    }

    private static ObjectNode envelope(String id, String type) {
        ObjectNode ev = JSON.createObjectNode();
        ev.put("specversion", "1.0").put("id", id).put("source", "/netattach/attach-service/local").put("type", type)
                .put("subject", "default/web").put("time", "2026-11-29T22:00:00Z").put("datacontenttype", "application/json");
        return ev;
    }

    private record Exec(int exit, String stdout) {}

    /** The pod a test's sandbox is for, in the API server, which gives it its UID; networks null = it asks for none. */
    private String pod(String networks) {
        String name = "web-" + UUID.randomUUID().toString().substring(0, 8);
        var meta = new PodBuilder().withNewMetadata().withNamespace("default").withName(name);
        if (networks != null) meta.addToAnnotations(NETWORKS, networks);
        String uid = kube.pods().inNamespace("default").resource(meta.endMetadata().withNewSpec().withNodeName(node)
                .addNewContainer().withName("app").withImage("nicolaka/netshoot").endContainer().endSpec().build()).create().getMetadata().getUid();
        names.put(uid, name);
        return uid;
    }

    private final Map<String, String> names = new java.util.concurrent.ConcurrentHashMap<>();

    private String podName(String uid) { return names.get(uid); }

    private Exec shim(String command, String netns, String uid, String config) throws Exception {
        return shim(command, netns, uid, "c0ffee" + uid, config);
    }

    /** Runs the shim as a container runtime does: executable path, CNI_* environment, config on stdin. */
    private Exec shim(String command, String netns, String uid, String containerId, String config) throws Exception {
        return shim(List.of(), command, netns, uid, containerId, config);
    }

    /** The same, through {@code runAs} (e.g. setpriv to another user). */
    private Exec shim(List<String> runAs, String command, String netns, String uid, String containerId, String config) throws Exception {
        // the executable node-worker's build makes from src/main/shim/netattach-shim.c
        List<String> argv = new ArrayList<>(runAs);
        argv.add(Path.of("target/netattach-shim").toAbsolutePath().toString());
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().clear();
        pb.environment().putAll(Map.of("CNI_COMMAND", command, "CNI_CONTAINERID", containerId, "CNI_NETNS", netns,
                "CNI_IFNAME", "eth0", "CNI_PATH", "/usr/lib/cni",
                "CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=" + podName(uid) + ";K8S_POD_INFRA_CONTAINER_ID=" + containerId + ";K8S_POD_UID=" + uid,
                "PATH", "/usr/bin:/bin"));
        Process p = pb.start();
        p.getOutputStream().write(config.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Exec(p.waitFor(), out.trim());
    }

    private String chainedConfig(String version) {
        return """
                {"cniVersion":"%s","name":"k8s-pod-network","type":"netattach-shim","socketPath":"%s",
                 "prevResult":{"cniVersion":"%s","interfaces":[{"name":"eth0","mac":"0a:58:0a:f4:01:05","sandbox":"/var/run/netns/x"}],
                               "ips":[{"address":"10.244.1.5/24","gateway":"10.244.1.1","interface":0}]}}
                """.formatted(version, socket, version);
    }

    /** Every event the worker published during the test follows docs/asyncapi.yaml, in the CloudEvents structured mode. */
    @AfterEach
    void everyEventSeenFollowsTheContract() {
        assertEquals(seen.size(), contentTypes.size());
        assertEquals(seen.size(), keys.size());
        for (int i = 0; i < seen.size(); i++) {
            assertEquals("application/cloudevents+json", contentTypes.get(i), "the CloudEvents Kafka binding's header on " + seen.get(i));
        }
        for (int i = 0; i < seen.size(); i++) {
            JsonNode ev = seen.get(i);
            String schema = switch (ev.path("type").asText()) {
                case "io.netattach.node.result" -> "NodeResultData";
                case "io.netattach.node.sandbox" -> "NodeSandboxData";
                case "io.netattach.node.inventory" -> "NodeInventoryData";
                default -> null;
            };
            assertNotNull(schema, "unknown event type on netattach.node.results: " + ev);
            assertEquals(List.of(), Contract.checkEvent(ev, schema), ev.toString());
            assertEquals(List.of(), Contract.checkKey(schema.replace("Data", ""), keys.get(i), ev), "the key of " + ev);
        }
    }

    private static void assertCloudEvent(JsonNode ev, String type) {
        for (String f : List.of("specversion", "id", "source", "type", "time", "datacontenttype", "data")) assertTrue(ev.has(f), f + " in " + ev);
        assertEquals("1.0", ev.get("specversion").asText());
        assertEquals(type, ev.get("type").asText());
        assertEquals("application/json", ev.get("datacontenttype").asText());
    }

    @Test
    void anAttachWaitsForTheSandboxAndTheAddReturnsWithTheInterfaceInPlaceAndInItsResult() throws Exception {
        String podNs = lab.netns("pod");
        String uid = pod("macvlan-conf");
        String requestId = "attach/local/" + uid;
        send(node, attach(requestId, node, uid, "net1", "02:50:00:00:00:05", "10.50.0.5/24", "fd50::5/64"));

        JsonNode pending = await("pending result", e -> e.path("id").asText().equals(requestId + "/pending"));
        assertCloudEvent(pending, "io.netattach.node.result");
        assertTrue(pending.at("/data/pending").asBoolean());
        assertTrue(pending.at("/data/ok").asBoolean());
        assertEquals(node, pending.at("/data/node").asText());
        assertFalse(NetnsLab.linkNames(podNs).contains("net1"), "nothing made before the sandbox registers");

        Exec add = shim("ADD", NetnsLab.path(podNs), uid, chainedConfig("1.0.0"));
        assertEquals(0, add.exit(), add.stdout());
        JsonNode printed = JSON.readTree(add.stdout());
        assertEquals("1.0.0", printed.get("cniVersion").asText());
        assertEquals("eth0", printed.at("/interfaces/0/name").asText(), "prevResult first, unchanged");
        assertEquals("10.244.1.5/24", printed.at("/ips/0/address").asText());
        assertEquals("net1", printed.at("/interfaces/1/name").asText(), "then what netattach made");
        assertEquals("02:50:00:00:00:05", printed.at("/interfaces/1/mac").asText());
        assertEquals(NetnsLab.path(podNs), printed.at("/interfaces/1/sandbox").asText());
        List<String> added = new ArrayList<>();
        for (JsonNode ip : printed.get("ips")) if (ip.path("interface").asInt() == 1) added.add(ip.path("address").asText());
        assertEquals(List.of("10.50.0.5/24", "fd50::5/64"), added, "net1's addresses, pointing at it");

        // the interface is in place when the shim returns
        JsonNode link = NetnsLab.ipJson(podNs, "link", "show", "net1").get(0);
        assertEquals("macvlan", link.at("/linkinfo/info_kind").asText());
        assertEquals(1400, link.get("mtu").asInt());
        assertEquals("02:50:00:00:00:05", link.get("address").asText());

        JsonNode sandbox = await("sandbox added", e -> e.path("type").asText().equals("io.netattach.node.sandbox")
                && e.at("/data/pod/uid").asText().equals(uid) && e.at("/data/event").asText().equals("added"));
        assertCloudEvent(sandbox, "io.netattach.node.sandbox");
        assertEquals(NetnsLab.path(podNs), sandbox.at("/data/netns").asText());

        JsonNode result = await("attach result", e -> e.path("id").asText().equals(requestId + "/result"));
        assertCloudEvent(result, "io.netattach.node.result");
        assertTrue(result.at("/data/ok").asBoolean(), result.toString());
        assertFalse(result.at("/data/pending").asBoolean());
        assertEquals(NetnsLab.path(podNs), result.at("/data/sandbox").asText());
        assertEquals("c0ffee" + uid, result.at("/data/containerId").asText());
        JsonNode primary = result.at("/data/primary");
        assertEquals("k8s-pod-network", primary.path("name").asText(), "the cluster network, from the chain's prevResult");
        assertEquals("eth0", primary.path("interface").asText());
        assertEquals("0a:58:0a:f4:01:05", primary.path("mac").asText());
        assertEquals("10.244.1.5/24", primary.path("ips").get(0).asText());
        JsonNode iface = result.at("/data/interfaces/0");
        assertEquals("net1", iface.get("interface").asText());
        assertEquals("default/macvlan-conf", iface.get("network").asText());
        assertEquals("02:50:00:00:00:05", iface.get("mac").asText());
        assertEquals(1400, iface.get("mtu").asInt());
        List<String> ips = new ArrayList<>();
        iface.get("ips").forEach(i -> ips.add(i.asText()));
        assertTrue(ips.contains("10.50.0.5/24") && ips.size() == 2, ips.toString());
        assertTrue(iface.get("error").isNull());

        // CHECK: the sandbox is as made
        assertEquals(0, shim("CHECK", NetnsLab.path(podNs), uid, chainedConfig("1.0.0")).exit());

        // a redelivered attach is a success without change
        int index = link.get("ifindex").asInt();
        String again = "attach/local/" + uid + "/again";
        send(node, attach(again, node, uid, "net1", "02:50:00:00:00:05", "10.50.0.5/24", "fd50::5/64"));
        JsonNode second = await("redelivered attach result", e -> e.path("id").asText().equals(again + "/result"));
        assertTrue(second.at("/data/ok").asBoolean(), second.toString());
        assertEquals(index, NetnsLab.ipJson(podNs, "link", "show", "net1").get(0).get("ifindex").asInt());

        // CHECK names what differs from what was attached
        NetnsLab.run("ip", "-n", podNs, "addr", "del", "fd50::5/64", "dev", "net1");
        Exec check = shim("CHECK", NetnsLab.path(podNs), uid, chainedConfig("1.0.0"));
        assertEquals(1, check.exit(), check.stdout());
        JsonNode checkErr = JSON.readTree(check.stdout());
        assertEquals(102, checkErr.get("code").asInt());
        assertTrue(checkErr.get("msg").asText().contains("net1 (default/macvlan-conf) has addresses [10.50.0.5/24]"), checkErr.toString());

        Exec del = shim("DEL", NetnsLab.path(podNs), uid, chainedConfig("1.0.0"));
        assertEquals(0, del.exit(), del.stdout());
        assertEquals(List.of("lo"), NetnsLab.linkNames(podNs));
        await("sandbox removed", e -> e.path("type").asText().equals("io.netattach.node.sandbox")
                && e.at("/data/pod/uid").asText().equals(uid) && e.at("/data/event").asText().equals("removed"));
        assertEquals(0, shim("DEL", NetnsLab.path(podNs), uid, chainedConfig("1.0.0")).exit(), "DEL twice is success");
        assertEquals(0, shim("DEL", "/var/run/netns/na-gone-" + uid, uid, chainedConfig("1.0.0")).exit(), "DEL of a namespace that is gone is success");
    }

    @Test
    void aProcessOfAnotherUserThanTheRuntimesIsRefusedEvenWhenTheSocketModeLetsItIn() throws Exception {
        String podNs = lab.netns("pod");
        String uid = pod(null);
        Path sock = Path.of(socket);
        var mode = Files.getPosixFilePermissions(sock);
        Exec add;
        try {
            // a mistaken mode (or a shared mount) must not be enough: SO_PEERCRED decides
            Files.setPosixFilePermissions(sock, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));
            add = shim(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"), "ADD", NetnsLab.path(podNs), uid,
                    "c0ffee" + uid, chainedConfig("1.0.0"));
        } finally {
            Files.setPosixFilePermissions(sock, mode);
        }
        assertEquals(1, add.exit(), add.stdout());
        assertTrue(add.stdout().contains("may not use node-worker's sandbox socket"), add.stdout());
        assertEquals(0, shim("ADD", NetnsLab.path(podNs), uid, chainedConfig("1.0.0")).exit(), "root (the runtime) is served");
        shim("DEL", NetnsLab.path(podNs), uid, chainedConfig("1.0.0"));
    }

    @Test
    @org.junit.jupiter.api.Timeout(30)
    void aConnectionThatSendsNoRequestIsClosedAfterTheReadTimeout() throws Exception {
        try (var c = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(socket))) {
            // blocks until node-worker closes its side (netattach.node.socket-read-timeout, 2 s in the tests)
            int n = c.read(java.nio.ByteBuffer.allocate(1024));
            assertEquals(-1, n, "the worker closed the idle connection without an answer");
        }
    }

    @Test
    void aPodThatAsksForNoNetworkPassesAtOnceAndCanBeHotPluggedLater() throws Exception {
        String podNs = lab.netns("pod");
        String uid = pod(null);
        double before = adds("no-networks");
        Exec add = shim("ADD", NetnsLab.path(podNs), uid, chainedConfig("1.1.0"));
        assertEquals(0, add.exit(), add.stdout());
        assertEquals(((ObjectNode) JSON.readTree(chainedConfig("1.1.0")).get("prevResult")).put("cniVersion", "1.1.0"), JSON.readTree(add.stdout()),
                "the chain's result, unchanged");
        assertEquals(before + 1, adds("no-networks"), "answered from the pod's annotation, without waiting for an attach");

        // hot-plug: the sandbox is known, so an attach runs at once
        String hotId = "attach/local/" + uid + "/hot";
        send(node, attach(hotId, node, uid, "net2", null, "10.50.0.8/24"));
        JsonNode hot = await("hot-plug result", e -> e.path("id").asText().equals(hotId + "/result"));
        assertTrue(hot.at("/data/ok").asBoolean(), hot.toString());
        assertTrue(NetnsLab.linkNames(podNs).contains("net2"));
        shim("DEL", NetnsLab.path(podNs), uid, chainedConfig("1.1.0"));
        assertEquals(List.of("lo"), NetnsLab.linkNames(podNs));
    }

    /** The partition this node reads, by the topic's real partition count. */
    private int myPartition() {
        return CommandPartition.of(node, producer.partitionsFor("netattach.node.commands" + suffix).size());
    }

    /** A node name whose commands share this node's partition. */
    private String otherNodeOnMyPartition() {
        int partitions = producer.partitionsFor("netattach.node.commands" + suffix).size();
        return Stream.iterate(0, i -> i + 1).map(i -> "other-node-" + i)
                .filter(n -> CommandPartition.of(n, partitions) == myPartition()).findFirst().orElseThrow();
    }

    @Test
    void commandsKeyedForAnotherNodeOnTheSamePartitionAreSkipped() throws Exception {
        int mine = myPartition();
        String other = otherNodeOnMyPartition();
        String podNs = lab.netns("pod");
        String uid = pod(null);
        assertEquals(0, shim("ADD", NetnsLab.path(podNs), uid, chainedConfig("1.1.0")).exit());

        String foreign = "attach/local/" + uid + "/foreign";
        RecordMetadata m1 = send(other, attach(foreign, other, uid, "net7", null, "10.50.0.7/24"));
        assertEquals(mine, m1.partition(), "the default partitioner agrees with partitionOf");
        String ownId = "attach/local/" + uid + "/own";
        send(node, attach(ownId, node, uid, "net2", null, "10.50.0.8/24"));
        JsonNode own = await("own result", e -> e.path("id").asText().equals(ownId + "/result"));
        assertTrue(own.at("/data/ok").asBoolean(), own.toString());
        // the foreign record came earlier in the same partition, so it was read, and skipped
        assertTrue(seen.stream().noneMatch(e -> e.path("id").asText().startsWith(foreign)), "no answer to another node's command");
        assertFalse(NetnsLab.linkNames(podNs).contains("net7"));
        assertTrue(NetnsLab.linkNames(podNs).contains("net2"));

        // detach by Kafka; a second detach of the missing interface is success
        for (String id : List.of("detach/1/" + uid, "detach/2/" + uid)) {
            ObjectNode ev = envelope(id, "io.netattach.node.detach");
            ObjectNode d = ev.putObject("data");
            d.put("requestId", id).put("node", node);
            d.putObject("pod").put("namespace", "default").put("name", podName(uid)).put("uid", uid);
            d.putArray("interfaces").add("net2");
            send(node, ev);
            JsonNode r = await("detach result", e -> e.path("id").asText().equals(id + "/result"));
            assertTrue(r.at("/data/ok").asBoolean(), r.toString());
        }
        assertEquals(List.of("lo"), NetnsLab.linkNames(podNs));
        shim("DEL", NetnsLab.path(podNs), uid, chainedConfig("1.1.0"));
    }

    @Test
    void aFailingAttachIsReportedWithItsReasonAndTheShimAddFails() throws Exception {
        String podNs = lab.netns("pod");
        String uid = pod("macvlan-conf");
        String requestId = "attach/local/" + uid + "/bad";
        ObjectNode ev = attach(requestId, node, uid, "net1", null, "10.50.0.9/24");
        ((ObjectNode) ev.at("/data/attachments/0/cniConfig")).put("master", "eth9");
        send(node, ev);
        await("pending", e -> e.path("id").asText().equals(requestId + "/pending"));

        Exec add = shim("ADD", NetnsLab.path(podNs), uid, chainedConfig("1.0.0"));
        assertEquals(1, add.exit(), add.stdout());
        JsonNode err = JSON.readTree(add.stdout());
        assertEquals(100, err.get("code").asInt());
        assertTrue(err.get("msg").asText().contains("master \"eth9\""), err.toString());
        assertTrue(err.get("details").asText().startsWith("NotFound: "), err.toString());

        JsonNode result = await("failed result", e -> e.path("id").asText().equals(requestId + "/result"));
        assertFalse(result.at("/data/ok").asBoolean());
        assertEquals("NotFound", result.at("/data/error/reason").asText());
        assertNotNull(result.at("/data/interfaces/0/error").textValue());
        assertEquals(List.of("lo"), NetnsLab.linkNames(podNs), "nothing left behind");
        shim("DEL", NetnsLab.path(podNs), uid, chainedConfig("1.0.0"));
    }

    /** A shim ADD that waits, run beside the test; containerId null = the test's default for the pod. */
    private java.util.concurrent.CompletableFuture<Exec> addInBackground(String netns, String uid, String containerId) {
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return containerId == null ? shim("ADD", netns, uid, chainedConfig("1.0.0")) : shim("ADD", netns, uid, containerId, chainedConfig("1.0.0"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void aRefusalFromAttachServiceFailsTheWaitingAddWithTheNetworkAndTheReason() throws Exception {
        String podNs = lab.netns("pod");
        String uid = pod("other/secret-net");
        var add = addInBackground(NetnsLab.path(podNs), uid, null);
        await("the sandbox registered", e -> e.path("type").asText().equals("io.netattach.node.sandbox")
                && e.at("/data/pod/uid").asText().equals(uid) && e.at("/data/event").asText().equals("added"));
        String id = "blocked/" + uid;
        ObjectNode ev = envelope(id, "io.netattach.node.blocked");
        ev.putObject("data").put("requestId", id).put("node", node).put("network", "other/secret-net").put("reason", "NetworkDenied")
                .put("message", "namespace isolation: pod in namespace default may not use network other/secret-net").put("definitive", true)
                .putObject("pod").put("namespace", "default").put("name", podName(uid)).put("uid", uid);
        send(node, ev);
        Exec refused = add.get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(1, refused.exit(), refused.stdout());
        JsonNode err = JSON.readTree(refused.stdout());
        assertEquals(101, err.get("code").asInt());
        assertTrue(err.get("msg").asText().contains("network other/secret-net: NetworkDenied: namespace isolation"), err.toString());
        assertEquals(List.of("lo"), NetnsLab.linkNames(podNs), "the pod gets nothing");
        shim("DEL", NetnsLab.path(podNs), uid, chainedConfig("1.0.0"));
    }

    @Test
    void aSandboxWithNothingForItIsReportedAndItsAddTimesOutNamingWhy() throws Exception {
        String podNs = lab.netns("pod");
        String uid = pod("macvlan-conf");
        double before = adds("timeout");
        Exec add = shim("ADD", NetnsLab.path(podNs), uid, chainedConfig("1.0.0"));
        assertEquals(1, add.exit(), add.stdout());
        JsonNode err = JSON.readTree(add.stdout());
        assertEquals(11, err.get("code").asInt(), "try again later");
        assertTrue(err.get("msg").asText().contains("were not attached within 5 s"), err.toString());
        assertTrue(err.get("details").asText().contains("no attach for this pod reached node " + node), err.toString());
        assertEquals(before + 1, adds("timeout"));
        // meanwhile the node told attach-service that the sandbox waits with nothing in it
        JsonNode waiting = await("sandbox waiting", e -> e.path("type").asText().equals("io.netattach.node.sandbox")
                && e.at("/data/pod/uid").asText().equals(uid) && e.at("/data/event").asText().equals("waiting"));
        assertEquals("c0ffee" + uid, waiting.at("/data/containerId").asText());
        shim("DEL", NetnsLab.path(podNs), uid, chainedConfig("1.0.0"));
    }

    @Test
    void aReCreatedSandboxIsReportedAtOnceAndGetsItsInterfacesAgain() throws Exception {
        String first = lab.netns("pod");
        String uid = pod("macvlan-conf");
        send(node, attach("attach/local/" + uid, node, uid, "net1", "02:50:00:00:00:06", "10.50.0.6/24"));
        await("pending", e -> e.path("id").asText().equals("attach/local/" + uid + "/pending"));
        assertEquals(0, shim("ADD", NetnsLab.path(first), uid, "sb1-" + uid, chainedConfig("1.0.0")).exit());
        assertEquals(0, shim("DEL", NetnsLab.path(first), uid, "sb1-" + uid, chainedConfig("1.0.0")).exit());

        // the runtime re-creates the sandbox (new container id, new namespace): its ADD waits for the interfaces again
        String second = lab.netns("pod2");
        var add = addInBackground(NetnsLab.path(second), uid, "sb2-" + uid);
        JsonNode waiting = await("the re-created sandbox reported", e -> e.path("type").asText().equals("io.netattach.node.sandbox")
                && e.at("/data/pod/uid").asText().equals(uid) && e.at("/data/event").asText().equals("waiting"));
        assertEquals("sb2-" + uid, waiting.at("/data/containerId").asText());
        assertEquals(NetnsLab.path(second), waiting.at("/data/netns").asText());
        // what attach-service does on that report: the same attach again
        send(node, attach("attach/local/" + uid, node, uid, "net1", "02:50:00:00:00:06", "10.50.0.6/24"));
        Exec done = add.get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(0, done.exit(), done.stdout());
        assertEquals("10.50.0.6/24", NetnsLab.ipJson(second, "-4", "addr", "show", "net1").get(0).at("/addr_info/0/local").asText() + "/24");
        shim("DEL", NetnsLab.path(second), uid, "sb2-" + uid, chainedConfig("1.0.0"));
    }

    @Test
    void reportsItsInventoryAtStart() {
        JsonNode inv = await("inventory", e -> e.path("type").asText().equals("io.netattach.node.inventory"));
        assertCloudEvent(inv, "io.netattach.node.inventory");
        assertEquals(node, inv.at("/data/node").asText());
        assertTrue(inv.at("/data/sandboxes").isArray());
    }

    @Test
    void anUnreadableCommandGoesToTheDeadLetterTopicWithTheReasonAndTheNextIsStillExecuted() throws Exception {
        String podNs = lab.netns("pod");
        String uid = pod(null);
        assertEquals(0, shim("ADD", NetnsLab.path(podNs), uid, chainedConfig("1.1.0")).exit());
        String commands = "netattach.node.commands" + suffix;
        RecordMetadata notJson = producer.send(new ProducerRecord<>(commands, node, "{not json")).get();
        ObjectNode noUid = attach("attach/local/" + uid + "/no-uid", node, uid, "net3", null, "10.50.0.3/24");
        ((ObjectNode) noUid.at("/data/pod")).remove("uid");
        RecordMetadata missing = producer.send(new ProducerRecord<>(commands, node, noUid.toString())).get();
        // another node's unreadable command on this partition is that node's to dead-letter
        producer.send(new ProducerRecord<>(commands, otherNodeOnMyPartition(), "{not json either")).get();
        String goodId = "attach/local/" + uid + "/after-poison";
        send(node, attach(goodId, node, uid, "net2", null, "10.50.0.8/24"));
        JsonNode good = await("the result of the command after the poison", e -> e.path("id").asText().equals(goodId + "/result"));
        assertTrue(good.at("/data/ok").asBoolean(), good.toString());
        assertTrue(NetnsLab.linkNames(podNs).contains("net2"));

        // a command is acknowledged after its dead letter is written, so both are there before the good result
        List<ConsumerRecord<String, String>> dead = deadLetters();
        assertEquals(2, dead.size(), dead.toString());
        ConsumerRecord<String, String> first = dead.get(0), second = dead.get(1);
        assertEquals(node, first.key());
        assertEquals("{not json", first.value(), "the record as it came");
        assertTrue(header(first, "dead-letter-reason").startsWith("unreadable node command: not JSON"), header(first, "dead-letter-reason"));
        assertEquals(commands, header(first, "dead-letter-topic"));
        assertEquals(String.valueOf(notJson.partition()), header(first, "dead-letter-partition"));
        assertEquals(String.valueOf(notJson.offset()), header(first, "dead-letter-offset"));
        assertEquals("unreadable node command: data.pod.uid is missing", header(second, "dead-letter-reason"));
        assertEquals(String.valueOf(missing.offset()), header(second, "dead-letter-offset"));
        assertEquals(noUid.toString(), second.value());
        shim("DEL", NetnsLab.path(podNs), uid, chainedConfig("1.1.0"));
    }

    /** Everything on this run's netattach.dlq.node-worker, from the beginning to its end. */
    private List<ConsumerRecord<String, String>> deadLetters() {
        TopicPartition dlq = new TopicPartition("netattach.dlq.node-worker" + suffix, 0);
        List<ConsumerRecord<String, String>> out = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class, ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false))) {
            c.assign(List.of(dlq));
            c.seekToBeginning(List.of(dlq));
            long end = c.endOffsets(List.of(dlq)).get(dlq);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (c.position(dlq) < end) {
                if (System.nanoTime() > deadline) throw new AssertionError("the dead-letter topic not read to its end within 30 s");
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    private static String header(ConsumerRecord<String, String> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    @Test
    void anAttachWaitingForItsSandboxHoldsTheCommittedOffsetBackUntilItRan() throws Exception {
        TopicPartition mine = new TopicPartition("netattach.node.commands" + suffix, myPartition());
        String waitingUid = pod("macvlan-conf");
        String waitingId = "attach/local/" + waitingUid + "/held";
        RecordMetadata held = send(node, attach(waitingId, node, waitingUid, "net1", null, "10.50.0.11/24"));
        await("pending", e -> e.path("id").asText().equals(waitingId + "/pending"));

        String otherNs = lab.netns("pod");
        String otherUid = pod(null);
        assertEquals(0, shim("ADD", NetnsLab.path(otherNs), otherUid, chainedConfig("1.1.0")).exit());
        String laterId = "attach/local/" + otherUid + "/later";
        RecordMetadata later = send(node, attach(laterId, node, otherUid, "net2", null, "10.50.0.12/24"));
        assertTrue(await("the later command's result", e -> e.path("id").asText().equals(laterId + "/result")).at("/data/ok").asBoolean());

        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            eventually("the node's group commits up to the waiting attach", () -> committed(admin, mine) == held.offset());
            Thread.sleep(1_500); // three commit intervals after the later command was acknowledged
            assertEquals(held.offset(), committed(admin, mine), "not past the attach that waits: a restart reads it again");

            String waitingNs = lab.netns("pod2");
            Exec add = shim("ADD", NetnsLab.path(waitingNs), waitingUid, chainedConfig("1.0.0"));
            assertEquals(0, add.exit(), add.stdout());
            eventually("the node's group commits past both once the attach ran", () -> committed(admin, mine) > later.offset());
            shim("DEL", NetnsLab.path(waitingNs), waitingUid, chainedConfig("1.0.0"));
        }
        shim("DEL", NetnsLab.path(otherNs), otherUid, chainedConfig("1.1.0"));
    }

    /** The offset netattach-node-worker-<node> committed on tp; -1 if none. */
    private long committed(Admin admin, TopicPartition tp) {
        try {
            OffsetAndMetadata o = admin.listConsumerGroupOffsets("netattach-node-worker-" + node).partitionsToOffsetAndMetadata().get().get(tp);
            return o == null ? -1 : o.offset();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void healthShowsTheNodesPartitionAndTheKafkaChannels() throws Exception {
        eventually("ready", () -> RestAssured.get("/q/health/ready").statusCode() == 200);
        JsonNode ready = JSON.readTree(RestAssured.get("/q/health/ready").asString());
        JsonNode worker = check(ready, "node-worker");
        assertEquals("netattach.node.commands" + suffix + " partition " + myPartition() + " of 16", worker.at("/data/commands").asText(), worker.toString());
        JsonNode channels = check(ready, "SmallRye Reactive Messaging - readiness check");
        assertEquals("UP", channels.get("status").asText(), channels.toString());
        assertTrue(channels.at("/data/node-commands").asText().startsWith("[OK]"), channels.toString());
        assertTrue(channels.at("/data/node-results").asText().startsWith("[OK]"), channels.toString());

        JsonNode live = JSON.readTree(RestAssured.get("/q/health/live").asString());
        JsonNode alive = check(live, "SmallRye Reactive Messaging - liveness check");
        assertEquals("UP", alive.get("status").asText(), alive.toString());
        assertTrue(alive.at("/data/node-commands").asText().startsWith("[OK]"), alive.toString());
        assertTrue(alive.at("/data/node-results").asText().startsWith("[OK]"), alive.toString());
    }

    /** The check of that name in a /q/health answer. */
    static JsonNode check(JsonNode health, String name) {
        for (JsonNode c : health.get("checks")) if (c.path("name").asText().equals(name)) return c;
        throw new AssertionError("no check " + name + " in " + health);
    }

    @Test
    void metricsShowTheKafkaConsumerAndProducer() throws Exception {
        // the consumer's lag (records_lag_max of the client; the per-partition records_lag follows at Micrometer's next
        // look at the client's metrics, within a minute), and what the results producer sent (the inventory at least)
        String consumer = "client_id=\"netattach-node-worker-" + node + "-commands\"", producerId = "client_id=\"netattach-node-worker-" + node + "-results\"";
        await("inventory", e -> e.path("type").asText().equals("io.netattach.node.inventory"));
        List<String> kafka = new CopyOnWriteArrayList<>();
        try {
            eventually("Kafka client metrics in /q/metrics", () -> {
                kafka.clear();
                RestAssured.get("/q/metrics").asString().lines().filter(l -> l.startsWith("kafka_")).forEach(kafka::add);
                return kafka.stream().anyMatch(l -> l.startsWith("kafka_consumer_fetch_manager_records_lag_max{") && l.contains(consumer))
                        && kafka.stream().anyMatch(l -> l.startsWith("kafka_producer_record_send_total{") && l.contains(producerId)
                        && Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)) >= 1);
            });
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; the Kafka lines: " + String.join("\n", kafka));
        }
    }

    /** Polls until {@code check} holds, for at most 30 s. */
    private static void eventually(String what, java.util.function.BooleanSupplier check) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!check.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError(what + ": not within 30 s");
            Thread.sleep(100);
        }
    }

    /** netattach_node_cni_adds_total{outcome} as /q/metrics shows it. */
    private static double adds(String outcome) {
        String metrics = RestAssured.get("/q/metrics").asString();
        return metrics.lines().filter(l -> l.startsWith("netattach_node_cni_adds_total{") && l.contains("outcome=\"" + outcome + "\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }
}
