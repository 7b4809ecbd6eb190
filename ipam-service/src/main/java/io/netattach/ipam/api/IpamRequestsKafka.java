package io.netattach.ipam.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netattach.ipam.api.IpamAnswer.Audit;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.smallrye.common.annotation.Identifier;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.TracingMetadata;
import io.smallrye.reactive.messaging.kafka.KafkaConsumerRebalanceListener;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.reactive.messaging.Acknowledgment;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.Metadata;
import org.eclipse.microprofile.reactive.messaging.Outgoing;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * netattach.ipam.requests (channel ipam-requests) -> {@link IpamAnswers} -> netattach.ipam.results and
 * netattach.audit (channel ipam-answers: one producer for both topics, as the answers of one request leave
 * together), CloudEvents in structured mode with the binding's content-type header, per docs/asyncapi.yaml.
 * <p>
 * A request starts once the previous request of its key (the pod UID) is settled: one pod's requests run in offset
 * order, different pods' concurrently, at most {@link #MAX_IN_FLIGHT} at once (reading pauses beyond). A request is
 * settled when every event of its answer was acknowledged by the broker (acks=all) and the record acked to the
 * connector's throttled commit; a record that names no request is nacked and goes to the dead-letter topic.
 */
@ApplicationScoped
public class IpamRequestsKafka {
    private static final Logger LOG = Logger.getLogger(IpamRequestsKafka.class);
    /** Requests started and not yet answered beyond which reading pauses: a backlog waits in Kafka, not in memory. */
    static final int MAX_IN_FLIGHT = 1024;
    /** How long a replica losing partitions lets its started requests finish before the next owner reads them. */
    private static final Duration HANDOVER = Duration.ofSeconds(30);
    private static final RecordHeader STRUCTURED = new RecordHeader("content-type", "application/cloudevents+json".getBytes(StandardCharsets.UTF_8));
    private static final CompletionStage<Void> DONE = CompletableFuture.completedFuture(null);

    @Inject IpamAnswers answers;
    @Inject ObjectMapper json;
    @Inject Tracer tracer;
    @ConfigProperty(name = "netattach.ipam.audit-topic") String auditTopic;
    @ConfigProperty(name = "netattach.cluster-id") String clusterId;

    /** key -> the last request of that key started; the next one of the key starts once it is settled. */
    private final Map<String, CompletableFuture<Void>> tails = new ConcurrentHashMap<>();
    private final AtomicInteger unsettled = new AtomicInteger();

    /**
     * Each request becomes the records of its answer (its audit events, then its result), in order per key.
     * merge: up to {@link #MAX_IN_FLIGHT} requests at once, on whichever thread the store completes them.
     */
    @Incoming("ipam-requests")
    @Outgoing("ipam-answers")
    @Acknowledgment(Acknowledgment.Strategy.MANUAL)
    public Multi<Message<String>> answer(Multi<Message<String>> requests) {
        return requests.onItem().transformToUni(this::afterItsKey).merge(MAX_IN_FLIGHT).onItem().disjoint();
    }

    private Uni<List<Message<String>>> afterItsKey(Message<String> request) {
        String key = request.getMetadata(IncomingKafkaRecordMetadata.class).map(m -> (String) m.getKey()).orElse(null);
        String chain = key == null ? "" : key; // records without a key: one chain, in order
        CompletableFuture<Void> settled = new CompletableFuture<>();
        unsettled.incrementAndGet();
        CompletableFuture<Void> before = tails.put(chain, settled);
        settled.whenComplete((v, e) -> {
            tails.remove(chain, settled);
            unsettled.decrementAndGet();
        });
        Uni<List<Message<String>>> start = Uni.createFrom().deferred(() -> answer(key, request, settled));
        // a previous request of the pod settles on the connector's event loop: the next one starts there
        return before == null || before.isDone() ? start : Uni.createFrom().completionStage(before).chain(() -> start);
    }

    private Uni<List<Message<String>>> answer(String key, Message<String> request, CompletableFuture<Void> settled) {
        IpamRequest q;
        try {
            q = IpamRequest.read(json, key, request.getPayload());
        } catch (IpamRequest.Unreadable e) {
            LOG.warnf("a record on netattach.ipam.requests that cannot be answered goes to the dead-letter topic: %s", e.getMessage());
            settleWhen(request.nack(e), settled);
            return Uni.createFrom().item(List.of());
        }
        Context parent = parentOf(request);
        Span span = tracer.spanBuilder("ipam " + q.type().substring(q.type().lastIndexOf('.') + 1)).setParent(parent)
                .setAttribute("netattach.ipam.request-id", q.requestId()).startSpan();
        Context trace = parent.with(span);
        return answers.answer(q).map(a -> {
            ended(span, a.result());
            return records(a, request, settled, trace);
        }).onFailure().recoverWithItem(t -> {
            span.setStatus(StatusCode.ERROR, String.valueOf(t.getMessage())).end();
            LOG.errorf(t, "could not write the answer to ipam request %s; the record goes to the dead-letter topic", q.requestId());
            settleWhen(request.nack(t), settled);
            return List.of();
        });
    }

    /** The trace the request came with (the connector's span of the record, whose parent the traceparent header names). */
    private static Context parentOf(Message<String> request) {
        return TracingMetadata.fromMessage(request).map(TracingMetadata::getCurrentContext).orElseGet(Context::current);
    }

    /** Ends the allocation's (or release's) span with what it did. */
    private static void ended(Span span, IpamAnswer.Result result) {
        switch (result) {
            case IpamAnswer.Leased l -> span.setAttribute("netattach.ipam.pool", String.valueOf(l.pool())).setAttribute("netattach.ipam.addresses", l.ips().size());
            case IpamAnswer.PoolNamed n -> span.setAttribute("netattach.ipam.pool", String.valueOf(n.pool()));
            case IpamAnswer.Freed f -> span.setAttribute("netattach.ipam.addresses", f.released());
            case IpamAnswer.Refusal r -> span.setAttribute("netattach.ipam.error", r.error().reason()).setStatus(StatusCode.ERROR, r.error().message());
        }
        span.end();
    }

    /** The audit events, then the result; the request is acked once the broker has all of them. */
    private List<Message<String>> records(IpamAnswer a, Message<String> request, CompletableFuture<Void> settled, Context trace) {
        IpamRequest q = a.request();
        Settlement settlement = new Settlement(request, a.audits().size() + 1, settled);
        List<Message<String>> out = new ArrayList<>(a.audits().size() + 1);
        for (Audit audit : a.audits()) {
            String subject = audit.owner() == null || audit.owner().namespace() == null ? null : audit.owner().podRef();
            out.add(record(auditTopic, audit.owner() == null ? null : audit.owner().podUid(),
                    event(audit.id(), "io.netattach.ipam." + audit.outcome(), subject, audit.data()), settlement, trace));
        }
        out.add(record(null, q.resultKey(), event(q.requestId() + "/result", "io.netattach.ipam.result", q.subject(), a.result()), settlement, trace));
        return out;
    }

    /** topic null: the channel's own (netattach.ipam.results). */
    private static Message<String> record(String topic, String key, String value, Settlement settlement, Context trace) {
        OutgoingKafkaRecordMetadata<String> meta = OutgoingKafkaRecordMetadata.<String>builder()
                .withTopic(topic).withKey(key).withHeaders(List.of(STRUCTURED)).build();
        // new messages, sent from whichever thread the store completed on: the trace goes with them as metadata
        return Message.of(value, Metadata.of(meta, TracingMetadata.withCurrent(trace)), settlement::acked, settlement::nacked);
    }

    /** A CloudEvents 1.0 envelope in structured JSON mode (docs/asyncapi.yaml CloudEvent). */
    record CloudEvent(String specversion, String id, String source, String type, @JsonInclude(JsonInclude.Include.NON_NULL) String subject,
                      String time, String datacontenttype, String netattachcluster, Object data) {
    }

    private String event(String id, String type, String subject, Object data) {
        try {
            return json.writeValueAsString(new CloudEvent("1.0", id, "/netattach/ipam-service/" + clusterId, type, subject,
                    OffsetDateTime.now(ZoneOffset.UTC).toString(), "application/json", clusterId, data));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write event " + id + ": " + e.getMessage(), e);
        }
    }

    /**
     * Settles the request once its ack or nack is through. If that fails (the dead-letter topic unreachable), the
     * record stays uncommitted and its pod's later requests wait: the channel's health goes down
     * (throttled.unprocessed-record-max-age) and a restart reads the record again, in order.
     */
    private static void settleWhen(CompletionStage<Void> acked, CompletableFuture<Void> settled) {
        acked.whenComplete((v, e) -> {
            if (e == null) settled.complete(null);
            else LOG.errorf(e, "could not settle an ipam request; it is read again after a restart");
        });
    }

    /** The answer's records acked by the broker: the request is acked; the first that failed nacks it. */
    private static final class Settlement {
        private final Message<String> request;
        private final AtomicInteger open;
        private final AtomicBoolean over = new AtomicBoolean();
        private final CompletableFuture<Void> settled;

        Settlement(Message<String> request, int records, CompletableFuture<Void> settled) {
            this.request = request;
            this.open = new AtomicInteger(records);
            this.settled = settled;
        }

        CompletionStage<Void> acked() {
            if (open.decrementAndGet() == 0 && over.compareAndSet(false, true)) settleWhen(request.ack(), settled);
            return DONE;
        }

        CompletionStage<Void> nacked(Throwable reason) {
            if (over.compareAndSet(false, true)) {
                LOG.errorf(reason, "the broker did not take the answer to an ipam request; the request goes to the dead-letter topic");
                settleWhen(request.nack(reason), settled);
            }
            return DONE;
        }
    }

    /** Waits (on the consumer's thread, at most {@link #HANDOVER}) until every request started is settled. */
    void awaitSettled() {
        long deadline = System.nanoTime() + HANDOVER.toNanos();
        try {
            while (unsettled.get() > 0 && System.nanoTime() < deadline) Thread.sleep(5);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (unsettled.get() > 0) LOG.warnf("giving up partitions with %d ipam requests still unsettled; their next owner answers them again", unsettled.get());
    }

    /**
     * Partitions taken away (rebalance, shutdown): the connector has committed what is settled; the requests still
     * running finish before the next owner reads them again, so one pod's allocate never lands after its release.
     */
    @ApplicationScoped
    @Identifier("ipam-requests-handover")
    public static class Handover implements KafkaConsumerRebalanceListener {
        @Inject IpamRequestsKafka requests;

        @Override
        public void onPartitionsRevoked(Consumer<?, ?> consumer, Collection<TopicPartition> partitions) {
            if (!partitions.isEmpty()) requests.awaitSettled();
        }
    }
}
