package io.netattach.policy.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBuilder;
import io.fabric8.kubernetes.api.model.rbac.SubjectBuilder;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.netattach.policy.domain.PodRef;
import io.netattach.policy.domain.PolicyRequest;
import io.netattach.policy.domain.Selection;
import io.netattach.policy.kube.NetworkDefinitionInformer;
import io.netattach.policy.kube.PolicyInformers;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.KubernetesTestServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end over the real Kafka broker and the mock API server, with the install's defaults (the local RBAC
 * evaluator aside, as the mock server does not evaluate SubjectAccessReviews): requests in, decisions and audit
 * events out, validated against docs/asyncapi.yaml and carrying the CloudEvents binding's content-type; records
 * that cannot be answered on the dead-letter topic; Events on denied pods; policy status counters; the dry-run
 * endpoint; the channels' health and Kafka client metrics. The seed's NADs macvlan-conf and bridge-conf turn RBAC
 * on by their annotation; the others do not.
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true, setup = KubeSetup.class)
class PolicyFlowTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static TopicReader decisions;
    private static TopicReader audit;
    private static TopicReader deadLetters;
    private static KafkaProducer<String, String> producer;

    /** The seed's NADs (two of them require RBAC by their annotation), tenant-a's, and those of namespaces with no RBAC objects. */
    private static final List<GenericKubernetesResource> NADS = List.of(
            KubeSetup.nad("default", "macvlan-conf", "true"), KubeSetup.nad("default", "bridge-conf", "true"),
            KubeSetup.nad("default", "shared-conf", null),
            KubeSetup.nad("tenant-a", "macvlan-conf", null), KubeSetup.nad("tenant-a", "bridge-conf", null),
            KubeSetup.nad("fresh", "macvlan-conf", null), KubeSetup.nad("team-b", "private-net", null));

    @KubernetesTestServer KubernetesServer server;
    @Inject PolicyInformers policies;
    @Inject NetworkDefinitionInformer networks;
    @Inject ObjectMapper json;

    private static String topic(String base) {
        return base + ConfigProvider.getConfig().getOptionalValue("netattach.kafka.topic-suffix", String.class).orElse("");
    }

    private static String bootstrap() {
        return ConfigProvider.getConfig().getValue("kafka.bootstrap.servers", String.class);
    }

    @BeforeEach
    void world() throws Exception {
        if (producer == null) {
            producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap(), ProducerConfig.ACKS_CONFIG, "all",
                    ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName(),
                    ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName()));
            decisions = new TopicReader(bootstrap(), topic("netattach.policy.decisions"));
            audit = new TopicReader(bootstrap(), topic("netattach.audit"));
            deadLetters = new TopicReader(bootstrap(), topic("netattach.dlq.policy-service"), false);
        }
        var nad = List.of("network-attachment-definitions");
        var group = List.of("k8s.cni.cncf.io");
        List<HasMetadata> objects = new ArrayList<>();
        // The seed's Role, bound to default/restricted as the seed's scenario binds it.
        objects.add(new RoleBuilder().withNewMetadata().withName("network-user").withNamespace("default").endMetadata()
                .addNewRule().withApiGroups(group).withResources(nad).withVerbs("get", "list").withResourceNames("macvlan-conf").endRule().build());
        objects.add(new RoleBindingBuilder().withNewMetadata().withName("restricted-network-user").withNamespace("default").endMetadata()
                .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("Role").withName("network-user").endRoleRef()
                .withSubjects(new SubjectBuilder().withKind("ServiceAccount").withName("restricted").withNamespace("default").build()).build());
        // tenant-a: no RBAC objects; policies decide.
        objects.add(new NamespaceBuilder().withNewMetadata().withName("tenant-a").withLabels(Map.of("tier", "prod")).endMetadata().build());
        for (HasMetadata o : objects) server.getClient().resource(o).createOr(NonDeletingOperation::update);
        for (var n : NADS) KubeSetup.apply(server.getClient(), n);
        Poll.until("the NAD informer to hold every NAD", WAIT, () -> networks.ready()
                && NADS.stream().allMatch(n -> networks.find(n.getMetadata().getNamespace(), n.getMetadata().getName()).isPresent()));
        apply(PolicyInformers.NAMESPACED, """
                apiVersion: policy.netattach.io/v1alpha1
                kind: NetworkAttachmentPolicy
                metadata: { name: db-static, namespace: tenant-a }
                spec:
                  podSelector: { matchLabels: { app: db } }
                  networks: [macvlan-conf]
                  maxInterfaces: 1
                  staticIPs: { allowed: true, cidrs: [192.168.1.0/25] }
                """);
        apply(PolicyInformers.CLUSTER, """
                apiVersion: policy.netattach.io/v1alpha1
                kind: ClusterNetworkAttachmentPolicy
                metadata: { name: prod-ceiling }
                spec:
                  namespaceSelector: { matchLabels: { tier: prod } }
                  networks: ["*"]
                  staticIPs: { allowed: true }
                """);
        Poll.until("policy informers to hold both policies and the tenant-a namespace", WAIT,
                () -> policies.ready() && policies.policies().size() >= 2 && "prod".equals(policies.namespaceLabels("tenant-a").get("tier")));
    }

    private void apply(io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext ctx, String yaml) {
        GenericKubernetesResource r = Serialization.unmarshal(yaml, GenericKubernetesResource.class);
        var op = server.getClient().genericKubernetesResources(ctx);
        var ns = r.getMetadata().getNamespace();
        if ((ns == null ? op.withName(r.getMetadata().getName()) : op.inNamespace(ns).withName(r.getMetadata().getName())).get() == null) {
            (ns == null ? op : op.inNamespace(ns)).resource(r).create();
        }
    }

    @AfterAll
    static void close() {
        if (producer != null) producer.close();
        if (decisions != null) decisions.close();
        if (audit != null) audit.close();
        if (deadLetters != null) deadLetters.close();
    }

    private static Selection sel(String ns, String name, String ifName, List<String> ips, String mac) {
        return new Selection(ns, name, ifName, ips, mac, null);
    }

    /** Sends a PolicyRequest CloudEvent (checked against the contract first) and returns the decision event. */
    private JsonNode ask(PolicyRequest request) throws Exception {
        send(request).get(10, TimeUnit.SECONDS);
        var got = decisions.await(TopicReader.id(request.requestId() + "/result"), 1, WAIT).getFirst();
        assertEquals(request.pod().uid(), got.key(), "decisions are keyed by pod UID");
        assertStructuredCloudEvent(got);
        AsyncApiSchemas.assertKey("PolicyDecision", got.key(), got.value());
        AsyncApiSchemas.assertValid("CloudEvent", got.value());
        AsyncApiSchemas.assertValid("PolicyDecisionData", got.value().get("data"));
        assertEquals("io.netattach.policy.decision", got.value().get("type").asText());
        assertEquals(request.pod().key(), got.value().get("subject").asText());
        return got.value().get("data");
    }

    /** Starts sending a PolicyRequest CloudEvent, checked against the contract first. */
    private java.util.concurrent.Future<?> send(PolicyRequest request) throws Exception {
        var data = new Messages.PolicyRequestData(request.requestId(), "local",
                new Messages.PodRefData(request.pod().namespace(), request.pod().name(), request.pod().uid(), request.pod().serviceAccount(), request.pod().labels()),
                request.selections().stream().map(s -> new Messages.SelectionData(s.namespace(), s.name(), s.interfaceName(), s.ips(), s.mac(), s.defaultRoute())).toList());
        var event = Messages.CloudEvent.of(request.requestId(), "/netattach/attach-service/local", "io.netattach.policy.request",
                request.pod().key(), "local", data);
        JsonNode tree = json.valueToTree(event);
        AsyncApiSchemas.assertValid("CloudEvent", tree);
        AsyncApiSchemas.assertValid("PolicyRequestData", tree.get("data"));
        AsyncApiSchemas.assertKey("PolicyRequest", request.pod().uid(), tree);
        return producer.send(new ProducerRecord<>(topic("netattach.policy.requests"), request.pod().uid(), json.writeValueAsString(event)));
    }

    private static List<TopicReader.Received> auditOf(String requestId, int count) throws Exception {
        var events = audit.await(TopicReader.idStartsWith(requestId + "/audit/"), count, WAIT);
        for (var e : events) {
            assertStructuredCloudEvent(e);
            AsyncApiSchemas.assertKey("AuditEvent", e.key(), e.value());
            AsyncApiSchemas.assertValid("CloudEvent", e.value());
            AsyncApiSchemas.assertValid("AuditData", e.value().get("data"));
        }
        return events;
    }

    /** The CloudEvents Kafka binding's structured mode: the event is the value, and the header says so. */
    private static void assertStructuredCloudEvent(TopicReader.Received r) {
        assertEquals("application/cloudevents+json", r.headers().get("content-type"), "content-type header of " + r.raw());
    }

    @Test
    void seedRoleAllowsMacvlanConfAndDeniesBridgeConfWithAuditAndPodEvent() throws Exception {
        var pod = new PodRef("default", "multi-net-pod", "uid-seed-1", "restricted", Map.of());
        JsonNode d = ask(new PolicyRequest("seed-1", "local", pod,
                List.of(sel("default", "macvlan-conf", "net1", null, null), sel("default", "bridge-conf", "net2", null, null))));
        assertFalse(d.get("allowed").asBoolean(), "one network denied: the request is denied");
        assertEquals("uid-seed-1", d.get("podUid").asText());
        assertTrue(d.get("decisions").get(0).get("allowed").asBoolean());
        assertEquals("rbac", d.get("decisions").get(0).get("rule").asText());
        assertFalse(d.get("decisions").get(1).get("allowed").asBoolean());
        assertEquals("rbac", d.get("decisions").get(1).get("rule").asText());
        assertTrue(d.get("reason").asText().startsWith("default/bridge-conf"), d.get("reason").asText());

        var events = auditOf("seed-1", 2);
        var types = events.stream().map(e -> e.value().get("type").asText()).sorted().toList();
        assertEquals(List.of("io.netattach.policy.allowed", "io.netattach.policy.denied"), types);
        var denied = events.stream().filter(e -> e.value().get("type").asText().endsWith("denied")).findFirst().orElseThrow().value();
        assertEquals("default/multi-net-pod", denied.get("subject").asText());
        assertEquals("denied", denied.get("data").get("outcome").asText());
        assertEquals("rbac", denied.get("data").get("rule").asText());
        assertEquals("default/bridge-conf", denied.get("data").get("network").asText());
        assertEquals("get", denied.get("data").get("inputs").get("rbacVerb").asText());
        assertTrue(denied.get("data").get("inputs").get("rbacRequired").asBoolean());
        assertEquals("nad-annotation", denied.get("data").get("inputs").get("rbacRequiredBy").asText());
        assertEquals("uid-seed-1", events.getFirst().key());

        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertTrue(metrics.lines().anyMatch(l -> l.startsWith("netattach_policy_decisions_total{") && l.contains("outcome=\"denied\"") && l.contains("rule=\"rbac\"")),
                "decision counter for the dashboard");

        Poll.until("a NetworkAttachmentDenied Event on the pod", WAIT, () -> server.getClient().v1().events().inNamespace("default").list().getItems().stream()
                .anyMatch(e -> "NetworkAttachmentDenied".equals(e.getReason()) && "multi-net-pod".equals(e.getInvolvedObject().getName())
                        && e.getMessage().contains("default/bridge-conf") && e.getMessage().contains("rbac")));
    }

    @Test
    void aRedeliveredRequestIsAnsweredAndAuditedAgainButCountedOnce() throws Exception {
        // as a poll read again after an unacknowledged audit event delivers it, or a sender's retry
        var pod = new PodRef("default", "again-pod", "uid-again-1", "restricted", Map.of());
        var request = new PolicyRequest("again-1", "local", pod, List.of(sel("default", "bridge-conf", "net1", null, null)));
        double before = decisionsCounted("denied", "rbac");
        assertFalse(ask(request).get("allowed").asBoolean());
        send(request).get(10, TimeUnit.SECONDS);
        assertEquals(2, decisions.await(TopicReader.id("again-1/result"), 2, WAIT).size(), "answered at each delivery");
        var audits = auditOf("again-1", 2);
        assertEquals(1, audits.stream().map(e -> e.value().get("id").asText()).distinct().count(), "audited again under the same id: " + audits);
        assertEquals(before + 1, decisionsCounted("denied", "rbac"), "netattach_policy_decisions_total counts the request once");
        Poll.until("the denial Event on the pod", WAIT, () -> deniedEvents("again-pod") >= 1);
        assertEquals(1, deniedEvents("again-pod"), "one NetworkAttachmentDenied Event");
    }

    private long deniedEvents(String podName) {
        return server.getClient().v1().events().inNamespace("default").list().getItems().stream()
                .filter(e -> "NetworkAttachmentDenied".equals(e.getReason()) && podName.equals(e.getInvolvedObject().getName())).count();
    }

    /** netattach_policy_decisions_total for one outcome and rule, from /q/metrics (0 before the first). */
    private static double decisionsCounted(String outcome, String rule) {
        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        return metrics.lines().filter(l -> l.startsWith("netattach_policy_decisions_total{") && l.contains("outcome=\"" + outcome + "\"") && l.contains("rule=\"" + rule + "\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    @Test
    void manyRequestsAtOnceAreEachAnsweredOnceAfterTheirAuditEvents() throws Exception {
        // sent together, so that the service reads them in few polls: 10 pods, 4 requests each
        List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
        for (int r = 0; r < 4; r++) {
            for (int p = 0; p < 10; p++) {
                var pod = new PodRef(p % 2 == 0 ? "default" : "tenant-a", "burst-" + p, "uid-burst-" + p, "restricted", Map.of());
                sent.add(send(new PolicyRequest("burst-" + p + "-" + r, "local", pod, List.of(sel("default", "macvlan-conf", "net1", null, null)))));
            }
        }
        for (var f : sent) f.get(10, TimeUnit.SECONDS);
        var answers = decisions.await(TopicReader.idStartsWith("burst-"), 40, WAIT);
        assertEquals(40, answers.size(), "every request answered once");
        for (int p = 0; p < 10; p++) {
            String prefix = "burst-" + p + "-";
            // answers are matched by requestId: any order, each exactly once
            List<String> ids = answers.stream().map(a -> a.value().get("id").asText()).filter(id -> id.startsWith(prefix)).sorted().toList();
            assertEquals(List.of(prefix + "0/result", prefix + "1/result", prefix + "2/result", prefix + "3/result"), ids, "each of the pod's requests answered once");
            assertEquals(p % 2 == 0, answers.stream().filter(a -> a.value().get("id").asText().startsWith(prefix)).allMatch(a -> a.value().get("data").get("allowed").asBoolean()),
                    "restricted of default may use macvlan-conf (the Role binds it there), restricted of tenant-a may not");
        }
        for (var a : answers) {
            String requestId = a.value().get("id").asText().replace("/result", "");
            var events = auditOf(requestId, 1);
            assertEquals(1, events.size(), "one audit event per request (one network): " + requestId);
            assertTrue(events.getFirst().timestamp() <= a.timestamp(), "the decision of " + requestId + " was sent after its audit event");
        }
    }

    @Test
    void aFreshNamespaceWithNoRbacObjectsIsAllowedByDefault() throws Exception {
        var pod = new PodRef("fresh", "web", "uid-fresh-1", null, Map.of("app", "web"));
        JsonNode d = ask(new PolicyRequest("fresh-1", "local", pod, List.of(sel("fresh", "macvlan-conf", "net1", null, null))));
        assertTrue(d.get("allowed").asBoolean(), d.toString());
        assertEquals("namespace-isolation", d.get("decisions").get(0).get("rule").asText());
        JsonNode inputs = auditOf("fresh-1", 1).getFirst().value().get("data").get("inputs");
        assertFalse(inputs.get("rbacRequired").asBoolean(), inputs.toString());
        assertEquals("default", inputs.get("serviceAccount").asText());
    }

    @Test
    void aPodMayUseTheNadsOfDefaultButNotOfAnotherNamespaceAndTheDenialNamesTheSetting() throws Exception {
        var pod = new PodRef("fresh", "cross", "uid-cross-1", null, Map.of());
        JsonNode shared = ask(new PolicyRequest("cross-1", "local", pod, List.of(sel("default", "shared-conf", "net1", null, null))));
        assertTrue(shared.get("allowed").asBoolean(), shared.toString());
        assertEquals("namespace default is global", shared.get("decisions").get(0).get("reason").asText());

        JsonNode other = ask(new PolicyRequest("cross-2", "local", pod, List.of(sel("team-b", "private-net", "net1", null, null))));
        assertFalse(other.get("allowed").asBoolean());
        assertEquals("namespace-isolation", other.get("decisions").get(0).get("rule").asText());
        String setting = "set netattach.policy.namespace-isolation.global-namespaces (NETATTACH_POLICY_NAMESPACE_ISOLATION_GLOBAL_NAMESPACES)"
                + " to include \"team-b\", or turn namespace isolation off";
        assertTrue(other.get("reason").asText().contains(setting), other.get("reason").asText());
        assertTrue(auditOf("cross-2", 1).getFirst().value().get("data").get("reason").asText().contains(setting));
        Poll.until("a NetworkAttachmentDenied Event naming the setting", WAIT, () -> server.getClient().v1().events().inNamespace("fresh").list().getItems()
                .stream().anyMatch(e -> "NetworkAttachmentDenied".equals(e.getReason()) && "cross".equals(e.getInvolvedObject().getName())
                        && e.getMessage().contains(setting)));
    }

    @Test
    void aNadAnnotatedRequireRbacDeniesAServiceAccountWithoutABindingAndAllowsOneWithIt() throws Exception {
        var unbound = new PodRef("default", "unbound-pod", "uid-unbound-1", null, Map.of());
        JsonNode denied = ask(new PolicyRequest("unbound-1", "local", unbound, List.of(sel("default", "macvlan-conf", "net1", null, null))));
        assertFalse(denied.get("allowed").asBoolean());
        assertEquals("rbac", denied.get("decisions").get(0).get("rule").asText());
        assertTrue(denied.get("reason").asText().contains("system:serviceaccount:default:default may not get")
                && denied.get("reason").asText().contains("annotation policy.netattach.io/require-rbac: \"true\""), denied.get("reason").asText());

        var bound = new PodRef("default", "bound-pod", "uid-bound-1", "restricted", Map.of());
        JsonNode allowed = ask(new PolicyRequest("bound-1", "local", bound, List.of(sel("default", "macvlan-conf", "net1", null, null))));
        assertTrue(allowed.get("allowed").asBoolean(), allowed.toString());
        assertEquals("rbac", allowed.get("decisions").get(0).get("rule").asText());
    }

    @Test
    void aNadMissingFromTheCacheIsAnsweredUnavailable() throws Exception {
        var pod = new PodRef("fresh", "early", "uid-early-1", null, Map.of());
        JsonNode d = ask(new PolicyRequest("early-1", "local", pod, List.of(sel("fresh", "not-created", "net1", null, null))));
        assertFalse(d.get("allowed").asBoolean());
        assertEquals("unavailable", d.get("decisions").get(0).get("rule").asText());
        assertTrue(d.get("reason").asText().startsWith("fresh/not-created: policy unavailable: NetworkAttachmentDefinition fresh/not-created"
                + " is not in policy-service's cache"), d.get("reason").asText());
    }

    @Test
    void otherNamespacesNetworkIsDeniedByNamespaceIsolation() throws Exception {
        var pod = new PodRef("tenant-a", "web", "uid-iso-1", "restricted", Map.of("app", "web"));
        JsonNode d = ask(new PolicyRequest("iso-1", "local", pod, List.of(sel("team-b", "private-net", "net1", null, null))));
        assertFalse(d.get("allowed").asBoolean());
        assertEquals("namespace-isolation", d.get("decisions").get(0).get("rule").asText());
        assertEquals("denied", auditOf("iso-1", 1).getFirst().value().get("data").get("outcome").asText());
    }

    @Test
    void namespacePolicyGrantsStaticIpInsideItsCidrAndDeniesOutside() throws Exception {
        var pod = new PodRef("tenant-a", "db-0", "uid-pol-1", "db-sa", Map.of("app", "db"));
        JsonNode ok = ask(new PolicyRequest("pol-1", "local", pod, List.of(sel("tenant-a", "macvlan-conf", "net1", List.of("192.168.1.10/24"), null))));
        assertTrue(ok.get("allowed").asBoolean(), ok.toString());
        assertEquals("policy/tenant-a/db-static", ok.get("decisions").get(0).get("rule").asText());

        JsonNode outside = ask(new PolicyRequest("pol-2", "local", pod, List.of(sel("tenant-a", "macvlan-conf", "net1", List.of("192.168.1.200/24"), null))));
        assertFalse(outside.get("allowed").asBoolean());
        assertEquals("policy/tenant-a/db-static", outside.get("decisions").get(0).get("rule").asText());
        assertTrue(outside.get("reason").asText().contains("192.168.1.200/24"), outside.get("reason").asText());

        JsonNode two = ask(new PolicyRequest("pol-3", "local", pod, List.of(sel("tenant-a", "macvlan-conf", "net1", null, null), sel("tenant-a", "macvlan-conf", "net2", null, null))));
        assertFalse(two.get("allowed").asBoolean(), "maxInterfaces 1");
        assertTrue(two.get("decisions").get(0).get("allowed").asBoolean());
        assertTrue(two.get("decisions").get(1).get("reason").asText().contains("at most 1"));

        Poll.until("db-static status to count the decisions", WAIT, () -> {
            var r = server.getClient().genericKubernetesResources(PolicyInformers.NAMESPACED).inNamespace("tenant-a").withName("db-static").get();
            Object status = r == null ? null : r.getAdditionalProperties().get("status");
            return status instanceof Map<?, ?> m && m.get("allowed") instanceof Number a && a.longValue() >= 2
                    && m.get("denied") instanceof Number n && n.longValue() >= 2;
        });
    }

    @Test
    void clusterPolicyAppliesToPodsThatNoNamespacePolicySelects() throws Exception {
        var pod = new PodRef("tenant-a", "web-0", "uid-cpol-1", "web-sa", Map.of("app", "web"));
        JsonNode ok = ask(new PolicyRequest("cpol-1", "local", pod, List.of(sel("tenant-a", "bridge-conf", "net1", null, null))));
        assertTrue(ok.get("allowed").asBoolean(), ok.toString());
        assertEquals("clusterpolicy/prod-ceiling", ok.get("decisions").get(0).get("rule").asText());
        JsonNode mac = ask(new PolicyRequest("cpol-2", "local", pod, List.of(sel("tenant-a", "bridge-conf", "net1", null, "02:00:00:00:00:0a"))));
        assertFalse(mac.get("allowed").asBoolean());
        assertEquals("clusterpolicy/prod-ceiling", mac.get("decisions").get(0).get("rule").asText());
    }

    @Test
    void malformedRequestIsDeniedAsInvalidNamingTheField() throws Exception {
        var pod = new PodRef("default", "bad-pod", "uid-bad-1", "restricted", Map.of());
        JsonNode d = ask(new PolicyRequest("bad-1", "local", pod, List.of(sel("default", "macvlan-conf", "this-name-is-too-long", null, null))));
        assertFalse(d.get("allowed").asBoolean());
        assertEquals("invalid-request", d.get("decisions").get(0).get("rule").asText());
        assertTrue(d.get("reason").asText().contains("selections[0].interface"), d.get("reason").asText());
        assertEquals("denied", auditOf("bad-1", 1).getFirst().value().get("data").get("outcome").asText());
    }

    @Test
    void dryRunAnswersOverHttpWithoutAuditEvents() throws Exception {
        String body = """
                {"requestId": "dry-1", "pod": {"namespace": "default", "name": "dry-pod", "uid": "uid-dry-1", "serviceAccount": "restricted"},
                 "selections": [{"namespace": "default", "name": "macvlan-conf", "interface": "net1"},
                                {"namespace": "default", "name": "bridge-conf", "interface": "net2"}]}""";
        String answer = given().contentType("application/json").body(body).post("/api/v1/decisions")
                .then().statusCode(200).extract().asString();
        JsonNode d = json.readTree(answer);
        AsyncApiSchemas.assertValid("PolicyDecisionData", d);
        assertFalse(d.get("allowed").asBoolean());
        assertTrue(d.get("decisions").get(0).get("allowed").asBoolean());
        assertEquals("rbac", d.get("decisions").get(1).get("rule").asText());

        // Same pod, real request after the dry run: audit events of one key keep their order, so when the real
        // request's events have arrived, any dry-run event would have arrived before them.
        ask(new PolicyRequest("real-after-dry-1", "local", new PodRef("default", "dry-pod", "uid-dry-1", "restricted", Map.of()),
                List.of(sel("default", "macvlan-conf", "net1", null, null))));
        auditOf("real-after-dry-1", 1);
        assertEquals(0, audit.await(r -> true, 0, Duration.ZERO).stream().filter(TopicReader.idStartsWith("dry-1/")).count());
    }

    @Test
    void dryRunRejectsMalformedMacWith400NamingFieldAndValue() {
        String body = """
                {"pod": {"namespace": "default", "name": "p", "uid": "u"},
                 "selections": [{"namespace": "default", "name": "macvlan-conf", "interface": "net1", "mac": "not-a-mac"}]}""";
        String error = given().contentType("application/json").body(body).post("/api/v1/decisions")
                .then().statusCode(400).extract().path("error");
        assertTrue(error.contains("selections[0].mac") && error.contains("not-a-mac"), error);
    }

    @Test
    void dryRunRejectsABodyThatIsNotJsonWith400() {
        String error = given().contentType("application/json").body("{\"pod\": \"not an object\"").post("/api/v1/decisions")
                .then().statusCode(400).extract().path("error");
        assertTrue(error.startsWith("body: "), error);
    }

    @Test
    void aRequestThatCannotBeAnsweredGoesToTheDeadLetterTopicNamingTheFieldAndThePodsNextIsAnswered() throws Exception {
        String key = "uid-poison-1";
        String requests = topic("netattach.policy.requests");
        String notJson = "{not json";
        String noUid = """
                {"specversion": "1.0", "id": "poison-2", "source": "/netattach/attach-service/local", "type": "io.netattach.policy.request",
                 "data": {"requestId": "poison-2", "pod": {"namespace": "default", "name": "poison-pod"}, "selections": []}}""";
        producer.send(new ProducerRecord<>(requests, key, notJson)).get(10, TimeUnit.SECONDS);
        producer.send(new ProducerRecord<>(requests, key, noUid)).get(10, TimeUnit.SECONDS);
        // the same pod's next request: one pod's requests are handled one after the other, so the two before it were nacked first
        var pod = new PodRef("default", "poison-pod", key, "restricted", Map.of());
        JsonNode d = ask(new PolicyRequest("poison-3", "local", pod, List.of(sel("default", "macvlan-conf", "net1", null, null))));
        assertTrue(d.get("allowed").asBoolean(), d.toString());

        var dead = deadLetters.await(r -> key.equals(r.key()), 2, WAIT);
        assertEquals(List.of(notJson, noUid), dead.stream().map(TopicReader.Received::raw).toList(), "the records as they came, in order");
        String unreadable = dead.get(0).headers().get("dead-letter-reason");
        assertTrue(unreadable.startsWith("value: not JSON") && unreadable.endsWith(notJson), unreadable);
        String missing = dead.get(1).headers().get("dead-letter-reason");
        assertTrue(missing.startsWith("data.pod.uid: missing"), missing);
        assertEquals(requests, dead.get(1).headers().get("dead-letter-topic"));
        assertEquals(0, decisions.await(r -> true, 0, Duration.ZERO).stream().filter(TopicReader.idStartsWith("poison-2")).count(), "no answer to it");
    }

    @Test
    void decisionsAndAuditEventsCarryTheCloudEventsStructuredContentType() throws Exception {
        var pod = new PodRef("fresh", "typed", "uid-typed-1", null, Map.of());
        ask(new PolicyRequest("typed-1", "local", pod, List.of(sel("fresh", "macvlan-conf", "net1", null, null),
                sel("team-b", "private-net", "net2", null, null))));
        auditOf("typed-1", 2);
        // every record this service has sent so far, not only these
        for (var r : decisions.await(r -> true, 1, WAIT)) assertStructuredCloudEvent(r);
        for (var r : audit.await(r -> true, 2, WAIT)) assertStructuredCloudEvent(r);
    }

    @Test
    void metricsShowTheKafkaClientsOfTheChannels() throws Exception {
        var pod = new PodRef("fresh", "metered", "uid-metered-1", null, Map.of());
        ask(new PolicyRequest("metered-1", "local", pod, List.of(sel("fresh", "macvlan-conf", "net1", null, null))));
        // client-level meters; the per-partition kafka_consumer_fetch_manager_records_lag{topic,partition} follow
        // at Micrometer's next look at the client's metrics (every 60 s)
        var last = new java.util.concurrent.atomic.AtomicReference<List<String>>(List.of());
        try {
            Poll.until("consumer lag and reads of policy-requests and sends of policy-out (decisions and audit) in /q/metrics", WAIT, () -> {
                List<String> lines = given().get("/q/metrics").then().statusCode(200).extract().asString().lines()
                        .filter(l -> l.startsWith("kafka_")).toList();
                last.set(lines);
                return kafkaMetric(lines, "kafka_consumer_fetch_manager_records_lag_max", "kafka-consumer-policy-requests") >= 0
                        && kafkaMetric(lines, "kafka_consumer_fetch_manager_records_consumed_total", "kafka-consumer-policy-requests") >= 1
                        && kafkaMetric(lines, "kafka_producer_record_send_total", "kafka-producer-policy-out") >= 2;
            });
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; Kafka metrics seen:\n" + String.join("\n", last.get()), e);
        }
    }

    /** The value of a Kafka client meter for one client id, -1 when it is not there (or NaN). */
    private static double kafkaMetric(List<String> lines, String name, String clientId) {
        return lines.stream().filter(l -> l.startsWith(name + "{") && l.contains("client_id=\"" + clientId + "\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).filter(v -> !Double.isNaN(v)).findFirst().orElse(-1);
    }

    @Test
    void readinessReportsThePolicyCachesSyncedAndTheKafkaChannelsConnected() {
        String body = given().get("/q/health/ready").then().statusCode(200).extract().asString();
        String compact = body.replace(" ", "");
        assertTrue(body.contains("policy-caches") && compact.contains("\"rbac\":\"true\"") && compact.contains("\"networks\":\"true\""), body);
        for (String channel : List.of("policy-requests", "policy-out")) {
            assertEquals("[OK]", given().get("/q/health/ready").then().extract()
                    .path("checks.find { it.name == 'SmallRye Reactive Messaging - readiness check' }.data.'" + channel + "'"), channel + ": " + body);
            assertEquals("[OK]", given().get("/q/health/live").then().extract()
                    .path("checks.find { it.name == 'SmallRye Reactive Messaging - liveness check' }.data.'" + channel + "'"), channel);
        }
    }
}
