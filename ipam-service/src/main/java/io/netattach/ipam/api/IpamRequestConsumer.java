package io.netattach.ipam.api;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netattach.ipam.domain.IpamConfig;
import io.netattach.ipam.domain.IpamException;
import io.netattach.ipam.domain.Lease;
import io.netattach.ipam.domain.Owner;
import io.netattach.ipam.domain.PoolDefinition;
import io.netattach.ipam.kafka.KafkaSettings;
import io.netattach.ipam.store.IpamStore;
import io.netattach.ipam.store.NadAddresses;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;

/**
 * netattach.ipam.requests -> store -> netattach.ipam.results (+ netattach.audit), CloudEvents structured JSON
 * per docs/asyncapi.yaml, with a plain Kafka consumer and producer (the reactive messaging stack cost ~5x the CPU
 * of the same allocation over REST, in hand-offs between its threads).
 * <p>
 * One poll thread. Each record starts at once, after the previous record of the same key (the pod UID) is answered:
 * one pod's requests in offset order, different pods concurrently, and a request never waits for a poll batch to
 * finish, so concurrent allocations of one pool meet in one store batch. A dynamic allocate from a pool this replica
 * knows and a release go through the store's non-blocking calls, and their answers are sent from wherever the store
 * completes them; any other request runs blocking on a virtual thread (a virtual thread per record and its parking
 * were ~30 % of the service's CPU on this path, session 6). A record is done when
 * its result and audit event were accepted by the broker (acks=all); per partition the offset committed is the
 * first record not yet done, at most every 500 ms (at-least-once; every request is idempotent, so a redelivery
 * answers the same addresses under the same event id). A send that fails stops the dispatching: once nothing is
 * in flight, every partition is sought back to its first record not done, and reading resumes after 1 s.
 */
@ApplicationScoped
public class IpamRequestConsumer {
    private static final Logger LOG = Logger.getLogger(IpamRequestConsumer.class);
    private static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);
    /** Records started and not yet done beyond which reading pauses (a backlog waits in Kafka, not in memory). */
    private static final int MAX_IN_FLIGHT = 1024;
    /**
     * Offsets are committed at most this often (and on rebalance and shutdown): a commit per poll was a request to
     * the group coordinator, and a write to its log, per record or two at a steady rate. A crash re-reads at most
     * this much more, and every request is idempotent.
     */
    private static final long COMMIT_EVERY_NANOS = 500_000_000L;

    @Inject IpamStore store;
    @Inject NadAddresses nads;
    @Inject IpamMetrics metrics;
    @Inject ObjectMapper json;
    @ConfigProperty(name = "kafka.bootstrap.servers") String bootstrap;
    // every kafka.* property (security protocol, SASL, ... from KAFKA_* variables), as Quarkus collects them
    @Inject @io.smallrye.common.annotation.Identifier("default-kafka-broker") Map<String, Object> brokerConfig;
    @ConfigProperty(name = "netattach.ipam.requests-topic") String requestsTopic;
    @ConfigProperty(name = "netattach.ipam.results-topic") String resultsTopic;
    @ConfigProperty(name = "netattach.ipam.audit-topic") String auditTopic;
    @ConfigProperty(name = "netattach.ipam.consumer-group") String group;
    @ConfigProperty(name = "netattach.cluster-id") String clusterId;

    private KafkaProducer<String, String> producer;
    private KafkaConsumer<String, String> consumer;
    private Thread poller;
    private volatile boolean running;
    private volatile long lastPoll = System.nanoTime();
    /** Runs the records that need the blocking path; virtual threads, since each mostly waits on PostgreSQL. */
    private final ExecutorService work = Executors.newVirtualThreadPerTaskExecutor();
    /** key -> the last record of that key started (the next one of the key starts after it). */
    private final Map<String, CompletableFuture<Void>> tails = new ConcurrentHashMap<>();
    /** partition -> offsets started and not yet done; with {@link #next}, what may be committed. */
    private final Map<TopicPartition, ConcurrentSkipListSet<Long>> inFlight = new ConcurrentHashMap<>();
    /** partition -> the offset after the last record started (poll-thread only). */
    private final Map<TopicPartition, Long> next = new HashMap<>();
    private final Map<TopicPartition, Long> committed = new HashMap<>();
    private long lastCommit = System.nanoTime();
    private final AtomicInteger started = new AtomicInteger();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    void start(@Observes StartupEvent ev) {
        producer = new KafkaProducer<>(KafkaSettings.merged(brokerConfig, Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                // a result is awaited by a caller: send at once (Kafka 4 clients otherwise linger 5 ms per batch)
                ProducerConfig.LINGER_MS_CONFIG, 0,
                // answers are also sent from the event loop (the non-blocking paths): a send may block only while
                // the topic's metadata is unknown or the buffer is full; bound that, and learn the metadata now
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 5_000,
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class)));
        for (String topic : List.of(resultsTopic, auditTopic)) {
            try {
                producer.partitionsFor(topic);
            } catch (RuntimeException e) {
                LOG.warnf("no metadata yet for %s (%s): the first answers will wait for it", topic, e.toString());
            }
        }
        consumer = new KafkaConsumer<>(KafkaSettings.merged(brokerConfig, Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.GROUP_ID_CONFIG, group,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 256,
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class)));
        running = true;
        poller = Thread.ofPlatform().name("ipam-requests").daemon().start(this::run);
    }

    void stop(@Observes ShutdownEvent ev) throws InterruptedException {
        running = false;
        if (consumer != null) consumer.wakeup();
        if (poller != null) poller.join(SEND_TIMEOUT.toMillis());
        work.shutdown();
        if (producer != null) producer.close(Duration.ofSeconds(5));
    }

    /** For readiness: the poll loop alive and polling within the last 30 s. */
    public boolean listening() {
        return poller != null && poller.isAlive() && System.nanoTime() - lastPoll < 30_000_000_000L;
    }

    private void run() {
        try {
            consumer.subscribe(List.of(requestsTopic), new ConsumerRebalanceListener() {
                @Override public void onPartitionsRevoked(Collection<TopicPartition> parts) { settle(parts); }
                @Override public void onPartitionsLost(Collection<TopicPartition> parts) { forget(parts); }
                @Override public void onPartitionsAssigned(Collection<TopicPartition> parts) { }
            });
            boolean paused = false;
            while (running) {
                try {
                    var records = consumer.poll(Duration.ofMillis(100));
                    lastPoll = System.nanoTime();
                    for (ConsumerRecord<String, String> r : records) start(r);
                    if (System.nanoTime() - lastCommit >= COMMIT_EVERY_NANOS) commitDone(false);
                    if (failure.get() != null) {
                        recover();
                        paused = false;
                    } else if (!paused && started.get() >= MAX_IN_FLIGHT) {
                        consumer.pause(consumer.assignment());
                        paused = true;
                    } else if (paused && started.get() < MAX_IN_FLIGHT / 2) {
                        consumer.resume(consumer.assignment());
                        paused = false;
                    }
                } catch (WakeupException e) {
                    throw e;
                } catch (RuntimeException e) {
                    // a commit or poll error (broker away, rebalance): keep reading; what is not committed comes again
                    LOG.warnf("ipam request consumer: %s; continuing", e.toString());
                    Thread.sleep(1000);
                }
            }
        } catch (WakeupException | InterruptedException e) {
            // shutting down
        } finally {
            try {
                settle(consumer.assignment());
            } finally {
                consumer.close(Duration.ofSeconds(5));
            }
        }
    }

    /** Starts one record after the previous record of its key; marks it done (or the consumer failed) when answered. */
    private void start(ConsumerRecord<String, String> r) {
        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
        ConcurrentSkipListSet<Long> open = inFlight.computeIfAbsent(tp, k -> new ConcurrentSkipListSet<>());
        open.add(r.offset());
        next.put(tp, r.offset() + 1);
        started.incrementAndGet();
        String key = r.key() == null ? "" : r.key(); // no key: one chain, in order
        CompletableFuture<Void> done = new CompletableFuture<>();
        CompletableFuture<Void> before = tails.put(key, done);
        Runnable process = () -> {
            CompletableFuture<Void> answered;
            try {
                // null: the consumer failed meanwhile; the record stays not done and is read again
                answered = failure.get() == null ? answer(r.key(), r.value()) : null;
            } catch (RuntimeException e) {
                answered = CompletableFuture.failedFuture(e);
            }
            if (answered == null) {
                finished(key, done);
                return;
            }
            answered.orTimeout(SEND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).whenComplete((v, e) -> {
                if (e == null) {
                    open.remove(r.offset());
                } else if (failure.compareAndSet(null, e)) {
                    // only a failed send gets here: the record stays not done; the poll thread seeks back to it
                    LOG.errorf(e, "could not answer ipam request %s offset %d; reading again from the first request not answered", tp, r.offset());
                }
                finished(key, done);
            });
        };
        if (before == null || before.isDone()) {
            process.run(); // on the poll thread: it parses and either starts a non-blocking answer or hands over
        } else {
            // not on the thread that finished the previous record: that may be the producer's own network thread
            before.whenCompleteAsync((v, e) -> process.run(), work);
        }
    }

    private void finished(String key, CompletableFuture<Void> done) {
        started.decrementAndGet();
        tails.remove(key, done);
        done.complete(null);
    }

    /** Commits, per partition, the offset of the first record not done (or after the last started). */
    private void commitDone(boolean sync) {
        lastCommit = System.nanoTime();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition tp : next.keySet()) {
            long first = firstNotDone(tp);
            if (!Long.valueOf(first).equals(committed.get(tp))) offsets.put(tp, new OffsetAndMetadata(first));
        }
        if (offsets.isEmpty()) return;
        if (sync) {
            consumer.commitSync(offsets);
        } else {
            consumer.commitAsync(offsets, (o, e) -> { if (e != null) LOG.debugf("offset commit failed (retried with the next): %s", e.toString()); });
        }
        offsets.forEach((tp, o) -> committed.put(tp, o.offset()));
    }

    /** The partition's first record started and not yet done, else the offset after the last one started. */
    private long firstNotDone(TopicPartition tp) {
        var open = inFlight.get(tp);
        return open == null || open.isEmpty() ? next.get(tp) : open.first();
    }

    /** After a failed send: wait until nothing runs, then read every partition again from its first record not done. */
    private void recover() throws InterruptedException {
        awaitIdle();
        for (TopicPartition tp : next.keySet()) {
            if (consumer.assignment().contains(tp)) consumer.seek(tp, firstNotDone(tp));
        }
        inFlight.clear();
        next.clear();
        committed.clear();
        failure.set(null);
        consumer.resume(consumer.assignment());
        Thread.sleep(1000);
    }

    private void awaitIdle() throws InterruptedException {
        long deadline = System.nanoTime() + SEND_TIMEOUT.toNanos() * 2;
        while (started.get() > 0 && System.nanoTime() < deadline) Thread.sleep(5);
    }

    /** Partitions taken away: let their records finish and commit what is done, so the next owner does not repeat it. */
    private void settle(Collection<TopicPartition> parts) {
        try {
            awaitIdle();
            commitDone(true);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.warnf("could not commit before giving up partitions %s: %s", parts, e.toString());
        }
        forget(parts);
    }

    private void forget(Collection<TopicPartition> parts) {
        for (TopicPartition tp : parts) {
            inFlight.remove(tp);
            next.remove(tp);
            committed.remove(tp);
        }
    }

    /**
     * Answers one record without blocking the calling thread (the poll thread, or whichever thread finished the
     * pod's previous record); completes when the result and audit events are acknowledged by the broker. A dynamic
     * allocate from a pool this replica knows and a release go through the store's non-blocking calls and are sent
     * from wherever the store answers; anything else (a pool to derive, static ips, reconcile, a dry run) runs as
     * before, blocking, on a virtual thread. Domain errors become error results; only a failed send fails the future.
     */
    private CompletableFuture<Void> answer(String key, String payload) {
        Request q = Request.parse(json, key, payload);
        if (q == null) return CompletableFuture.completedFuture(null); // dropped, logged
        Uni<Void> fast = switch (q.type()) {
            case "io.netattach.ipam.allocate" -> allocateAsync(q);
            case "io.netattach.ipam.release" -> releaseAsync(q);
            default -> null;
        };
        if (fast == null) return onVirtualThread(q);
        return fast.subscribeAsCompletionStage();
    }

    /** {@link #answerBlocking} on a virtual thread of its own. */
    private CompletableFuture<Void> onVirtualThread(Request q) {
        return CompletableFuture.supplyAsync(() -> answerBlocking(q), work).thenCompose(f -> f);
    }

    /** One request's parsed envelope. */
    private record Request(String type, JsonNode data, String requestId, Owner owner, String subject, String resultKey) {
        static Request parse(ObjectMapper json, String key, String payload) {
            JsonNode event;
            try {
                event = json.readTree(payload);
            } catch (Exception e) {
                LOG.warnf("dropping a record on netattach.ipam.requests that is not JSON (key %s): %s", key, e.getMessage());
                return null;
            }
            String type = event.path("type").asText("");
            JsonNode data = event.path("data");
            String requestId = data.path("requestId").asText(event.path("id").asText(""));
            if (requestId.isEmpty()) {
                LOG.warnf("dropping an ipam request without requestId nor id (key %s, type %s)", key, type);
                return null;
            }
            Owner owner = data.has("owner") ? IpamRequestConsumer.owner(data.path("owner")) : null;
            String subject = owner != null && owner.namespace() != null ? owner.podRef() : null;
            String resultKey = key != null ? key : owner != null && owner.podUid() != null ? owner.podUid() : data.path("cluster").asText(null);
            return new Request(type, data, requestId, owner, subject, resultKey);
        }

        Map<String, Object> result() {
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("requestId", requestId);
            return result;
        }
    }

    /** The blocking path, on a virtual thread: the answer and its sends, whatever the request. */
    private CompletableFuture<Void> answerBlocking(Request q) {
        List<CompletableFuture<Void>> sends = new ArrayList<>(2);
        Map<String, Object> result = q.result();
        try {
            switch (q.type()) {
                case "io.netattach.ipam.allocate" -> allocate(q.requestId(), q.data(), q.owner(), result, sends);
                case "io.netattach.ipam.release" -> release(q.requestId(), q.owner(), result, sends);
                case "io.netattach.ipam.reconcile" -> reconcile(q.requestId(), q.data(), result, sends);
                default -> throw IpamException.invalid("type", q.type(), "is not an ipam request (io.netattach.ipam.allocate, release, reconcile)");
            }
        } catch (RuntimeException e) {
            failed(q, result, sends, e);
        }
        return sendResult(q, result, sends);
    }

    /** A request that failed: an error result (and an audit event for a conflict or an exhausted pool). */
    private void failed(Request q, Map<String, Object> result, List<CompletableFuture<Void>> sends, Throwable t) {
        if ("io.netattach.ipam.allocate".equals(q.type())) metrics.refused(t);
        if (t instanceof IpamException e) {
            fail(result, e.reason().name(), e.getMessage());
            if (e.reason() == IpamException.Reason.Conflict || e.reason() == IpamException.Reason.Exhausted) {
                sendAudit(sends, q.requestId() + "/audit", e.reason() == IpamException.Reason.Conflict ? "conflict" : "exhausted", q.owner(),
                        q.data().path("network").asText(null), null, e.getMessage());
            }
        } else {
            LOG.errorf(t, "ipam request %s failed", q.requestId());
            fail(result, "Unavailable", "ipam-service could not complete the request: " + t.getMessage());
        }
    }

    /** Sends the result after the audit events already started, and completes when the broker has them all. */
    private CompletableFuture<Void> sendResult(Request q, Map<String, Object> result, List<CompletableFuture<Void>> sends) {
        send(sends, null, q.requestId() + "/result", "io.netattach.ipam.result", q.subject(), q.resultKey(), result);
        return CompletableFuture.allOf(sends.toArray(CompletableFuture[]::new));
    }

    /**
     * A dynamic allocate from a global pool or a NAD-derived pool this replica knows, without a thread waiting for
     * the batch; null when the request needs the blocking path (or is invalid: that path answers it with the error).
     */
    private Uni<Void> allocateAsync(Request q) {
        JsonNode data = q.data();
        // attach-service sends "ips": null when the annotation asks none: only a non-empty list is a static request
        boolean staticIps = data.path("ips").isArray() && !data.path("ips").isEmpty();
        if (q.owner() == null || !data.path("ipam").isObject() || staticIps || data.path("dryRun").asBoolean(false)) return null;
        PoolDefinition def;
        try {
            q.owner().validated(true);
            def = IpamConfig.parse(json.convertValue(data.path("ipam"), new TypeReference<Map<String, Object>>() { }));
        } catch (IpamException e) {
            return null;
        }
        if (!def.hasPool()) return null;
        return nads.knownPool(def, q.owner().cluster()).onItemOrFailure().transformToUni((pool, refused) -> {
            if (refused != null) return respond(q, refused, null);
            if (pool == null) return Uni.createFrom().completionStage(onVirtualThread(q));
            return store.allocateAsync(pool, q.owner(), null, def).onItemOrFailure().transformToUni((lease, t) -> {
                if (t instanceof IpamException e && e.reason() == IpamException.Reason.NotFound) {
                    // the pool was deleted since this replica last saw it: the blocking path finds or derives it again
                    store.forgetDerived(pool);
                    return Uni.createFrom().completionStage(onVirtualThread(q));
                }
                return respond(q, t, (result, sends) -> allocated(q.requestId(), q.owner(), data.path("network").asText(null), lease, result, sends));
            });
        });
    }

    /** A release, without a thread waiting for the batch; null when the request is invalid (the blocking path answers it). */
    private Uni<Void> releaseAsync(Request q) {
        if (q.owner() == null) return null;
        try {
            q.owner().validated(false);
        } catch (IpamException e) {
            return null;
        }
        return store.releaseAsync(q.owner().cluster(), q.owner().podUid(), q.owner().iface(), null).onItemOrFailure().transformToUni((released, t) ->
                respond(q, t, (result, sends) -> released(q.requestId(), q.owner(), released, result, sends)));
    }

    /** A non-blocking path's answer: the error result if the store failed, else what {@code done} writes; then sent. */
    private Uni<Void> respond(Request q, Throwable failure, BiConsumer<Map<String, Object>, List<CompletableFuture<Void>>> done) {
        List<CompletableFuture<Void>> sends = new ArrayList<>(2);
        Map<String, Object> result = q.result();
        if (failure != null) failed(q, result, sends, failure);
        else done.accept(result, sends);
        return Uni.createFrom().completionStage(sendResult(q, result, sends));
    }

    private void allocate(String requestId, JsonNode data, Owner owner, Map<String, Object> result, List<CompletableFuture<Void>> sends) {
        if (owner == null) throw IpamException.missing("data.owner");
        owner.validated(true);
        if (!data.path("ipam").isObject()) throw IpamException.missing("data.ipam");
        Map<String, Object> ipam = json.convertValue(data.path("ipam"), new TypeReference<>() { });
        List<String> ips = data.path("ips").isArray() ? json.convertValue(data.path("ips"), new TypeReference<>() { }) : null;
        PoolDefinition def = IpamConfig.parse(ipam);
        String network = data.path("network").asText(null);
        if (data.path("dryRun").asBoolean(false)) {
            // nothing written, nothing audited: which pool, and for a static section the addresses it names
            Lease would = nads.dryRun(network, def, owner.cluster(), ips);
            result.put("ok", true);
            result.put("pool", would.pool());
            if (!def.hasPool()) {
                result.put("ips", would.ips());
                result.put("gateways", would.gateways());
                result.put("routes", would.routes());
                result.put("dns", would.dns());
                result.put("error", null);
            }
            return;
        }
        allocated(requestId, owner, network, nads.allocate(network, ipam, def, owner, ips), result, sends);
    }

    private void allocated(String requestId, Owner owner, String network, Lease lease, Map<String, Object> result, List<CompletableFuture<Void>> sends) {
        metrics.allocated(lease);
        result.put("ok", true);
        result.put("pool", lease.pool());
        result.put("ips", lease.ips());
        result.put("gateways", lease.gateways());
        result.put("routes", lease.routes());
        result.put("dns", lease.dns());
        result.put("error", null);
        sendAudit(sends, requestId + "/audit", "allocated", owner, network, lease.ips(), lease.created() ? null : "already held");
    }

    private void release(String requestId, Owner owner, Map<String, Object> result, List<CompletableFuture<Void>> sends) {
        if (owner == null) throw IpamException.missing("data.owner");
        owner.validated(false);
        released(requestId, owner, store.release(owner.cluster(), owner.podUid(), owner.iface(), null), result, sends);
    }

    private void released(String requestId, Owner owner, List<IpamStore.Released> released, Map<String, Object> result, List<CompletableFuture<Void>> sends) {
        metrics.released(released.size(), "release");
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
        metrics.released(released.size(), "reconcile");
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

    /** Starts sending one CloudEvent (topic null: netattach.ipam.results); its future in {@code sends} completes when the broker has it (acks=all). */
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
        CompletableFuture<Void> sent = new CompletableFuture<>();
        producer.send(new ProducerRecord<>(topic != null ? topic : resultsTopic, key, value),
                (meta, e) -> { if (e != null) sent.completeExceptionally(e); else sent.complete(null); });
        sends.add(sent);
    }
}
