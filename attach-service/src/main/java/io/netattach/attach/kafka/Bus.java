package io.netattach.attach.kafka;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.opentelemetry.context.Context;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.TracingMetadata;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.OnOverflow;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Kafka request / reply for the orchestration: sends CloudEvents (structured mode) and hands each answer on the
 * reply topics to whoever waits for that requestId. Every replica reads every reply (the replies channel has a
 * consumer group per process), and ignores answers it is not waiting for: only the leader sends requests, so
 * nothing is lost and nothing is handled twice.
 */
@ApplicationScoped
public class Bus {
    private static final Logger LOG = Logger.getLogger(Bus.class);
    /** The CloudEvents Kafka binding's mark of structured mode, on every record sent. */
    static final List<RecordHeader> STRUCTURED = List.of(new RecordHeader("content-type", "application/cloudevents+json".getBytes(StandardCharsets.UTF_8)));
    private static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);
    private static final CompletionStage<Void> DONE = CompletableFuture.completedFuture(null);

    @Inject ObjectMapper json;
    @Inject @io.smallrye.common.annotation.Identifier(ReplyPartitions.NAME) ReplyPartitions replyPartitions;
    @ConfigProperty(name = "netattach.cluster-id") String cluster;
    @ConfigProperty(name = "netattach.kafka.replies-assignment-timeout", defaultValue = "60s") Duration assignmentTimeout;

    @ConfigProperty(name = "netattach.kafka.topic-suffix") java.util.Optional<String> topicSuffix;

    // every topic through one channel, so one producer: records for different topics that are ready together share a
    // produce request (docs/benchmarks.md, "Kafka connector A/B"); callers block until their record is acknowledged,
    // so what waits here is bounded by the callers
    @Inject @Channel(OUT) @OnOverflow(OnOverflow.Strategy.UNBOUNDED_BUFFER) MutinyEmitter<String> out;
    static final String OUT = "attach-out";

    private final Map<String, Waiter> waiting = new ConcurrentHashMap<>();
    private volatile SandboxListener sandboxListener;

    /** A pending request: each answer (a node may answer "pending" first) goes to the listener. */
    private record Waiter(String podUid, Consumer<JsonNode> listener) {
    }

    /**
     * Every record of the reply topics, on the connector's event loop: only parses and hands over (the listeners
     * queue the answer for the thread that waits), never blocks. A record that is no reply goes to the dead-letter
     * topic with the reason; that send is not waited for, so a broker that refuses it holds up no reply behind it.
     */
    @Incoming("replies")
    CompletionStage<Void> onReply(Message<String> record) {
        Reply reply;
        try {
            reply = Reply.parse(json, record.getPayload());
        } catch (Reply.UnreadableReply e) {
            LOG.warnf("unreadable reply, sent to the dead-letter topic: %s", e.getMessage());
            record.nack(e).whenComplete((v, failure) -> {
                if (failure != null) LOG.warnf("unreadable reply not written to the dead-letter topic either: %s", failure.toString());
            });
            return DONE;
        }
        try {
            switch (reply) {
                case Reply.Answer a -> {
                    Waiter w = waiting.get(a.requestId());
                    if (w == null) return DONE;
                    if (LOG.isDebugEnabled()) {
                        // how long the answer sat in Kafka before we read it (vs. how long the other side took)
                        long producedAt = record.getMetadata(IncomingKafkaRecordMetadata.class).map(m -> m.getTimestamp().toEpochMilli()).orElse(0L);
                        LOG.debugf("answer to %s read %d ms after it was produced", a.requestId(), System.currentTimeMillis() - producedAt);
                    }
                    w.listener().accept(a.data());
                }
                case Reply.SandboxWaiting s -> {
                    SandboxListener l = sandboxListener;
                    if (l != null) l.waiting(s.podUid(), s.containerId(), s.node());
                }
                case Reply.Unread u -> {
                }
            }
        } catch (RuntimeException e) {
            // our own listener failed, not the record: the next reply must still be read
            LOG.warnf(e, "handling a reply failed");
        }
        return DONE;
    }

    /** Who hears of sandboxes that wait for their pod's networks (the controller's leader). */
    public interface SandboxListener {
        void waiting(String podUid, String containerId, String node);
    }

    public void onSandboxWaiting(SandboxListener listener) {
        this.sandboxListener = listener;
    }

    /** Registers interest in answers to requestId (before sending, so a fast answer is not missed). */
    public void expect(String requestId, String podUid, Consumer<JsonNode> listener) {
        waiting.put(requestId, new Waiter(podUid, listener));
    }

    /** Marker handed to the waiters of a pod that was deleted meanwhile. */
    public static final JsonNode CANCELLED = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("cancelled", true);

    /** Wakes every wait on behalf of podUid with {@link #CANCELLED}. */
    public void cancel(String podUid) {
        waiting.values().stream().filter(w -> w.podUid().equals(podUid)).forEach(w -> w.listener().accept(CANCELLED));
    }

    public void forget(String requestId) {
        waiting.remove(requestId);
    }

    /**
     * Sends a request (or an audit event) and waits until the broker has it (acks=all). Blocks: for the controller's
     * worker threads and blocking REST calls, never the event loop. The first sends also wait until the reply
     * partitions are positioned (see {@link ReplyPartitions}), so no answer to them can be missed.
     */
    public void send(Topic topic, String key, String id, String type, String subject, JsonNode data) {
        if (io.vertx.core.Context.isOnEventLoopThread()) {
            throw new IllegalStateException("Bus.send blocks until the broker acknowledges " + type + " " + id + ": not on the event loop");
        }
        awaitReplyPartitions(type, id);
        ObjectNode event = json.createObjectNode();
        event.put("specversion", "1.0");
        event.put("id", id);
        event.put("source", "/netattach/attach-service/" + cluster);
        event.put("type", type);
        if (subject != null) event.put("subject", subject);
        event.put("time", Instant.now().toString());
        event.put("datacontenttype", "application/json");
        event.put("netattachcluster", cluster);
        event.set("data", data);
        String value;
        try {
            value = json.writeValueAsString(event);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + type + " " + id + ": " + e.getMessage(), e);
        }
        // the emitter sends on another thread: the caller's trace context (the pod's attach span) travels as metadata
        Message<String> record = Message.of(value).addMetadata(OutgoingKafkaRecordMetadata.<String>builder()
                        .withTopic(topic(topic)).withKey(key).withHeaders(STRUCTURED).build())
                .addMetadata(TracingMetadata.withCurrent(Context.current()));
        try {
            out.sendMessage(record).await().atMost(SEND_TIMEOUT);
        } catch (CompletionException e) {
            if (e.getCause() instanceof InterruptedException) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while sending " + type + " " + id, e);
            }
            throw new IllegalStateException("cannot send " + type + " " + id + " to " + topic(topic) + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new IllegalStateException("cannot send " + type + " " + id + " to " + topic(topic) + ": " + e.getMessage(), e);
        }
    }

    private void awaitReplyPartitions(String type, String id) {
        try {
            if (!replyPartitions.await(assignmentTimeout)) {
                throw new IllegalStateException("not sending " + type + " " + id + ": the reply topics' partitions are not assigned after "
                        + assignmentTimeout.toSeconds() + " s, so its answer could be missed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the reply partitions to send " + type + " " + id, e);
        }
    }

    /** The topic's name in this deployment. */
    public String topic(Topic topic) {
        return topic.baseName() + topicSuffix.orElse("");
    }
}
