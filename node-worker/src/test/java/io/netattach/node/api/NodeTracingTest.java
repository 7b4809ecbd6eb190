package io.netattach.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.netattach.testkit.InMemorySpans;
import io.netattach.testkit.TracingOn;
import io.netattach.testkit.InMemorySpans.TraceParent;
import io.netattach.node.lab.NetnsLab;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With tracing on, a command's netlink batch is a span of the trace the command came with, and its result carries
 * that trace on to attach-service.
 */
@QuarkusTest
@TestProfile(TracingOn.class)
@WithKubernetesTestServer(crud = true)
@QuarkusTestResource(value = NodeNamespaces.class, restrictToAnnotatedClass = true)
class NodeTracingTest {
    private static final ObjectMapper JSON = new ObjectMapper();


    @Inject KubernetesClient kube;
    @Inject InMemorySpanExporter spans;

    private KafkaProducer<String, String> producer;
    private KafkaConsumer<String, String> results;
    private String suffix;

    @BeforeEach
    void clients() {
        var config = ConfigProvider.getConfig();
        suffix = config.getOptionalValue("netattach.kafka.topic-suffix", String.class).orElse("");
        String bootstrap = config.getValue("kafka.bootstrap.servers", String.class);
        producer = new KafkaProducer<>(Map.<String, Object>of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap, ProducerConfig.ACKS_CONFIG, "all"),
                new StringSerializer(), new StringSerializer());
        results = new KafkaConsumer<>(Map.<String, Object>of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest", ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false),
                new StringDeserializer(), new StringDeserializer());
        String topic = "netattach.node.results" + suffix;
        List<TopicPartition> tps = results.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
        results.assign(tps);
        results.seekToBeginning(tps);
    }

    @AfterEach
    void closeClients() {
        producer.close();
        results.close();
    }

    /** A pod bound to this node in the API server, with these annotations; its UID. */
    private String pod(String name, Map<String, String> annotations) {
        return kube.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withNamespace("default").withName(name)
                        .withAnnotations(annotations).endMetadata()
                        .withNewSpec().withNodeName(NodeNamespaces.nodeName).addNewContainer().withName("app").withImage("nicolaka/netshoot").endContainer().endSpec().build())
                .create().getMetadata().getUid();
    }

    /** Sends a command to this node as attach-service would, its trace in the traceparent header. */
    private void send(ObjectNode command, TraceParent trace) throws Exception {
        ProducerRecord<String, String> r = new ProducerRecord<>("netattach.node.commands" + suffix, NodeNamespaces.nodeName, command.toString());
        r.headers().add("content-type", "application/cloudevents+json".getBytes(StandardCharsets.UTF_8));
        r.headers().add("traceparent", trace.header().getBytes(StandardCharsets.UTF_8));
        producer.send(r).get();
    }

    /** The node's result record with that id, within 30 s. */
    private ConsumerRecord<String, String> awaitResult(String id) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<String, String> r : results.poll(Duration.ofMillis(200))) {
                if (JSON.readTree(r.value()).path("id").asText().equals(id)) return r;
            }
        }
        throw new AssertionError("no result " + id + " within 30 s");
    }

    @Test
    void aNetlinkBatchIsASpanOfTheCommandsTraceAndItsResultCarriesTheTraceOn() throws Exception {
        String node = NodeNamespaces.nodeName;
        try (NetnsLab lab = new NetnsLab()) {

            // a running pod that asked for no network: its sandbox is known, so an attach (hot-plug) runs at once
            String podNs = lab.netns("pod");
            String name = "traced-" + UUID.randomUUID().toString().substring(0, 8);
            String uid = pod(name, Map.of());
            assertEquals(0, shim("ADD", NetnsLab.path(podNs), name, uid), "the shim's ADD");

            String requestId = "attach/local/" + uid + "/traced";
            TraceParent attach = TraceParent.random(); // what attach-service's attach span would send
            send(attachCommand(requestId, node, name, uid), attach);

            ConsumerRecord<String, String> result = awaitResult(requestId + "/result");
            JsonNode data = JSON.readTree(result.value()).path("data");
            assertTrue(data.path("ok").asBoolean(), data.toString());
            shim("DEL", NetnsLab.path(podNs), name, uid);

            SpanData batch = InMemorySpans.await(spans, "netlink attach of trace " + attach.traceId(),
                    s -> s.getName().equals("netlink attach") && s.getTraceId().equals(attach.traceId()));
            assertEquals(1L, batch.getAttributes().get(AttributeKey.longKey("netattach.interface.count")));
            assertEquals(List.of("macvlan"), batch.getAttributes().get(AttributeKey.stringArrayKey("netattach.interface.kind")));
            assertEquals(attach.spanId(), InMemorySpans.chain(spans, batch.getSpanId()).getLast(), "ancestors of the netlink span");

            Header header = result.headers().lastHeader("traceparent");
            assertNotNull(header, "the result carries a traceparent");
            TraceParent sent = TraceParent.parse(new String(header.value(), StandardCharsets.UTF_8));
            assertEquals(attach.traceId(), sent.traceId(), "the result's trace");
            InMemorySpans.await(spans, "the result's producer span", s -> s.getSpanId().equals(sent.spanId()));
            assertTrue(InMemorySpans.chain(spans, sent.spanId()).contains(batch.getSpanId()), "the result is sent under the netlink span");
        }
    }

    @Test
    void theBatchOfAnAttachThatWaitedForItsSandboxIsStillASpanOfTheCommandsTrace() throws Exception {
        String node = NodeNamespaces.nodeName;
        try (NetnsLab lab = new NetnsLab()) {

            // a new pod that asks for a network: the command comes before its sandbox, the usual order
            String podNs = lab.netns("pod");
            String name = "deferred-" + UUID.randomUUID().toString().substring(0, 8);
            String uid = pod(name, Map.of("k8s.v1.cni.cncf.io/networks", "macvlan-conf"));
            String requestId = "attach/local/" + uid + "/deferred";
            TraceParent attach = TraceParent.random();
            send(attachCommand(requestId, node, name, uid), attach);
            awaitResult(requestId + "/pending"); // the attach waits for its sandbox

            assertEquals(0, shim("ADD", NetnsLab.path(podNs), name, uid), "the shim's ADD, which runs the waiting batch");
            shim("DEL", NetnsLab.path(podNs), name, uid);

            SpanData batch = InMemorySpans.await(spans, "the deferred netlink attach of trace " + attach.traceId(),
                    s -> s.getName().equals("netlink attach") && s.getTraceId().equals(attach.traceId())
                            && Boolean.TRUE.equals(s.getAttributes().get(AttributeKey.booleanKey("netattach.deferred"))));
            assertEquals(attach.spanId(), InMemorySpans.chain(spans, batch.getSpanId()).getLast(), "ancestors of the deferred netlink span");
            assertEquals(io.opentelemetry.api.trace.StatusCode.UNSET, batch.getStatus().getStatusCode(), "the batch succeeded");
        }
    }

    private static ObjectNode attachCommand(String requestId, String node, String name, String uid) {
        ObjectNode ev = JSON.createObjectNode();
        ev.put("specversion", "1.0").put("id", requestId).put("source", "/netattach/attach-service/local").put("type", "io.netattach.node.attach")
                .put("subject", "default/" + name).put("time", "2026-11-29T22:00:00Z").put("datacontenttype", "application/json");
        ObjectNode d = ev.putObject("data");
        d.put("requestId", requestId).put("node", node);
        d.putObject("pod").put("namespace", "default").put("name", name).put("uid", uid);
        ObjectNode a = d.putArray("attachments").addObject();
        a.put("network", "default/macvlan-conf").put("interface", "net2");
        a.putObject("cniConfig").put("cniVersion", "1.0.0").put("type", "macvlan").put("mode", "bridge").put("mtu", 1400);
        a.putArray("ips").add("10.50.0.9/24");
        a.putArray("gateways").add("10.50.0.1");
        a.putArray("routes");
        a.putNull("mac");
        a.put("defaultRoute", false);
        return ev;
    }

    /** The shim as a container runtime runs it (see NodeWorkerTest); returns its exit status. */
    private static int shim(String command, String netns, String name, String uid) throws Exception {
        String socket = ConfigProvider.getConfig().getValue("netattach.node.socket", String.class);
        String containerId = "c0ffee" + uid;
        ProcessBuilder pb = new ProcessBuilder(Path.of("target/netattach-shim").toAbsolutePath().toString());
        pb.environment().clear();
        pb.environment().putAll(Map.of("CNI_COMMAND", command, "CNI_CONTAINERID", containerId, "CNI_NETNS", netns, "CNI_IFNAME", "eth0",
                "CNI_PATH", "/usr/lib/cni", "PATH", "/usr/bin:/bin",
                "CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=" + name + ";K8S_POD_INFRA_CONTAINER_ID=" + containerId + ";K8S_POD_UID=" + uid));
        Process p = pb.redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        p.getOutputStream().write("""
                {"cniVersion":"1.1.0","name":"k8s-pod-network","type":"netattach-shim","socketPath":"%s",
                 "prevResult":{"cniVersion":"1.1.0","interfaces":[{"name":"eth0","mac":"0a:58:0a:f4:01:05","sandbox":"/var/run/netns/x"}],
                               "ips":[{"address":"10.244.1.5/24","gateway":"10.244.1.1","interface":0}]}}
                """.formatted(socket).getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        return p.waitFor();
    }
}
