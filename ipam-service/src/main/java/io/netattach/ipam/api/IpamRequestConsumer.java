package io.netattach.ipam.api;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netattach.ipam.domain.IpamConfig;
import io.netattach.ipam.domain.IpamException;
import io.netattach.ipam.domain.Lease;
import io.netattach.ipam.domain.Owner;
import io.netattach.ipam.domain.PoolDefinition;
import io.netattach.ipam.domain.StaticAddress;
import io.netattach.ipam.store.IpamStore;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.KafkaRecord;
import io.smallrye.reactive.messaging.kafka.KafkaRecordBatch;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * netattach.ipam.requests -> store -> netattach.ipam.results (+ netattach.audit), CloudEvents structured JSON
 * per docs/asyncapi.yaml. At-least-once: the offset is acknowledged only after the result was accepted by the
 * broker; every request is idempotent, so a redelivery answers the same addresses under the same event id.
 */
@ApplicationScoped
public class IpamRequestConsumer {
    private static final Logger LOG = Logger.getLogger(IpamRequestConsumer.class);
    private static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);

    @Inject IpamStore store;
    @Inject ObjectMapper json;
    @Inject @Channel("ipam-results") MutinyEmitter<String> results;
    /**
     * Audit events go through the results channel's producer with the topic set per record: one producer (one
     * network thread, one produce request for a result and its audit event) instead of one per channel.
     */
    @ConfigProperty(name = "netattach.ipam.audit-topic") String auditTopic;
    @ConfigProperty(name = "netattach.cluster-id") String clusterId;

    /** Runs the key groups of a poll; virtual threads, since each mostly waits on PostgreSQL or a batch leader. */
    private final ExecutorService groups = Executors.newVirtualThreadPerTaskExecutor();

    @PreDestroy
    void stop() {
        groups.shutdown();
    }

    /**
     * One poll's records at once. Records of one key (the pod UID) are answered one after the other, in offset
     * order; different keys concurrently, so concurrent allocations of one pool meet in one store batch. Every
     * result and audit event is started without waiting for the previous one's broker ack; the batch's offsets are
     * acked once every send of the batch was accepted (at-least-once; every request is idempotent).
     */
    @Incoming("ipam-requests")
    @Blocking
    public CompletionStage<Void> consume(KafkaRecordBatch<String, String> batch) {
        Map<String, List<KafkaRecord<String, String>>> byKey = new LinkedHashMap<>();
        for (KafkaRecord<String, String> r : batch.getRecords()) {
            byKey.computeIfAbsent(r.getKey() == null ? "" : r.getKey(), k -> new ArrayList<>()).add(r); // no key: one group, in order
        }
        List<CompletableFuture<Void>> sends = Collections.synchronizedList(new ArrayList<>());
        try {
            if (byKey.size() == 1) {
                answerInOrder(byKey.values().iterator().next(), sends);
            } else {
                List<Future<?>> running = new ArrayList<>(byKey.size());
                for (List<KafkaRecord<String, String>> group : byKey.values()) running.add(groups.submit(() -> answerInOrder(group, sends)));
                for (Future<?> f : running) f.get();
            }
            awaitSends(sends);
            return batch.ack();
        } catch (Exception e) {
            // only a failed send gets here: leave the offsets uncommitted, Kafka redelivers after a restart or rebalance
            LOG.errorf(e, "could not answer a batch of %d ipam requests", batch.getRecords().size());
            return batch.nack(e instanceof ExecutionException ee && ee.getCause() != null ? ee.getCause() : e);
        }
    }

    private void answerInOrder(List<KafkaRecord<String, String>> records, List<CompletableFuture<Void>> sends) {
        for (KafkaRecord<String, String> r : records) answer(r.getKey(), r.getPayload(), sends);
    }

    private static void awaitSends(List<CompletableFuture<Void>> sends) {
        CompletableFuture<?>[] all;
        synchronized (sends) {
            all = sends.toArray(CompletableFuture[]::new);
        }
        CompletableFuture.allOf(all).orTimeout(SEND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).join();
    }

    private void answer(String key, String payload, List<CompletableFuture<Void>> sends) {
        JsonNode event;
        try {
            event = json.readTree(payload);
        } catch (Exception e) {
            LOG.warnf("dropping a record on netattach.ipam.requests that is not JSON (key %s): %s", key, e.getMessage());
            return;
        }
        String type = event.path("type").asText("");
        JsonNode data = event.path("data");
        String requestId = data.path("requestId").asText(event.path("id").asText(""));
        if (requestId.isEmpty()) {
            LOG.warnf("dropping an ipam request without requestId nor id (key %s, type %s)", key, type);
            return;
        }
        Owner owner = data.has("owner") ? owner(data.path("owner")) : null;
        String subject = owner != null && owner.namespace() != null ? owner.podRef() : null;
        String resultKey = key != null ? key : owner != null && owner.podUid() != null ? owner.podUid() : data.path("cluster").asText(null);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("requestId", requestId);
        try {
            switch (type) {
                case "io.netattach.ipam.allocate" -> allocate(requestId, data, owner, result, sends);
                case "io.netattach.ipam.release" -> release(requestId, owner, result, sends);
                case "io.netattach.ipam.reconcile" -> reconcile(requestId, data, result, sends);
                default -> throw IpamException.invalid("type", type, "is not an ipam request (io.netattach.ipam.allocate, release, reconcile)");
            }
        } catch (IpamException e) {
            fail(result, e.reason().name(), e.getMessage());
            if (e.reason() == IpamException.Reason.Conflict || e.reason() == IpamException.Reason.Exhausted) {
                sendAudit(sends, requestId + "/audit", e.reason() == IpamException.Reason.Conflict ? "conflict" : "exhausted", owner,
                        data.path("network").asText(null), null, e.getMessage());
            }
        } catch (RuntimeException e) {
            LOG.errorf(e, "ipam request %s failed", requestId);
            fail(result, "Unavailable", "ipam-service could not complete the request: " + e.getMessage());
        }
        send(sends, null, requestId + "/result", "io.netattach.ipam.result", subject, resultKey, result);
    }

    private void allocate(String requestId, JsonNode data, Owner owner, Map<String, Object> result, List<CompletableFuture<Void>> sends) {
        if (owner == null) throw IpamException.missing("data.owner");
        owner.validated(true);
        if (!data.path("ipam").isObject()) throw IpamException.missing("data.ipam");
        Map<String, Object> ipam = json.convertValue(data.path("ipam"), new TypeReference<>() { });
        List<String> ips = data.path("ips").isArray() ? json.convertValue(data.path("ips"), new TypeReference<>() { }) : null;
        PoolDefinition def = IpamConfig.parse(ipam);
        String network = data.path("network").asText(null);
        Lease lease;
        if (!def.hasPool()) {
            lease = staticLease(def, ips);
        } else {
            String pool = store.derivedPool(def, ipam, owner.cluster());
            if (data.path("dryRun").asBoolean(false)) {
                result.put("ok", true);
                result.put("pool", pool);
                return;
            }
            try {
                lease = store.allocate(pool, owner, ips, def);
            } catch (IpamException e) {
                if (e.reason() != IpamException.Reason.NotFound) throw e;
                // the derived pool was deleted since this replica last saw it: create it again, once
                store.forgetDerived(pool);
                pool = store.derivedPool(def, ipam, owner.cluster());
                lease = store.allocate(pool, owner, ips, def);
            }
        }
        result.put("ok", true);
        result.put("pool", lease.pool());
        result.put("ips", lease.ips());
        result.put("gateways", lease.gateways());
        result.put("routes", lease.routes());
        result.put("dns", lease.dns());
        result.put("error", null);
        sendAudit(sends, requestId + "/audit", "allocated", owner, network, lease.ips(), lease.created() ? null : "already held");
    }

    /** static ipam: no pool; the section's addresses (or the annotation's ips, which need a prefix) are echoed. */
    private static Lease staticLease(PoolDefinition def, List<String> ips) {
        List<String> out = new ArrayList<>();
        List<String> gateways = new ArrayList<>();
        if (ips != null && !ips.isEmpty()) {
            for (int i = 0; i < ips.size(); i++) {
                if (io.netattach.ipam.domain.Cidr.parseOrNull(ips.get(i)) == null) {
                    throw IpamException.invalid("ips[" + i + "]", ips.get(i), "needs a prefix length with static ipam (e.g. 10.1.2.3/24)");
                }
                out.add(io.netattach.ipam.domain.Cidr.parseOrNull(ips.get(i)).toString());
            }
        } else {
            for (StaticAddress a : def.addresses()) {
                out.add(a.address());
                if (a.gateway() != null) gateways.add(a.gateway());
            }
        }
        if (out.isEmpty()) throw IpamException.missing("ipam.addresses");
        return new Lease(null, out, gateways, def.routes(), def.dns(), true);
    }

    private void release(String requestId, Owner owner, Map<String, Object> result, List<CompletableFuture<Void>> sends) {
        if (owner == null) throw IpamException.missing("data.owner");
        owner.validated(false);
        List<IpamStore.Released> released = store.release(owner.cluster(), owner.podUid(), owner.iface(), null);
        result.put("ok", true);
        result.put("released", released.size());
        result.put("error", null);
        if (!released.isEmpty()) {
            sendAudit(sends, requestId + "/audit", "released", owner, null, released.stream().map(IpamStore.Released::address).toList(), null);
        }
    }

    private void reconcile(String requestId, JsonNode data, Map<String, Object> result, List<CompletableFuture<Void>> sends) {
        String cluster = data.path("cluster").asText("");
        if (cluster.isBlank()) throw IpamException.missing("data.cluster");
        if (!data.path("liveOwners").isArray()) throw IpamException.missing("data.liveOwners");
        Set<String> live = new HashSet<>();
        data.path("liveOwners").forEach(n -> live.add(n.asText()));
        String snapshot = data.path("snapshotTime").asText("");
        OffsetDateTime snapshotTime;
        try {
            snapshotTime = OffsetDateTime.parse(snapshot);
        } catch (DateTimeParseException e) {
            throw IpamException.invalid("data.snapshotTime", snapshot, "is not an RFC 3339 date-time");
        }
        List<IpamStore.Released> released = store.reconcile(cluster, live, snapshotTime);
        result.put("ok", true);
        result.put("released", released.size());
        result.put("error", null);
        Map<String, List<IpamStore.Released>> byPod = new LinkedHashMap<>();
        for (IpamStore.Released r : released) byPod.computeIfAbsent(r.owner().podUid(), k -> new ArrayList<>()).add(r);
        byPod.forEach((uid, rs) -> sendAudit(sends, requestId + "/audit/" + uid, "released", rs.getFirst().owner(), null,
                rs.stream().map(IpamStore.Released::address).toList(), "pod gone (reconcile)"));
    }

    private static void fail(Map<String, Object> result, String reason, String message) {
        result.put("ok", false);
        result.put("error", Map.of("reason", reason, "message", message));
    }

    private static Owner owner(JsonNode o) {
        return new Owner(text(o, "cluster"), text(o, "namespace"), text(o, "pod"), text(o, "podUid"), text(o, "interface"));
    }

    private static String text(JsonNode o, String field) {
        JsonNode n = o.path(field);
        return n.isTextual() ? n.asText() : null;
    }

    private void sendAudit(List<CompletableFuture<Void>> sends, String id, String outcome, Owner owner, String network, List<String> ips, String reason) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("outcome", outcome);
        data.put("pod", owner == null || owner.namespace() == null ? null : Map.of("namespace", owner.namespace(), "name", String.valueOf(owner.pod()), "uid", String.valueOf(owner.podUid())));
        data.put("network", network);
        data.put("interface", owner == null ? null : owner.iface());
        data.put("ips", ips);
        data.put("reason", reason);
        send(sends, auditTopic, id, "io.netattach.ipam." + outcome, owner == null || owner.namespace() == null ? null : owner.podRef(),
                owner == null ? null : owner.podUid(), data);
    }

    /** Starts sending one CloudEvent (topic null: netattach.ipam.results); {@code sends} completes when the broker has it (acks=all), awaited before the offset is acked. */
    private void send(List<CompletableFuture<Void>> sends, String topic, String id, String type, String subject, String key, Map<String, Object> data) {
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("specversion", "1.0");
        event.put("id", id);
        event.put("source", "/netattach/ipam-service/" + clusterId);
        event.put("type", type);
        if (subject != null) event.put("subject", subject);
        event.put("time", OffsetDateTime.now(ZoneOffset.UTC).toString());
        event.put("datacontenttype", "application/json");
        event.put("netattachcluster", clusterId);
        event.put("data", data);
        String value;
        try {
            value = json.writeValueAsString(event);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        Message<String> m = Message.of(value);
        if (key != null || topic != null) {
            var meta = OutgoingKafkaRecordMetadata.<String>builder();
            if (key != null) meta = meta.withKey(key);
            if (topic != null) meta = meta.withTopic(topic);
            m = m.addMetadata(meta.build());
        }
        sends.add(results.sendMessage(m).subscribeAsCompletionStage());
    }
}
