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
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
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
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
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
    @Inject @Channel("audit") MutinyEmitter<String> audit;
    @ConfigProperty(name = "netattach.cluster-id") String clusterId;

    @Incoming("ipam-requests")
    @Blocking
    public CompletionStage<Void> consume(Message<String> msg) {
        String key = msg.getMetadata(IncomingKafkaRecordMetadata.class).map(m -> m.getKey() == null ? null : m.getKey().toString()).orElse(null);
        try {
            handle(key, msg.getPayload());
            return msg.ack();
        } catch (RuntimeException e) {
            // only a failed send gets here: leave the offset uncommitted, Kafka redelivers after a restart or rebalance
            LOG.errorf(e, "could not answer an ipam request (key %s)", key);
            return msg.nack(e);
        }
    }

    void handle(String key, String payload) {
        // sends start at once and are awaited together at the end: the audit event and the result travel to the
        // broker concurrently instead of one acks=all round trip after the other; the offset is still acked only
        // after every send was accepted
        List<CompletableFuture<Void>> sends = new ArrayList<>();
        try {
            answer(key, payload, sends);
        } finally {
            CompletableFuture.allOf(sends.toArray(CompletableFuture[]::new)).orTimeout(SEND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).join();
        }
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
        send(sends, results, requestId + "/result", "io.netattach.ipam.result", subject, resultKey, result);
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
        send(sends, audit, id, "io.netattach.ipam." + outcome, owner == null || owner.namespace() == null ? null : owner.podRef(),
                owner == null ? null : owner.podUid(), data);
    }

    /** Starts sending one CloudEvent; {@code sends} completes when the broker has it (acks=all), awaited before the offset is acked. */
    private void send(List<CompletableFuture<Void>> sends, MutinyEmitter<String> emitter, String id, String type, String subject, String key, Map<String, Object> data) {
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
        if (key != null) m = m.addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(key).build());
        sends.add(emitter.sendMessage(m).subscribeAsCompletionStage());
    }
}
