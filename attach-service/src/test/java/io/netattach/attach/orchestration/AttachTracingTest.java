package io.netattach.attach.orchestration;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.netattach.testkit.InMemorySpans;
import io.netattach.testkit.TracingOn;
import io.netattach.testkit.InMemorySpans.TraceParent;
import io.netattach.attach.kube.ClusterView;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With tracing on, one pod's attach is one trace: a root span "attach namespace/pod", and every request it sends
 * (policy, IPAM, node) carries that trace in its traceparent header, sent under the root span.
 */
@QuarkusTest
@TestProfile(TracingOn.class)
@WithKubernetesTestServer(crud = true)
class AttachTracingTest {

    static StandIns standIns;

    @Inject KubernetesClient client;
    @Inject InMemorySpanExporter spans;

    @AfterAll
    static void stop() {
        if (standIns != null) standIns.close();
    }

    @Test
    void oneAttachIsOneTraceWhoseRequestsCarryTheRootSpansTrace() throws Exception {
        var config = ConfigProvider.getConfig();
        standIns = new StandIns(config.getValue("kafka.bootstrap.servers", String.class), config.getValue("netattach.kafka.topic-suffix", String.class));
        GenericKubernetesResource nad = new GenericKubernetesResourceBuilder().withApiVersion("k8s.cni.cncf.io/v1").withKind("NetworkAttachmentDefinition")
                .withNewMetadata().withNamespace("traced").withName("macvlan-conf").endMetadata().build();
        nad.setAdditionalProperty("spec", Map.of("config", AttachFlowTest.MACVLAN));
        client.genericKubernetesResources(ClusterView.NAD).inNamespace("traced").resource(nad).create();
        String uid = client.pods().inNamespace("traced").resource(new PodBuilder().withNewMetadata().withNamespace("traced").withName("web")
                .withUid(UUID.randomUUID().toString()).addToAnnotations(AttachFlowTest.NETWORKS, "macvlan-conf").endMetadata()
                .withNewSpec().withNodeName("node-a").withServiceAccountName("default")
                .addNewContainer().withName("app").withImage("nicolaka/netshoot").endContainer().endSpec().build()).create().getMetadata().getUid();

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (standIns.of("io.netattach.node.attach", uid).isEmpty() && System.nanoTime() < deadline) Thread.sleep(50);
        SpanData root = InMemorySpans.await(spans, "attach traced/web", s -> s.getName().equals("attach traced/web"));
        assertEquals("0000000000000000", root.getParentSpanId(), "the attach span is a root");
        assertEquals(uid, root.getAttributes().get(io.opentelemetry.api.common.AttributeKey.stringKey("k8s.pod.uid")));

        for (String type : List.of("io.netattach.policy.request", "io.netattach.ipam.allocate", "io.netattach.node.attach")) {
            List<StandIns.Received> sent = standIns.of(type, uid);
            assertTrue(!sent.isEmpty(), "no " + type + " for the pod");
            String header = sent.getFirst().headers().get("traceparent");
            assertNotNull(header, type + " carries a traceparent");
            TraceParent parent = TraceParent.parse(header);
            assertEquals(root.getTraceId(), parent.traceId(), "the trace of " + type);
            InMemorySpans.await(spans, "the producer span of " + type, s -> s.getSpanId().equals(parent.spanId()));
            assertTrue(InMemorySpans.chain(spans, parent.spanId()).contains(root.getSpanId()), type + " is sent under the attach span");
        }
        assertEquals(List.of(), List.copyOf(standIns.violations), "messages that violate docs/asyncapi.yaml");
    }
}
