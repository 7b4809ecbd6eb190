package io.netattach.ipam.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.junit.QuarkusTest;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real requests through the real broker; every event sent and read is checked against docs/asyncapi.yaml, and every
 * record read carries the CloudEvents Kafka binding's structured-mode content-type header.
 */
@QuarkusTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class IpamRequestsKafkaTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MACVLAN_CONF = "{\"type\":\"host-local\",\"subnet\":\"192.168.1.0/24\",\"rangeStart\":\"192.168.1.200\",\"rangeEnd\":\"192.168.1.250\",\"gateway\":\"192.168.1.1\"}";

    private KafkaProducer<String, String> producer;
    private KafkaConsumer<String, String> consumer;
    private KafkaConsumer<String, String> deadLetters;
    private final Map<String, JsonNode> seen = new HashMap<>();
    /** ids of the results and audit events read, in the order read (the results topic has one partition). */
    private final List<String> arrived = new java.util.ArrayList<>();
    private AsyncApiSchemas schemas;
    /** The key each request was sent with, by requestId: its result must carry the same. */
    private final Map<String, String> requestKeys = new java.util.concurrent.ConcurrentHashMap<>();
    private String requests;
    private final String cluster = "k" + UUID.randomUUID().toString().substring(0, 6);

    @BeforeAll
    void connect() throws Exception {
        String suffix = ConfigProvider.getConfig().getOptionalValue("netattach.kafka.topic-suffix", String.class).orElse("");
        String bootstrap = ConfigProvider.getConfig().getValue("kafka.bootstrap.servers", String.class);
        requests = "netattach.ipam.requests" + suffix;
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, "ipam-test-" + UUID.randomUUID());
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        consumer = new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer());
        consumer.subscribe(List.of("netattach.ipam.results" + suffix, "netattach.audit" + suffix));
        c.put(ConsumerConfig.GROUP_ID_CONFIG, "ipam-test-dlq-" + UUID.randomUUID());
        deadLetters = new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer());
        deadLetters.subscribe(List.of("netattach.dlq.ipam-service" + suffix));
        schemas = new AsyncApiSchemas();
    }

    @AfterAll
    void close() {
        producer.close(Duration.ofSeconds(5));
        consumer.close(Duration.ofSeconds(5));
        deadLetters.close(Duration.ofSeconds(5));
    }

    private String event(String type, String id, String key, Map<String, Object> data) throws Exception {
        return event(type, id, key, data, true);
    }

    /** Sends one request; {@code await}: until the broker has it (else the producer's order per partition still holds). */
    private String event(String type, String id, String key, Map<String, Object> data, boolean await) throws Exception {
        Map<String, Object> ev = new java.util.LinkedHashMap<>();
        ev.put("specversion", "1.0");
        ev.put("id", id);
        ev.put("source", "/netattach/attach-service/" + cluster);
        ev.put("type", type);
        ev.put("time", Instant.now().toString());
        ev.put("datacontenttype", "application/json");
        ev.put("netattachcluster", cluster);
        ev.put("data", data);
        String json = JSON.writeValueAsString(ev);
        String message = switch (type) {
            case "io.netattach.ipam.allocate" -> "IpamAllocate";
            case "io.netattach.ipam.release" -> "IpamRelease";
            default -> "IpamReconcile";
        };
        assertEquals("", schemas.problems(message, json), "request against asyncapi " + message);
        assertEquals("", schemas.keyProblems(message, key, json, null), "key of request " + id + " against asyncapi " + message);
        requestKeys.put(id, key);
        var sent = producer.send(new ProducerRecord<>(requests, key, json));
        if (await) sent.get(30, TimeUnit.SECONDS);
        return json;
    }

    private Map<String, Object> owner(String pod, String uid, String iface) {
        Map<String, Object> o = new HashMap<>();
        o.put("cluster", cluster);
        o.put("namespace", "default");
        o.put("pod", pod);
        o.put("podUid", uid);
        o.put("interface", iface);
        return o;
    }

    private JsonNode allocate(String requestId, String pod, String uid, String ipam, List<String> ips) throws Exception {
        Map<String, Object> data = new HashMap<>();
        data.put("requestId", requestId);
        data.put("network", "default/macvlan-conf");
        data.put("ipam", JSON.readValue(ipam, Map.class));
        data.put("owner", owner(pod, uid, "net1"));
        data.put("ips", ips);
        event("io.netattach.ipam.allocate", requestId, uid, data);
        return awaitEvent(requestId + "/result");
    }

    /** Polls the results and audit topics until the event with this id arrived (30 s), validating each against asyncapi. */
    private JsonNode awaitEvent(String id) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!seen.containsKey(id)) {
            if (System.nanoTime() > deadline) throw new AssertionError("no event " + id + " within 30 s; seen " + seen.keySet());
            for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                JsonNode ev = JSON.readTree(r.value());
                boolean result = ev.path("type").asText().equals("io.netattach.ipam.result");
                String message = result ? "IpamResult" : "AuditEvent";
                assertTrue(r.topic().startsWith(result ? "netattach.ipam.results" : "netattach.audit"), ev.path("id").asText() + " on " + r.topic());
                assertEquals("", schemas.problems(message, r.value()), "event " + ev.path("id").asText() + " against asyncapi " + message);
                assertEquals("application/cloudevents+json", header(r, "content-type"), "content-type of " + ev.path("id").asText() + " on " + r.topic());
                String answered = result ? requestKeys.get(ev.path("data").path("requestId").asText()) : null;
                if (!result || answered != null) { // a result for a request of this test: keyed as that request was
                    assertEquals("", schemas.keyProblems(message, r.key(), r.value(), answered), "key of " + ev.path("id").asText() + " on " + r.topic());
                }
                seen.put(ev.path("id").asText(), ev);
                arrived.add(ev.path("id").asText());
            }
        }
        return seen.remove(id);
    }

    @Test
    void allocateRedeliverReleaseAndReconcileOverKafka() throws Exception {
        String metricsBefore = IpamMetricsTest.metrics();
        String uid1 = UUID.randomUUID().toString();
        String req1 = "alloc/" + cluster + "/" + uid1 + "/net1";
        JsonNode r1 = allocate(req1, "multi-net-pod", uid1, MACVLAN_CONF, null);
        assertEquals("io.netattach.ipam.result", r1.path("type").asText());
        assertEquals("default/multi-net-pod", r1.path("subject").asText());
        JsonNode d1 = r1.path("data");
        assertTrue(d1.path("ok").asBoolean(), d1.toString());
        assertEquals(req1, d1.path("requestId").asText());
        assertEquals("[\"192.168.1.200/24\"]", d1.path("ips").toString());
        assertEquals("[\"192.168.1.1\"]", d1.path("gateways").toString());
        String pool = d1.path("pool").asText();
        assertFalse(pool.isEmpty());
        JsonNode audit = awaitEvent(req1 + "/audit");
        assertEquals("io.netattach.ipam.allocated", audit.path("type").asText());
        assertEquals("[\"192.168.1.200/24\"]", audit.path("data").path("ips").toString());

        // redelivery: same result, same event id
        JsonNode again = allocate(req1, "multi-net-pod", uid1, MACVLAN_CONF, null);
        assertEquals(d1.path("ips"), again.path("data").path("ips"));
        assertEquals(pool, again.path("data").path("pool").asText());

        // another NAD with the same range shares the pool: the next address, never a duplicate
        String uid2 = UUID.randomUUID().toString();
        JsonNode r2 = allocate("alloc/" + cluster + "/" + uid2 + "/net1", "second", uid2,
                "{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"192.168.1.0/24\",\"rangeStart\":\"192.168.1.200\",\"rangeEnd\":\"192.168.1.250\"}]]}", null);
        assertEquals("[\"192.168.1.201/24\"]", r2.path("data").path("ips").toString());
        assertEquals(pool, r2.path("data").path("pool").asText());

        // a static request for a held address: conflict naming the holder, and a conflict audit event
        String uid3 = UUID.randomUUID().toString();
        String req3 = "alloc/" + cluster + "/" + uid3 + "/net1";
        JsonNode r3 = allocate(req3, "static-ip-pod", uid3, MACVLAN_CONF, List.of("192.168.1.200/24"));
        assertFalse(r3.path("data").path("ok").asBoolean());
        assertEquals("Conflict", r3.path("data").path("error").path("reason").asText());
        assertTrue(r3.path("data").path("error").path("message").asText().contains("held by default/multi-net-pod"));
        assertEquals("io.netattach.ipam.conflict", awaitEvent(req3 + "/audit").path("type").asText());

        // release by owner (interface null = all)
        String rel = "release/" + cluster + "/" + uid1;
        Map<String, Object> owner1 = owner("multi-net-pod", uid1, null);
        event("io.netattach.ipam.release", rel, uid1, Map.of("requestId", rel, "owner", owner1));
        JsonNode released = awaitEvent(rel + "/result");
        assertTrue(released.path("data").path("ok").asBoolean());
        assertEquals(1, released.path("data").path("released").asInt());
        assertEquals("io.netattach.ipam.released", awaitEvent(rel + "/audit").path("type").asText());

        // reconcile: uid2 is gone from the cluster, uid3 holds nothing
        String rec = "reconcile/" + cluster + "/" + UUID.randomUUID();
        event("io.netattach.ipam.reconcile", rec, cluster, Map.of("requestId", rec, "cluster", cluster, "liveOwners", List.of(uid3),
                "snapshotTime", Instant.now().plusSeconds(1).toString()));
        JsonNode reconciled = awaitEvent(rec + "/result");
        assertTrue(reconciled.path("data").path("ok").asBoolean(), reconciled.toString());
        assertEquals(1, reconciled.path("data").path("released").asInt());

        // the same metrics as over REST
        String metricsAfter = IpamMetricsTest.metrics();
        assertEquals(2, IpamMetricsTest.delta(metricsBefore, metricsAfter, "netattach_ipam_allocations_total", "outcome=\"allocated\""), 0.0);
        assertEquals(1, IpamMetricsTest.delta(metricsBefore, metricsAfter, "netattach_ipam_allocations_total", "outcome=\"existing\""), 0.0);
        assertEquals(1, IpamMetricsTest.delta(metricsBefore, metricsAfter, "netattach_ipam_allocations_total", "outcome=\"conflict\""), 0.0);
        assertEquals(1, IpamMetricsTest.delta(metricsBefore, metricsAfter, "netattach_ipam_released_addresses_total", "cause=\"release\""), 0.0);
        assertEquals(1, IpamMetricsTest.delta(metricsBefore, metricsAfter, "netattach_ipam_released_addresses_total", "cause=\"reconcile\""), 0.0);
    }

    @Inject Pool db;

    @Test
    void derivedPoolDeletedBehindTheReplicasBackIsCreatedAgainOnTheNextAllocate() throws Exception {
        String ipam = "{\"type\":\"whereabouts\",\"range\":\"10.77.0.0/29\"}";
        String uid1 = UUID.randomUUID().toString();
        JsonNode first = allocate("alloc/" + cluster + "/" + uid1 + "/net1", "first", uid1, ipam, null);
        assertTrue(first.path("data").path("ok").asBoolean(), first.toString());
        String pool = first.path("data").path("pool").asText();
        // as another replica (or an operator in SQL) would: the pool and its allocations are gone
        db.preparedQuery("delete from pool where name = $1").execute(Tuple.of(pool)).await().atMost(Duration.ofSeconds(10));

        String uid2 = UUID.randomUUID().toString();
        JsonNode second = allocate("alloc/" + cluster + "/" + uid2 + "/net1", "second", uid2, ipam, null);
        assertTrue(second.path("data").path("ok").asBoolean(), second.toString());
        assertEquals(pool, second.path("data").path("pool").asText());
        assertEquals("[\"10.77.0.1/29\"]", second.path("data").path("ips").toString());
    }

    @Test
    void answeredRequestsAreCommittedSoARestartDoesNotRepeatThemAndTheConsumerIsReady() throws Exception {
        String group = ConfigProvider.getConfig().getValue("mp.messaging.incoming.ipam-requests.group.id", String.class);
        String uid = UUID.randomUUID().toString();
        JsonNode r = allocate("alloc/" + cluster + "/" + uid + "/net1", "committed", uid, "{\"type\":\"whereabouts\",\"range\":\"10.79.0.0/24\"}", null);
        assertTrue(r.path("data").path("ok").asBoolean(), r.toString());
        String bootstrap = ConfigProvider.getConfig().getValue("kafka.bootstrap.servers", String.class);
        try (var admin = org.apache.kafka.clients.admin.Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            var partitions = admin.describeTopics(List.of(requests)).allTopicNames().get(30, TimeUnit.SECONDS).get(requests).partitions().stream()
                    .map(pi -> new org.apache.kafka.common.TopicPartition(requests, pi.partition())).toList();
            Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> latest = new HashMap<>();
            partitions.forEach(tp -> latest.put(tp, org.apache.kafka.clients.admin.OffsetSpec.latest()));
            // every request sent so far was answered: the group's committed offset reaches the end of every partition
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            Map<org.apache.kafka.common.TopicPartition, Long> behind;
            do {
                var ends = admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS);
                var done = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
                behind = new HashMap<>();
                for (var tp : partitions) {
                    long end = ends.get(tp).offset();
                    long at = done.get(tp) == null ? 0 : done.get(tp).offset();
                    if (at < end) behind.put(tp, end - at);
                }
                if (!behind.isEmpty()) Thread.sleep(100);
            } while (!behind.isEmpty() && System.nanoTime() < deadline);
            assertEquals(Map.of(), behind, "records answered but not committed, per partition");
        }
        // the connector's channel health: the consumer connected (readiness), and no failure reported (liveness)
        for (String check : List.of("ready", "live")) {
            io.restassured.RestAssured.when().get("/q/health/" + check).then().statusCode(200)
                    .body("checks.find { it.name.startsWith('SmallRye Reactive Messaging') }.data.'ipam-requests'", org.hamcrest.Matchers.startsWith("[OK]"))
                    .body("checks.find { it.name.startsWith('SmallRye Reactive Messaging') }.data.'ipam-answers'", org.hamcrest.Matchers.startsWith("[OK]"));
        }
        // leave nothing held in this class's cluster (the reconcile test counts what it releases)
        String rel = "release/" + cluster + "/" + uid;
        event("io.netattach.ipam.release", rel, uid, Map.of("requestId", rel, "owner", owner("committed", uid, null)));
        assertEquals(1, awaitEvent(rel + "/result").path("data").path("released").asInt());
    }

    @Test
    void badSectionsAndStaticIpamAnswerOverKafka() throws Exception {
        String uid = UUID.randomUUID().toString();
        JsonNode bad = allocate("alloc/" + cluster + "/" + uid + "/bad", "p", uid, "{\"type\":\"whereabouts\",\"range\":\"10.0.0.0/33\"}", null);
        assertFalse(bad.path("data").path("ok").asBoolean());
        assertEquals("Invalid", bad.path("data").path("error").path("reason").asText());
        assertEquals("ipam.range: \"10.0.0.0/33\" has a prefix length beyond the 32 bits of an IPv4 address", bad.path("data").path("error").path("message").asText());

        JsonNode st = allocate("alloc/" + cluster + "/" + uid + "/static", "p", uid,
                "{\"type\":\"static\",\"addresses\":[{\"address\":\"10.10.0.1/24\",\"gateway\":\"10.10.0.254\"}]}", null);
        assertTrue(st.path("data").path("ok").asBoolean());
        assertEquals("[\"10.10.0.1/24\"]", st.path("data").path("ips").toString());
        assertEquals("[\"10.10.0.254\"]", st.path("data").path("gateways").toString());
        assertTrue(st.path("data").path("pool").asText().startsWith("static-default-macvlan-conf-"), st.toString());
        assertNotNull(awaitEvent("alloc/" + cluster + "/" + uid + "/static/audit"));
        // leave nothing held in this class's cluster (the reconcile test counts what it releases)
        String rel = "release/" + cluster + "/" + uid;
        event("io.netattach.ipam.release", rel, uid, Map.of("requestId", rel, "owner", owner("p", uid, null)));
        assertEquals(1, awaitEvent(rel + "/result").path("data").path("released").asInt());
    }

    @Test
    void requestsOfOnePodAreAnsweredInOrderWhileOtherPodsRunAlongside() throws Exception {
        String ipam = "{\"type\":\"whereabouts\",\"range\":\"10.78.0.0/24\"}";
        int pods = 12;
        List<String> uids = new java.util.ArrayList<>();
        for (int i = 0; i < pods; i++) uids.add(UUID.randomUUID().toString());
        // per pod: allocate, release, allocate again, sent back to back and interleaved with the other pods, so that
        // one poll holds several requests of one pod next to other pods' requests
        for (int step = 0; step < 3; step++) {
            for (int i = 0; i < pods; i++) {
                String uid = uids.get(i);
                if (step == 1) {
                    String rel = "release/" + cluster + "/" + uid;
                    event("io.netattach.ipam.release", rel, uid, Map.of("requestId", rel, "owner", owner("o" + i, uid, "net1")), false);
                } else {
                    String id = "alloc/" + cluster + "/" + uid + "/net1/" + step;
                    Map<String, Object> data = new HashMap<>();
                    data.put("requestId", id);
                    data.put("network", "default/ordered");
                    data.put("ipam", JSON.readValue(ipam, Map.class));
                    data.put("owner", owner("o" + i, uid, "net1"));
                    event("io.netattach.ipam.allocate", id, uid, data, false);
                }
            }
        }
        producer.flush();
        String pool = null;
        for (int i = 0; i < pods; i++) {
            String uid = uids.get(i);
            JsonNode first = awaitEvent("alloc/" + cluster + "/" + uid + "/net1/0/result").path("data");
            assertTrue(first.path("ok").asBoolean(), first.toString());
            pool = first.path("pool").asText();
            JsonNode released = awaitEvent("release/" + cluster + "/" + uid + "/result").path("data");
            assertEquals(1, released.path("released").asInt(), "the release of " + uid + " came after its first allocate");
            JsonNode again = awaitEvent("alloc/" + cluster + "/" + uid + "/net1/2/result").path("data");
            assertTrue(again.path("ok").asBoolean(), again.toString());
            // created anew (not "already held"): the second allocate came after the release
            assertTrue(awaitEvent("alloc/" + cluster + "/" + uid + "/net1/2/audit").path("data").path("reason").isNull());
        }
        var rows = db.preparedQuery("select pod_uid, count(*) from allocation where pool = $1 group by pod_uid").execute(Tuple.of(pool))
                .await().atMost(Duration.ofSeconds(10));
        Map<String, Long> held = new HashMap<>();
        for (var r : rows) held.put(r.getString(0), r.getLong(1));
        assertEquals(pods, held.size());
        for (String uid : uids) assertEquals(1L, held.get(uid), uid);
    }

    /** An allocate of a NAD's section for an owner of the given cluster (not this class's, which the reconcile test counts). */
    private JsonNode allocateIn(String ownerCluster, String requestId, String network, String uid, String ipam, List<String> ips, boolean dryRun) throws Exception {
        Map<String, Object> o = owner("pod-" + uid, uid, "net1");
        o.put("cluster", ownerCluster);
        Map<String, Object> data = new HashMap<>();
        data.put("requestId", requestId);
        data.put("network", network);
        data.put("ipam", JSON.readValue(ipam, Map.class));
        data.put("owner", o);
        data.put("ips", ips);
        data.put("dryRun", dryRun);
        event("io.netattach.ipam.allocate", requestId, uid, data);
        return awaitEvent(requestId + "/result").path("data");
    }

    private long count(String sql, String arg) {
        return db.preparedQuery(sql).execute(Tuple.of(arg)).await().atMost(Duration.ofSeconds(10)).iterator().next().getLong(0);
    }

    @Test
    void staticAddressesOverKafkaAreUniquePerSegmentCountedAndFreedWithThePod() throws Exception {
        String other = "s" + UUID.randomUUID().toString().substring(0, 6);
        String nad = "default/static-" + other;
        String section = "{\"type\":\"static\",\"addresses\":[{\"address\":\"10.11.0.5/24\",\"gateway\":\"10.11.0.1\"}]}";
        String metricsBefore = IpamMetricsTest.metrics();
        String uid1 = UUID.randomUUID().toString();
        JsonNode first = allocateIn(other, "alloc/" + other + "/" + uid1 + "/net1", nad, uid1, section, null, false);
        assertTrue(first.path("ok").asBoolean(), first.toString());
        assertEquals("[\"10.11.0.5/24\"]", first.path("ips").toString());
        assertEquals("[\"10.11.0.1\"]", first.path("gateways").toString());
        String segment = first.path("pool").asText();

        String uid2 = UUID.randomUUID().toString();
        String req2 = "alloc/" + other + "/" + uid2 + "/net1";
        JsonNode second = allocateIn(other, req2, nad, uid2, section, null, false);
        assertFalse(second.path("ok").asBoolean());
        assertEquals("Conflict", second.path("error").path("reason").asText());
        assertEquals("ipam.addresses: 10.11.0.5 in pool \"" + segment + "\" is held by default/pod-" + uid1 + " (uid " + uid1 + ", interface net1, cluster " + other + ")",
                second.path("error").path("message").asText());
        assertEquals("io.netattach.ipam.conflict", awaitEvent(req2 + "/audit").path("type").asText());

        // the pod goes: its static address is freed like any other, and the next pod gets it
        String rel = "release/" + other + "/" + uid1;
        Map<String, Object> o = owner("pod-" + uid1, uid1, null);
        o.put("cluster", other);
        event("io.netattach.ipam.release", rel, uid1, Map.of("requestId", rel, "owner", o));
        assertEquals(1, awaitEvent(rel + "/result").path("data").path("released").asInt());
        assertEquals("[\"10.11.0.5\"]", awaitEvent(rel + "/audit").path("data").path("ips").toString());
        JsonNode third = allocateIn(other, req2 + "/again", nad, uid2, section, null, false);
        assertTrue(third.path("ok").asBoolean(), third.toString());

        String metricsAfter = IpamMetricsTest.metrics();
        assertEquals(2, IpamMetricsTest.delta(metricsBefore, metricsAfter, "netattach_ipam_allocations_total", "outcome=\"allocated\""), 0.0);
        assertEquals(1, IpamMetricsTest.delta(metricsBefore, metricsAfter, "netattach_ipam_allocations_total", "outcome=\"conflict\""), 0.0);

        String sweep = "reconcile/" + other + "/" + UUID.randomUUID();
        event("io.netattach.ipam.reconcile", sweep, other, Map.of("requestId", sweep, "cluster", other, "liveOwners", List.of(),
                "snapshotTime", Instant.now().plusSeconds(1).toString()));
        assertEquals(1, awaitEvent(sweep + "/result").path("data").path("released").asInt());
        assertEquals(0L, count("select count(*) from allocation where pool = $1", segment));
    }

    @Test
    void aDryRunOverKafkaNamesThePoolAndCreatesNone() throws Exception {
        String other = "d" + UUID.randomUUID().toString().substring(0, 6);
        String uid = UUID.randomUUID().toString();
        JsonNode dynamic = allocateIn(other, "explain/" + uid + "/dyn", "default/dry", uid, "{\"type\":\"whereabouts\",\"range\":\"10.12.0.0/24\"}", null, true);
        assertTrue(dynamic.path("ok").asBoolean(), dynamic.toString());
        assertTrue(dynamic.path("pool").asText().startsWith("10.12.0.0-24-"), dynamic.toString());
        JsonNode fixed = allocateIn(other, "explain/" + uid + "/static", "default/dry", uid,
                "{\"type\":\"static\",\"addresses\":[{\"address\":\"10.12.1.5/24\"}]}", null, true);
        assertTrue(fixed.path("ok").asBoolean(), fixed.toString());
        assertEquals("[\"10.12.1.5/24\"]", fixed.path("ips").toString());
        assertEquals(0L, count("select count(*) from pool where cluster = $1", other));
        assertEquals(0L, count("select count(*) from allocation where pod_uid = $1", uid));
    }

    @Test
    void aNadNamingAGlobalPoolOverKafkaAllocatesThereForEveryCluster() throws Exception {
        String global = "g" + UUID.randomUUID().toString().substring(0, 8);
        io.restassured.RestAssured.given().contentType(io.restassured.http.ContentType.JSON).body("{\"ipam\":{\"type\":\"whereabouts\",\"range\":\"10.13.0.0/24\"}}")
                .put("/api/v1/pools/" + global).then().statusCode(201);
        String section = "{\"type\":\"whereabouts\",\"network_name\":\"" + global + "\"}";
        List<String> clusters = List.of("east" + global, "west" + global);
        java.util.Set<String> ips = new java.util.HashSet<>();
        for (int i = 0; i < 6; i++) {
            String uid = UUID.randomUUID().toString();
            String ownerCluster = clusters.get(i % 2);
            JsonNode r = allocateIn(ownerCluster, "alloc/" + ownerCluster + "/" + uid + "/net1", "default/shared", uid, section, null, false);
            assertTrue(r.path("ok").asBoolean(), r.toString());
            assertEquals(global, r.path("pool").asText());
            assertTrue(ips.add(r.path("ips").get(0).asText()), "handed out twice: " + r);
        }
        assertEquals(java.util.Set.of("10.13.0.1/24", "10.13.0.2/24", "10.13.0.3/24", "10.13.0.4/24", "10.13.0.5/24", "10.13.0.6/24"), ips);
        // ranges that contradict the pool: refused, naming the field
        String uid = UUID.randomUUID().toString();
        JsonNode bad = allocateIn(clusters.getFirst(), "alloc/bad/" + uid, "default/shared", uid,
                "{\"type\":\"whereabouts\",\"network_name\":\"" + global + "\",\"range\":\"10.13.1.0/24\"}", null, false);
        assertEquals("Invalid", bad.path("error").path("reason").asText());
        assertTrue(bad.path("error").path("message").asText().startsWith("ipam.network_name: \"" + global + "\" names the global pool"), bad.toString());
    }

    private static String header(ConsumerRecord<String, String> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Sends a record as is (no contract check: these are the records the contract does not allow). */
    private void raw(String key, String value) throws Exception {
        producer.send(new ProducerRecord<>(requests, key, value)).get(30, TimeUnit.SECONDS);
    }

    @Test
    void aRecordThatNamesNoRequestGoesToTheDeadLetterTopicAndTheNextRequestOfThePodIsStillAnswered() throws Exception {
        String other = "q" + UUID.randomUUID().toString().substring(0, 6);
        String uid = UUID.randomUUID().toString();
        raw(uid, "not json {");
        raw(uid, "{\"specversion\":\"1.0\",\"type\":\"io.netattach.ipam.release\",\"data\":{\"owner\":{\"podUid\":\"" + uid + "\"}}}");
        // a request that names its requestId but lacks a field: the caller waits for it, so it gets an error result
        String noOwner = "release/" + other + "/" + uid + "/no-owner";
        raw(uid, "{\"specversion\":\"1.0\",\"id\":\"" + noOwner + "\",\"type\":\"io.netattach.ipam.release\",\"data\":{\"requestId\":\"" + noOwner + "\"}}");
        JsonNode refused = awaitEvent(noOwner + "/result").path("data");
        assertFalse(refused.path("ok").asBoolean(), refused.toString());
        assertEquals("Invalid", refused.path("error").path("reason").asText());
        assertEquals("data.owner: missing", refused.path("error").path("message").asText());

        JsonNode good = allocateIn(other, "alloc/" + other + "/" + uid + "/net1", "default/after-poison", uid, "{\"type\":\"whereabouts\",\"range\":\"10.16.0.0/24\"}", null, false);
        assertTrue(good.path("ok").asBoolean(), good.toString());
        assertEquals("[\"10.16.0.1/24\"]", good.path("ips").toString());

        List<ConsumerRecord<String, String>> dead = new java.util.ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (dead.size() < 2) {
            if (System.nanoTime() > deadline) throw new AssertionError("dead letters within 30 s: " + dead);
            for (ConsumerRecord<String, String> r : deadLetters.poll(Duration.ofMillis(200))) dead.add(r);
        }
        assertEquals(2, dead.size(), dead.toString());
        assertEquals("not json {", dead.get(0).value());
        assertEquals(uid, dead.get(0).key());
        assertTrue(header(dead.get(0), "dead-letter-reason").startsWith("value: \"not json {\" is not JSON"), header(dead.get(0), "dead-letter-reason"));
        assertEquals(requests, header(dead.get(0), "dead-letter-topic"));
        assertTrue(header(dead.get(1), "dead-letter-reason").startsWith("data.requestId: missing"), header(dead.get(1), "dead-letter-reason"));
    }

    @Test
    void onePodsAllocateAndReleaseRunInOrderWhileAnotherPodsRequestsGoOn() throws Exception {
        String other = "o" + UUID.randomUUID().toString().substring(0, 6);
        String locked = "g" + UUID.randomUUID().toString().substring(0, 8);
        io.restassured.RestAssured.given().contentType(io.restassured.http.ContentType.JSON).body("{\"ipam\":{\"type\":\"whereabouts\",\"range\":\"10.14.0.0/24\"}}")
                .put("/api/v1/pools/" + locked).then().statusCode(201);
        String slow = UUID.randomUUID().toString();
        String slowAlloc = "alloc/" + other + "/" + slow + "/net1";
        String slowRelease = "release/" + other + "/" + slow;
        Map<String, Object> slowOwner = owner("slow", slow, "net1");
        slowOwner.put("cluster", other);
        Map<String, Object> slowOwnerAll = owner("slow", slow, null);
        slowOwnerAll.put("cluster", other);

        var conn = db.getConnection().await().atMost(Duration.ofSeconds(10));
        var tx = conn.begin().await().atMost(Duration.ofSeconds(10));
        try {
            // as a long batch of another replica would: the pool's row lock is held, the slow pod's allocate waits for it
            conn.preparedQuery("select name from pool where name = $1 for update").execute(Tuple.of(locked)).await().atMost(Duration.ofSeconds(10));
            Map<String, Object> data = new HashMap<>();
            data.put("requestId", slowAlloc);
            data.put("network", "default/locked");
            data.put("ipam", Map.of("type", "whereabouts", "network_name", locked));
            data.put("owner", slowOwner);
            event("io.netattach.ipam.allocate", slowAlloc, slow, data);
            event("io.netattach.ipam.release", slowRelease, slow, Map.of("requestId", slowRelease, "owner", slowOwnerAll));

            // meanwhile another pod's allocate and release are answered
            String fast = UUID.randomUUID().toString();
            JsonNode fastAlloc = allocateIn(other, "alloc/" + other + "/" + fast + "/net1", "default/free", fast, "{\"type\":\"whereabouts\",\"range\":\"10.15.0.0/24\"}", null, false);
            assertTrue(fastAlloc.path("ok").asBoolean(), fastAlloc.toString());
            Map<String, Object> fastOwner = owner("pod-" + fast, fast, null);
            fastOwner.put("cluster", other);
            String fastRelease = "release/" + other + "/" + fast;
            event("io.netattach.ipam.release", fastRelease, fast, Map.of("requestId", fastRelease, "owner", fastOwner));
            assertEquals(1, awaitEvent(fastRelease + "/result").path("data").path("released").asInt());
            // one partition of results, read in order: had the slow pod been answered, its results would be read by now
            assertFalse(arrived.contains(slowAlloc + "/result"), "the slow pod's allocate was answered while its pool was locked: " + arrived);
            assertFalse(arrived.contains(slowRelease + "/result"), "the slow pod's release overtook its allocate: " + arrived);
        } finally {
            tx.rollback().await().atMost(Duration.ofSeconds(10));
            conn.close().await().atMost(Duration.ofSeconds(10));
        }
        JsonNode allocated = awaitEvent(slowAlloc + "/result").path("data");
        assertTrue(allocated.path("ok").asBoolean(), allocated.toString());
        assertEquals("[\"10.14.0.1/24\"]", allocated.path("ips").toString());
        JsonNode released = awaitEvent(slowRelease + "/result").path("data");
        assertEquals(1, released.path("released").asInt(), "the release came after the allocate: " + released);
        assertTrue(arrived.indexOf(slowAlloc + "/result") < arrived.indexOf(slowRelease + "/result"), arrived.toString());
    }

    @Test
    void theConnectorsKafkaClientsAreInTheMetrics() throws Exception {
        String other = "m" + UUID.randomUUID().toString().substring(0, 6);
        String uid = UUID.randomUUID().toString();
        assertTrue(allocateIn(other, "alloc/" + other + "/" + uid + "/net1", "default/metrics", uid, "{\"type\":\"whereabouts\",\"range\":\"10.17.0.0/24\"}", null, false)
                .path("ok").asBoolean());
        String metrics = IpamMetricsTest.metrics();
        // the requests consumer's lag (the dashboard's lag panel), and the records the answers' producer sent
        assertTrue(metrics.lines().anyMatch(l -> l.startsWith("kafka_consumer_fetch_manager_records_lag_max{") && l.contains("client_id=\"kafka-consumer-ipam-requests\"")),
                "no lag of the ipam-requests consumer in /q/metrics:\n" + kafkaLines(metrics));
        assertTrue(metrics.lines().anyMatch(l -> l.startsWith("kafka_producer_record_send_total{") && l.contains("client_id=\"kafka-producer-ipam-answers\"") && !l.endsWith(" 0.0")),
                "no records sent by the ipam-answers producer in /q/metrics:\n" + kafkaLines(metrics));
    }

    private static String kafkaLines(String metrics) {
        return String.join("\n", metrics.lines().filter(l -> l.startsWith("kafka_")).map(l -> l.length() > 200 ? l.substring(0, 200) : l).limit(40).toList());
    }
}
