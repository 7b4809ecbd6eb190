package io.netattach.attach.orchestration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Small stand-ins for policy-service, ipam-service and node-worker: they read the request topics and answer
 * per docs/asyncapi.yaml, recording every request (and every audit event) for the assertions.
 */
final class StandIns implements AutoCloseable {
    record Received(String topic, String key, JsonNode event, Map<String, String> headers) {
        JsonNode data() {
            return event.path("data");
        }
    }

    final ObjectMapper json = new ObjectMapper();
    final Queue<Received> received = new ConcurrentLinkedQueue<>();
    /** Every message read or sent here that does not match docs/asyncapi.yaml. */
    final Queue<String> violations = new ConcurrentLinkedQueue<>();
    /** Networks ("ns/name") policy denies. */
    final Set<String> denied = ConcurrentHashMap.newKeySet();
    /** Networks ("ns/name") whose policy rule cannot be evaluated (rule "unavailable", as policy-service answers then). */
    final Set<String> unavailable = ConcurrentHashMap.newKeySet();
    /** Pod names whose node attach fails. */
    final Set<String> nodeFailsFor = ConcurrentHashMap.newKeySet();
    /** Networks ("ns/name") whose interface kind the node's kernel cannot make (as node-worker reports EOPNOTSUPP). */
    final Set<String> kernelLacks = ConcurrentHashMap.newKeySet();
    /** Pod names whose first node attach command is dropped (the node never answers it). */
    final Set<String> nodeSilentOnceFor = ConcurrentHashMap.newKeySet();
    /** Pod names whose node attach commands are all dropped while listed. */
    final Set<String> nodeSilentFor = ConcurrentHashMap.newKeySet();
    /** Pod names whose node detach commands are all dropped while listed. */
    final Set<String> nodeDetachSilentFor = ConcurrentHashMap.newKeySet();
    /** Pod names for which every answer is delivered twice. */
    final Set<String> duplicateFor = ConcurrentHashMap.newKeySet();
    /** Pod name -> the container id of its current sandbox, as the node stand-in reports it (default sandbox-1). */
    final Map<String, String> sandboxes = new ConcurrentHashMap<>();
    /** IPAM state: owner "podUid/interface" -> CIDR. */
    final Map<String, String> allocations = new ConcurrentHashMap<>();
    /** When each allocation was made (absent: long ago, as for an injected leak). */
    final Map<String, Instant> allocatedAt = new ConcurrentHashMap<>();
    private final AtomicInteger nextHost = new AtomicInteger(10);

    private final String suffix;
    private final KafkaProducer<String, String> producer;
    private final KafkaConsumer<String, String> consumer;
    private final Thread thread;
    private volatile boolean running = true;

    StandIns(String bootstrap, String suffix) {
        this.suffix = suffix;
        producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap, ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class, ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class));
        consumer = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.GROUP_ID_CONFIG, "stand-ins-" + UUID.randomUUID(), ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class, ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class));
        consumer.subscribe(List.of(t("netattach.policy.requests"), t("netattach.ipam.requests"), t("netattach.node.commands"), t("netattach.audit")));
        thread = Thread.ofPlatform().daemon().name("stand-ins").start(this::loop);
    }

    String t(String base) {
        return base + suffix;
    }

    private void loop() {
        try {
            while (running) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) {
                    JsonNode event = json.readTree(r.value());
                    Map<String, String> headers = new java.util.HashMap<>();
                    r.headers().forEach(h -> headers.put(h.key(), new String(h.value(), StandardCharsets.UTF_8)));
                    received.add(new Received(r.topic(), r.key(), event, headers));
                    check(event);
                    var binding = AsyncApiContract.headerViolations(headers);
                    if (!binding.isEmpty()) violations.add(event.path("type").asText() + " " + event.path("id").asText() + " on " + r.topic() + ": headers " + headers + ": " + binding);
                    var key = AsyncApiContract.keyViolations(r.key(), event);
                    if (!key.isEmpty()) violations.add(event.path("type").asText() + " " + event.path("id").asText() + " on " + r.topic() + ": " + key);
                    answer(r.topic(), r.key(), event);
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (Exception e) {
            e.printStackTrace();
        } finally {
            consumer.close();
        }
    }

    private void answer(String topic, String key, JsonNode event) throws Exception {
        JsonNode d = event.path("data");
        String type = event.path("type").asText();
        String podName = d.path("pod").path("name").asText(d.path("owner").path("pod").asText());
        String requestId = d.path("requestId").asText();
        ObjectNode out = json.createObjectNode().put("requestId", requestId);
        String replyTopic;
        String replyType;
        if (topic.equals(t("netattach.policy.requests"))) {
            replyTopic = t("netattach.policy.decisions");
            replyType = "io.netattach.policy.decision";
            out.put("podUid", d.path("pod").path("uid").asText());
            ArrayNode decisions = out.putArray("decisions");
            String reason = null;
            for (JsonNode s : d.path("selections")) {
                String network = s.path("namespace").asText() + "/" + s.path("name").asText();
                if (unavailable.contains(network)) {
                    String why = "policy unavailable: rbac: SubjectAccessReview failed: connection refused";
                    if (reason == null) reason = why;
                    decisions.addObject().put("network", network).put("allowed", false).put("rule", "unavailable").put("reason", why);
                    continue;
                }
                boolean allowed = !denied.contains(network);
                if (!allowed && reason == null) reason = "namespace \"" + s.path("namespace").asText() + "\" may not use network \"" + network + "\"";
                decisions.addObject().put("network", network).put("allowed", allowed).put("rule", allowed ? "namespace-isolation" : "policy/netattach/deny-test").put("reason", allowed ? null : reason);
            }
            out.put("allowed", reason == null);
            out.put("reason", reason);
        } else if (topic.equals(t("netattach.ipam.requests"))) {
            replyTopic = t("netattach.ipam.results");
            replyType = "io.netattach.ipam.result";
            JsonNode owner = d.path("owner");
            String uid = owner.path("podUid").asText();
            if (type.equals("io.netattach.ipam.allocate")) {
                String ownerKey = uid + "/" + owner.path("interface").asText();
                String wanted = d.path("ips").isArray() && !d.path("ips").isEmpty() ? d.path("ips").get(0).asText() : null;
                String cidr = d.path("dryRun").asBoolean(false)
                        ? allocations.getOrDefault(ownerKey, wanted != null ? wanted : "10.9.0." + nextHost.get() + "/24")
                        : allocations.computeIfAbsent(ownerKey, k -> {
                            allocatedAt.put(k, Instant.now());
                            return wanted != null ? wanted : "10.9.0." + nextHost.getAndIncrement() + "/24";
                        });
                out.put("ok", true).put("pool", d.path("network").asText());
                out.putArray("ips").add(cidr);
                out.putArray("gateways").add("10.9.0.1");
                out.putArray("routes").addObject().put("dst", "10.8.0.0/16").put("gw", "10.9.0.1");
                out.putNull("dns");
                out.putNull("error");
            } else if (type.equals("io.netattach.ipam.reconcile")) {
                // as ipam-service: release what belongs to no live pod and is older than the snapshot
                Set<String> live = new java.util.HashSet<>();
                d.path("liveOwners").forEach(o -> live.add(o.asText()));
                Instant snapshot = Instant.parse(d.path("snapshotTime").asText());
                int before = allocations.size();
                allocations.keySet().removeIf(k -> !live.contains(k.substring(0, k.indexOf('/')))
                        && allocatedAt.getOrDefault(k, Instant.EPOCH).isBefore(snapshot));
                out.put("ok", true).put("released", before - allocations.size()).putNull("error");
                out.putArray("ips");
            } else {
                String iface = owner.path("interface").isNull() ? null : owner.path("interface").asText();
                int before = allocations.size();
                allocations.keySet().removeIf(k -> k.startsWith(uid + "/") && (iface == null || k.equals(uid + "/" + iface)));
                out.put("ok", true).put("released", before - allocations.size()).putNull("error");
                out.putArray("ips");
            }
        } else if (topic.equals(t("netattach.node.commands"))) {
            replyTopic = t("netattach.node.results");
            replyType = "io.netattach.node.result";
            out.put("node", d.path("node").asText());
            out.set("pod", d.path("pod"));
            if (type.equals("io.netattach.node.blocked")) return; // no answer: recorded only
            if (type.equals("io.netattach.node.attach")) {
                if (nodeSilentOnceFor.remove(podName) || nodeSilentFor.contains(podName)) return;
                // the node first says it waits for the sandbox, then reports what it made
                ObjectNode pending = out.deepCopy().put("ok", true).put("pending", true);
                reply(replyTopic, event, replyType, pending, podName);
                if (nodeFailsFor.contains(podName)) {
                    out.put("ok", false).put("pending", false);
                    out.putObject("error").put("reason", "Failed").put("message", "macvlan: master \"eth9\" not found");
                } else {
                    out.put("ok", true).put("pending", false).put("sandbox", "/var/run/netns/test").put("containerId", sandboxOf(podName));
                    // the cluster network of the sandbox, from the chain's prevResult (a pod IP of the stand-in's own)
                    ObjectNode primary = out.putObject("primary").put("name", "k8s-pod-network").put("interface", "eth0").put("mac", "0a:58:0a:f4:00:05");
                    primary.putArray("ips").add("10.244.0.5/24");
                    primary.putObject("dns");
                    ArrayNode ifs = out.putArray("interfaces");
                    int i = 0;
                    for (JsonNode a : d.path("attachments")) {
                        ObjectNode r = ifs.addObject();
                        r.put("network", a.path("network").asText()).put("interface", a.path("interface").asText());
                        if (kernelLacks.contains(a.path("network").asText())) {
                            String why = "network " + a.path("network").asText() + ": this node's kernel cannot make ipvlan interfaces (creating one on master \"eth1\": "
                                    + "add link: EOPNOTSUPP (Operation not supported): Unknown device type)";
                            if (!a.path("skipIfUnsupported").asBoolean(false)) {
                                out.put("ok", false).remove("interfaces");
                                out.putObject("error").put("reason", "Unsupported").put("message", why);
                                break;
                            }
                            r.putNull("mac").putNull("mtu").putArray("ips");
                            r.put("error", why).put("skipped", true);
                            continue;
                        }
                        r.put("mac", a.path("mac").isTextual() ? a.path("mac").asText() : String.format("02:42:ac:11:00:%02x", ++i));
                        r.put("mtu", a.path("cniConfig").path("mtu").asInt(1500));
                        r.set("ips", a.path("ips"));
                        r.putNull("error");
                    }
                }
            } else {
                if (nodeDetachSilentFor.contains(podName)) return;
                out.put("ok", true).put("pending", false).putArray("interfaces");
            }
        } else {
            return; // audit: recorded only
        }
        reply(replyTopic, event, replyType, out, podName);
    }

    private String sandboxOf(String podName) { return sandboxes.getOrDefault(podName, "sandbox-1"); }

    /**
     * What node-worker reports when a new sandbox of the pod waits with none of its networks in it (the runtime
     * re-created it): from now on the node stand-in attaches into that sandbox.
     */
    void sandboxWaiting(String node, String namespace, String podName, String uid, String containerId) throws Exception {
        sandboxes.put(podName, containerId);
        ObjectNode e = json.createObjectNode();
        e.put("specversion", "1.0").put("id", "sandbox/" + node + "/" + uid + "/" + containerId + "/waiting").put("source", "/netattach/stand-in/test")
                .put("type", "io.netattach.node.sandbox").put("subject", namespace + "/" + podName).put("time", Instant.now().toString())
                .put("datacontenttype", "application/json").put("netattachcluster", "test");
        ObjectNode d = e.putObject("data").put("node", node);
        d.putObject("pod").put("namespace", namespace).put("name", podName).put("uid", uid);
        d.put("containerId", containerId).put("netns", "/var/run/netns/" + containerId).put("event", "waiting");
        check(e);
        producer.send(structured(t("netattach.node.results"), uid, json.writeValueAsString(e))).get();
    }

    private void reply(String topic, JsonNode request, String type, ObjectNode data, String podName) throws Exception {
        ObjectNode e = json.createObjectNode();
        String suffix = data.path("pending").asBoolean(false) ? "/pending" : "/result";
        e.put("specversion", "1.0").put("id", data.path("requestId").asText() + suffix).put("source", "/netattach/stand-in/test")
                .put("type", type).put("subject", request.path("subject").asText()).put("time", Instant.now().toString())
                .put("datacontenttype", "application/json").put("netattachcluster", "test");
        e.set("data", data);
        String key = request.path("data").path("pod").path("uid").asText(request.path("data").path("owner").path("podUid").asText());
        check(e);
        int copies = duplicateFor.contains(podName) ? 2 : 1;
        for (int i = 0; i < copies; i++) producer.send(structured(topic, key, json.writeValueAsString(e))).get();
    }

    /** A record as the other services write them: CloudEvents Kafka binding, structured mode. */
    private static ProducerRecord<String, String> structured(String topic, String key, String value) {
        ProducerRecord<String, String> r = new ProducerRecord<>(topic, key, value);
        r.headers().add("content-type", "application/cloudevents+json".getBytes(StandardCharsets.UTF_8));
        return r;
    }

    private void check(JsonNode event) {
        var v = AsyncApiContract.violations(event);
        if (!v.isEmpty()) violations.add(event.path("type").asText() + " " + event.path("id").asText() + ": " + v);
    }

    List<Received> of(String type, String podUid) {
        return received.stream().filter(r -> r.event().path("type").asText().equals(type))
                .filter(r -> podUid == null || podUid.equals(r.data().path("pod").path("uid").asText(r.data().path("owner").path("podUid").asText())))
                .toList();
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close();
    }
}
