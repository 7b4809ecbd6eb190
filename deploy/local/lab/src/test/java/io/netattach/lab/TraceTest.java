package io.netattach.lab;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One pod's attach is one trace across the four services, as an operator sees it in a tracing backend: the lab's
 * services export to the lab's OTLP sink (lab.sh up with NETATTACH_TRACING_RATIO=1, as test.sh runs it), which
 * writes every span it receives to spans.jsonl.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TraceTest {
    private static final Duration WAIT = Duration.ofSeconds(90);
    private LabWorld lab;

    @BeforeAll
    void up() throws Exception {
        lab = new LabWorld();
    }

    @AfterAll
    void close() {
        if (lab != null) lab.close();
    }


    /** Every span the sink received so far, by span id. */
    private static Map<String, JsonNode> spans() {
        Map<String, JsonNode> byId = new HashMap<>();
        try {
            for (String line : Files.readAllLines(LabWorld.labDir().resolve("spans.jsonl"))) {
                if (line.isBlank()) continue;
                JsonNode s = LabWorld.JSON.readTree(line);
                byId.put(s.path("spanId").asText(), s);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return byId;
    }

    /** The span's ancestors' ids, nearest first, as far as the sink has them. */
    private static List<String> ancestors(Map<String, JsonNode> byId, JsonNode span) {
        List<String> up = new ArrayList<>();
        for (JsonNode s = span; s != null && !s.path("parentSpanId").isNull() && !s.path("parentSpanId").isMissingNode(); ) {
            String parent = s.path("parentSpanId").asText();
            up.add(parent);
            s = byId.get(parent);
        }
        return up;
    }

    @Test
    void onePodsAttachIsOneTraceThroughAttachPolicyIpamAndItsNode() throws Exception {
        Path ratio = LabWorld.labDir().resolve("tracing-ratio");
        assertTrue(Files.exists(ratio) && !Files.readString(ratio).trim().equals("0"),
                "the lab samples no trace: bring it up with NETATTACH_TRACING_RATIO=1 deploy/local/lab.sh up (as test.sh does)");
        String ns = "traced-" + UUID.randomUUID().toString().substring(0, 6);
        lab.applyYaml("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n");
        lab.applyYaml(DropInTest.macvlanNad(ns, "lan", "{\"type\": \"host-local\", \"subnet\": \"10.63.0.0/24\"}"));
        lab.applyYaml(DropInTest.pod(ns, "web", "lan"));

        JsonNode root = LabWorld.waitFor("the root span attach " + ns + "/web in the sink", WAIT, () -> spans().values().stream()
                .filter(s -> s.path("name").asText().equals("attach " + ns + "/web")).findFirst().orElse(null));
        assertEquals("attach-service", root.path("service").asText());
        assertTrue(root.path("parentSpanId").isNull(), "the attach starts its trace: " + root);
        String trace = root.path("traceId").asText();
        assertEquals(LabWorld.waitFor(ns + "/web's uid", WAIT, () -> lab.client.pods().inNamespace(ns).withName("web").get())
                .getMetadata().getUid(), root.path("attributes").path("k8s.pod.uid").asText());

        // each service's own span, under the root: through the Kafka producer and consumer spans between them
        for (String[] expected : List.of(new String[] {"policy-service", "policy decision"}, new String[] {"ipam-service", "ipam allocate"},
                new String[] {"node-worker", "netlink attach"})) {
            JsonNode span = LabWorld.waitFor(expected[1] + " of trace " + trace, WAIT, () -> spans().values().stream()
                    .filter(s -> s.path("traceId").asText().equals(trace) && s.path("name").asText().equals(expected[1])).findFirst().orElse(null));
            assertEquals(expected[0], span.path("service").asText(), expected[1] + " is " + expected[0] + "'s");
            List<String> up = LabWorld.waitFor("the ancestors of " + expected[1] + " up to the root", WAIT, () -> {
                List<String> a = ancestors(spans(), span);
                return a.contains(root.path("spanId").asText()) ? a : null;
            });
            assertNotNull(up);
        }
        JsonNode decision = spans().values().stream().filter(s -> s.path("traceId").asText().equals(trace) && s.path("name").asText().equals("policy decision"))
                .findFirst().orElseThrow();
        assertEquals("true", decision.path("attributes").path("netattach.policy.allowed").asText(), decision.toString());
    }
}
