package io.netattach.policy.api;

import io.opentelemetry.context.Context;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.TracingMetadata;
import io.smallrye.reactive.messaging.MutinyEmitter;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.Metadata;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * What policy-service writes: CloudEvents in structured mode (the event's JSON is the value, and the header
 * {@code content-type: application/cloudevents+json} of the CloudEvents Kafka binding tells SDK consumers so), to
 * netattach.policy.decisions or netattach.audit, both through the one channel {@code policy-out}.
 */
@ApplicationScoped
class CloudEventRecords {
    static final String CONTENT_TYPE = "content-type";
    static final String STRUCTURED = "application/cloudevents+json";
    static final String OUT = "policy-out";

    // one channel, so one producer: a decision's audit events and other decisions ready at the same time share a
    // produce request (docs/benchmarks.md, "Kafka connector A/B")
    @Inject @Channel(OUT) MutinyEmitter<String> out;
    @ConfigProperty(name = "netattach.kafka.topic-suffix") Optional<String> topicSuffix;

    /** Sends a decision (key: pod UID) in the decision's trace; the Uni is lazy, subscribing sends. */
    Uni<Void> decision(String key, String event, Context trace) {
        return out.sendMessage(record("netattach.policy.decisions", key, event, trace));
    }

    /** Sends an audit event (key: pod UID) in the current trace (the decision's span); the Uni is lazy, subscribing sends. */
    Uni<Void> audit(String key, String event) {
        return out.sendMessage(record("netattach.audit", key, event, Context.current()));
    }

    // the trace goes as metadata: the answer is sent from whichever thread acknowledged the audit events
    private Message<String> record(String topic, String key, String event, Context trace) {
        // a RecordHeaders of its own per record: the producer makes a sent record's headers read-only
        RecordHeaders headers = new RecordHeaders();
        headers.add(CONTENT_TYPE, STRUCTURED.getBytes(StandardCharsets.UTF_8));
        return Message.of(event, Metadata.of(OutgoingKafkaRecordMetadata.<String>builder()
                .withTopic(topic + topicSuffix.orElse("")).withKey(key).withHeaders(headers).build(), TracingMetadata.withCurrent(trace)));
    }
}
