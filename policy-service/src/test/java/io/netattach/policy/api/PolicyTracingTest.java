package io.netattach.policy.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netattach.policy.kube.NetworkDefinitionInformer;
import io.netattach.testkit.InMemorySpans;
import io.netattach.testkit.TracingOn;
import io.netattach.testkit.InMemorySpans.TraceParent;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** With tracing on, a decision is a span of the trace its request came with; its answer and audit events carry that trace on. */
@QuarkusTest
@TestProfile(TracingOn.class)
@WithKubernetesTestServer(crud = true, setup = KubeSetup.class)
class PolicyTracingTest {
    private static final Duration WAIT = Duration.ofSeconds(30);


    @KubernetesTestServer KubernetesServer server;
    @Inject NetworkDefinitionInformer networks;
    @Inject InMemorySpanExporter spans;
    @Inject ObjectMapper json;

    private static String topic(String base) {
        return base + ConfigProvider.getConfig().getOptionalValue("netattach.kafka.topic-suffix", String.class).orElse("");
    }

    @Test
    void aDecisionIsASpanOfTheRequestsTraceAndItsAnswerAndAuditCarryTheTraceOn() throws Exception {
        KubeSetup.apply(server.getClient(), KubeSetup.nad("traced", "macvlan-conf", null));
        Poll.until("the NAD informer to hold traced/macvlan-conf", WAIT, () -> networks.ready() && networks.find("traced", "macvlan-conf").isPresent());
        String bootstrap = ConfigProvider.getConfig().getValue("kafka.bootstrap.servers", String.class);
        String uid = UUID.randomUUID().toString();
        String requestId = "policy/" + uid + "/traced";
        TraceParent attach = TraceParent.random(); // what attach-service's attach span would send
        var data = new Messages.PolicyRequestData(requestId, "local", new Messages.PodRefData("traced", "web", uid, null, Map.of("app", "web")),
                List.of(new Messages.SelectionData("traced", "macvlan-conf", "net1", null, null, null)));
        var event = Messages.CloudEvent.of(requestId, "/netattach/attach-service/local", "io.netattach.policy.request", "traced/web", "local", data);

        try (var decisions = new TopicReader(bootstrap, topic("netattach.policy.decisions"));
             var audit = new TopicReader(bootstrap, topic("netattach.audit"));
             var producer = new KafkaProducer<>(Map.<String, Object>of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap), new StringSerializer(), new StringSerializer())) {
            ProducerRecord<String, String> request = new ProducerRecord<>(topic("netattach.policy.requests"), uid, json.writeValueAsString(event));
            request.headers().add("content-type", "application/cloudevents+json".getBytes(StandardCharsets.UTF_8));
            request.headers().add("traceparent", attach.header().getBytes(StandardCharsets.UTF_8));
            producer.send(request).get(30, TimeUnit.SECONDS);
            var answer = decisions.await(TopicReader.id(requestId + "/result"), 1, WAIT).getFirst();
            assertTrue(answer.value().path("data").path("allowed").asBoolean(), answer.raw());
            var audited = audit.await(TopicReader.idStartsWith(requestId + "/audit/"), 1, WAIT).getFirst();

            SpanData decision = InMemorySpans.await(spans, "policy decision of trace " + attach.traceId(),
                    s -> s.getName().equals("policy decision") && s.getTraceId().equals(attach.traceId()));
            assertEquals(true, decision.getAttributes().get(AttributeKey.booleanKey("netattach.policy.allowed")));
            assertEquals(requestId, decision.getAttributes().get(AttributeKey.stringKey("netattach.request-id")));
            // under the request's span: through the connector's span of the record, up to the sender's span in the header
            assertEquals(attach.spanId(), InMemorySpans.chain(spans, decision.getSpanId()).getLast(), "ancestors of policy decision");

            for (var sent : List.of(answer, audited)) {
                String header = sent.headers().get("traceparent");
                assertNotNull(header, "a traceparent on " + sent.raw());
                TraceParent parent = TraceParent.parse(header);
                assertEquals(attach.traceId(), parent.traceId(), "the trace of " + sent.raw());
                InMemorySpans.await(spans, "the producer span of " + sent.value().path("id").asText(), s -> s.getSpanId().equals(parent.spanId()));
                assertTrue(InMemorySpans.chain(spans, parent.spanId()).contains(decision.getSpanId()), sent.value().path("id").asText() + " is sent under policy decision");
            }
        }
    }
}
