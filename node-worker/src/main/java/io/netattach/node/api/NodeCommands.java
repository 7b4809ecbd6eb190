package io.netattach.node.api;

import io.netattach.node.domain.Commands;
import io.netattach.node.domain.PendingAnswers;
import io.netattach.node.domain.PodNetworks;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.reactive.messaging.TracingMetadata;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import jakarta.annotation.PreDestroy;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * This node's commands from netattach.node.commands (channel node-commands: the one partition its name hashes to,
 * see kafka/CommandPartition). Records keyed for the other nodes of that partition are acknowledged and skipped;
 * an unreadable command is nacked with the field at fault and lands on netattach.dlq.node-worker. Commands run one
 * at a time on the node's command thread, and a command is acknowledged once its result is durable. An attach still
 * waiting for its sandbox stays unacknowledged until the sandbox came or the wait expired, so the committed offset
 * stays before it and a restart reads it again (handlers are idempotent).
 */
@ApplicationScoped
public class NodeCommands {
    private static final Logger LOG = Logger.getLogger(NodeCommands.class);
    private static final AttributeKey<List<String>> INTERFACE_KINDS = AttributeKey.stringArrayKey("netattach.interface.kind");

    @Inject NodeWorker worker;
    @Inject NodeResults results;
    @Inject EventJson json;
    @Inject Tracer tracer;
    @ConfigProperty(name = "netattach.node.name") String node;
    @ConfigProperty(name = "netattach.node.pending-ttl", defaultValue = "PT10M") Duration pendingTtl;
    @ConfigProperty(name = "netattach.node.pending-answer-delay", defaultValue = "PT1S") Duration pendingAnswerDelay;
    @ConfigProperty(name = "mp.messaging.incoming.node-commands.throttled.unprocessed-record-max-age.ms", defaultValue = "60000") long unackedMaxAgeMs;

    /** The command thread: commands, their pending answers and timeouts, one at a time, in order. */
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("netattach-node-commands").daemon(true).factory());
    /** Pod UID -> the attach commands waiting for its sandbox, acknowledged when it no longer waits (command thread only). */
    private final Map<String, List<Message<String>>> waiting = new HashMap<>();
    /** Pod UID -> the trace of its attach waiting for the sandbox; the batch runs on the ADD's thread when the sandbox comes. */
    private final Map<String, Deferred> deferredTraces = new java.util.concurrent.ConcurrentHashMap<>();

    private record Deferred(String requestId, Context trace) {}
    private PendingAnswers answers;
    private volatile boolean stopping;

    /** After NodeWorker (priority 10), before the channels start (1000). */
    void onStart(@Observes @Priority(20) StartupEvent ev) {
        if (unackedMaxAgeMs > 0 && Duration.ofMillis(unackedMaxAgeMs).compareTo(pendingTtl.plusMinutes(1)) < 0) {
            // an attach waiting for its sandbox is unacknowledged that long: the connector would call the channel dead
            throw new IllegalArgumentException("mp.messaging.incoming.node-commands.throttled.unprocessed-record-max-age.ms " + unackedMaxAgeMs
                    + " must exceed netattach.node.pending-ttl " + pendingTtl + " by a minute at least");
        }
        answers = new PendingAnswers(pendingAnswerDelay, Clock.systemUTC());
        thread.scheduleWithFixedDelay(this::tick, 200, 200, TimeUnit.MILLISECONDS);
    }

    @Incoming("node-commands")
    public CompletionStage<Void> consume(Message<String> message) {
        Object key = message.getMetadata(IncomingKafkaRecordMetadata.class).map(IncomingKafkaRecordMetadata::getKey).orElse(null);
        if (!node.equals(key)) return message.ack(); // another node's command on the same partition
        Commands.Command command;
        try {
            command = json.parseCommand(message.getPayload()).command();
        } catch (Exception e) {
            // not retryable: a malformed command stays malformed (the dead-letter queue takes it, with this reason)
            return message.nack(new IllegalArgumentException("unreadable node command: " + e.getMessage(), e));
        }
        try {
            return CompletableFuture.supplyAsync(() -> traced(command, message), thread).thenCompose(done -> done);
        } catch (RejectedExecutionException e) {
            return CompletableFuture.completedFuture(null); // shutting down: unacknowledged, read again at the next start
        }
    }

    /**
     * One span per command's netlink batch, child of the record's trace (attach-service's attach); current while the
     * result is sent, so the result carries it on (NodeResults). A pending attach only waits here: its batch runs
     * when the sandbox comes, in a span of its own in the same trace ({@link #deferred}).
     */
    private CompletionStage<Void> traced(Commands.Command command, Message<String> message) {
        Context parent = TracingMetadata.fromMessage(message).map(TracingMetadata::getCurrentContext).orElseGet(Context::current);
        Span span = spanOf(command, parent).startSpan();
        try (Scope ignored = span.makeCurrent()) {
            return execute(command, message, span);
        } finally {
            span.end();
        }
    }

    /** The span of a command's batch: its name and what the command asks for. */
    private SpanBuilder spanOf(Commands.Command command, Context parent) {
        SpanBuilder builder = tracer.spanBuilder(switch (command) {
            case Commands.Attach a -> "netlink attach";
            case Commands.Detach d -> "netlink detach";
            case Commands.Blocked b -> "node blocked";
        }).setParent(parent).setAttribute("netattach.request-id", command.requestId());
        return switch (command) {
            case Commands.Attach a -> builder.setAttribute("netattach.interface.count", a.attachments().size())
                    .setAttribute(INTERFACE_KINDS, a.attachments().stream().map(r -> String.valueOf(r.cniConfig().get("type"))).distinct().sorted().toList());
            // interfaces null: the pod's teardown, every interface netattach made in it
            case Commands.Detach d -> builder.setAttribute("netattach.teardown", d.interfaces() == null)
                    .setAttribute("netattach.interface.count", d.interfaces() == null ? 0 : d.interfaces().size());
            case Commands.Blocked b -> builder.setAttribute("netattach.blocked.reason", b.reason());
        };
    }

    /**
     * The netlink batch of an attach that waited for its sandbox, run when the sandbox came (on the ADD's thread): a
     * span "netlink attach" in the command's trace, so the common case (the command before the sandbox) is traced too.
     */
    Commands.Result deferred(Commands.Attach command, Supplier<Commands.Result> batch) {
        Deferred d = deferredTraces.remove(command.pod().uid());
        if (d == null || !d.requestId().equals(command.requestId())) return batch.get();
        Span span = spanOf(command, d.trace()).setAttribute("netattach.deferred", true).startSpan();
        try (Scope ignored = span.makeCurrent()) {
            Commands.Result r = batch.get();
            if (!r.ok()) span.setStatus(StatusCode.ERROR, r.errorReason() + ": " + r.errorMessage());
            return r;
        } catch (RuntimeException e) {
            span.setStatus(StatusCode.ERROR, String.valueOf(e.getMessage()));
            throw e;
        } finally {
            span.end();
        }
    }

    private CompletionStage<Void> execute(Commands.Command command, Message<String> message, Span span) {
        PodNetworks pods = worker.pods();
        Commands.Result result;
        try {
            result = switch (command) {
                case Commands.Attach a -> pods.attach(a);
                case Commands.Detach d -> pods.detach(d);
                case Commands.Blocked b -> {
                    pods.block(b); // no answer: nobody waits for one
                    LOG.infof("%s %s: attach-service will not attach it (%s): %s", b.requestId(), b.pod().subject(), b.reason(), b.message());
                    yield null;
                }
            };
        } catch (RuntimeException e) {
            // not a failure the handlers report themselves: answered as Failed all the same, so nobody waits in vain
            LOG.errorf(e, "node command %s failed", command.requestId());
            if (command instanceof Commands.Blocked) return message.ack();
            result = new Commands.Result(command.requestId(), command.pod(), false, false, null, List.of(), "Failed", String.valueOf(e.getMessage()));
        }
        if (result == null) return message.ack();
        span.setAttribute("netattach.pending", result.pending());
        if (!result.ok() && !result.pending()) span.setStatus(StatusCode.ERROR, result.errorReason() + ": " + result.errorMessage());
        if (result.pending()) {
            if (command instanceof Commands.Attach a) deferredTraces.put(a.pod().uid(), new Deferred(a.requestId(), Context.current()));
            waiting.computeIfAbsent(result.pod().uid(), uid -> new ArrayList<>()).add(message);
            // answered "pending" only if it still waits after a moment (PendingAnswers); acknowledged later (tick)
            return answers.hold(result) ? CompletableFuture.completedFuture(null) : publish(result);
        }
        return publish(result).thenCompose(sent -> message.ack());
    }

    /** Timeouts, held pending answers, and the attaches no longer waiting: every 200 ms on the command thread. */
    private void tick() {
        try {
            PodNetworks pods = worker.pods();
            for (Commands.Result expired : pods.expirePending(pendingTtl)) publishOrLog(expired, "the timeout");
            for (Commands.Result pending : answers.due(pods::isPending)) publishOrLog(pending, "the pending answer");
            deferredTraces.keySet().removeIf(uid -> !pods.isPending(uid));
            waiting.entrySet().removeIf(e -> {
                if (pods.isPending(e.getKey())) return false;
                e.getValue().forEach(Message::ack);
                return true;
            });
        } catch (RuntimeException e) {
            LOG.errorf(e, "node commands: periodic work failed"); // caught: a scheduled task that throws is never run again
        }
    }

    /** Completes once the broker has the result; retried every second meanwhile (the broker may be away). */
    private CompletionStage<Void> publish(Commands.Result r) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        attempt(r, done, 1);
        return done;
    }

    private void attempt(Commands.Result r, CompletableFuture<Void> done, int attempt) {
        // back on the command thread: the broker's acknowledgement arrives on the producer's I/O thread
        results.result(r).whenCompleteAsync((ok, failure) -> {
            if (failure == null) {
                LOG.infof("%s %s: ok=%s pending=%s%s", r.requestId(), r.pod().subject(), r.ok(), r.pending(),
                        r.errorMessage() == null ? "" : " error=" + r.errorMessage());
                done.complete(null);
            } else if (stopping) {
                done.complete(null); // unacknowledged: read again at the next start
            } else {
                LOG.warnf("result of %s not published (attempt %d), again in 1 s: %s", r.requestId(), attempt, failure.getMessage());
                thread.schedule(() -> attempt(r, done, attempt + 1), 1, TimeUnit.SECONDS);
            }
        }, this::onCommandThread);
    }

    private void onCommandThread(Runnable r) {
        try {
            thread.execute(r);
        } catch (RejectedExecutionException e) {
            r.run(); // shutting down
        }
    }

    /**
     * For answers no command's acknowledgement waits on (a timeout, a held pending answer): a failure is logged, not
     * retried; attach-service resends the command when its wait for the node runs out, and gets an answer again.
     */
    private void publishOrLog(Commands.Result r, String what) {
        results.result(r).whenComplete((ok, failure) -> {
            if (failure != null) LOG.warnf("could not publish %s of %s: %s", what, r.requestId(), failure.getMessage());
            else LOG.infof("%s %s: ok=%s pending=%s", r.requestId(), r.pod().subject(), r.ok(), r.pending());
        });
    }

    void onStop(@Observes ShutdownEvent ev) {
        stopping = true;
    }

    @PreDestroy
    void stop() {
        thread.shutdownNow();
    }
}
