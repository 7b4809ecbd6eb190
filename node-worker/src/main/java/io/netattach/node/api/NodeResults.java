package io.netattach.node.api;

import io.netattach.node.domain.Commands;
import io.netattach.node.domain.InterfaceReport;
import io.opentelemetry.context.Context;
import io.smallrye.reactive.messaging.TracingMetadata;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.Metadata;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Results, sandbox events and the inventory, to netattach.node.results (channel node-results). Each send completes
 * when the broker has the record (acks=all), so a command is acknowledged only after its result is durable. The
 * CNI path's sends are not awaited: a CNI call never waits for the broker, which may be away; a failure is logged,
 * and attach-service asks again when its wait for the node runs out.
 */
@ApplicationScoped
public class NodeResults {
    private static final Logger LOG = Logger.getLogger(NodeResults.class);
    /** The CloudEvents Kafka binding's header for the structured content mode (the whole event is the value). */
    static final String CONTENT_TYPE = "content-type", CLOUDEVENTS_JSON = "application/cloudevents+json";

    @Inject @Channel("node-results") Emitter<String> emitter;
    @Inject EventJson json;
    @ConfigProperty(name = "netattach.node.name") String node;

    /** Completes when the broker has the result; key pod UID. */
    public CompletionStage<Void> result(Commands.Result result) { return send(result.pod().uid(), json.result(result)); }

    public void resultLater(Commands.Result result) { logFailure(result(result), "result of " + result.requestId()); }

    public void sandboxLater(Commands.Sandbox sandbox, String event) {
        logFailure(send(sandbox.pod().uid(), json.sandbox(sandbox, event)), "sandbox " + event + " of " + sandbox.pod().subject());
    }

    /** Key node name. */
    public CompletionStage<Void> inventory(String id, Map<Commands.Sandbox, List<InterfaceReport>> sandboxes) {
        return send(node, json.inventory(id, sandboxes));
    }

    private CompletionStage<Void> send(String key, String event) {
        CompletableFuture<Void> sent = new CompletableFuture<>();
        OutgoingKafkaRecordMetadata<String> record = OutgoingKafkaRecordMetadata.<String>builder().withKey(key)
                .addHeaders(new RecordHeader(CONTENT_TYPE, CLOUDEVENTS_JSON.getBytes(StandardCharsets.UTF_8))).build();
        // the caller's trace (a command's netlink span) goes with the record: the emitter may send on another thread
        Message<String> message = Message.of(event, Metadata.of(record, TracingMetadata.withCurrent(Context.current())), () -> {
            sent.complete(null);
            return CompletableFuture.completedFuture(null);
        }, failure -> {
            sent.completeExceptionally(failure);
            return CompletableFuture.completedFuture(null);
        });
        try {
            emitter.send(message);
        } catch (RuntimeException e) {
            // the emitter's buffer is full (the broker has been away a while) or the channel is shutting down
            sent.completeExceptionally(e);
        }
        return sent;
    }

    private static void logFailure(CompletionStage<Void> sent, String what) {
        sent.whenComplete((ok, failure) -> {
            if (failure != null) LOG.warnf("%s not published: %s", what, failure.getMessage());
        });
    }
}
