package io.netattach.policy.api;

import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.Metadata;

import java.nio.charset.StandardCharsets;

/**
 * Outgoing Kafka records of a CloudEvent in structured mode: the event's JSON is the value, and the header
 * {@code content-type: application/cloudevents+json} of the CloudEvents Kafka binding tells SDK consumers so.
 */
final class CloudEventRecords {
    static final String CONTENT_TYPE = "content-type";
    static final String STRUCTURED = "application/cloudevents+json";

    private CloudEventRecords() {}

    static Message<String> of(String key, String event) {
        // a RecordHeaders of its own per record: the producer makes a sent record's headers read-only
        RecordHeaders headers = new RecordHeaders();
        headers.add(CONTENT_TYPE, STRUCTURED.getBytes(StandardCharsets.UTF_8));
        return Message.of(event, Metadata.of(OutgoingKafkaRecordMetadata.<String>builder().withKey(key).withHeaders(headers).build()));
    }
}
