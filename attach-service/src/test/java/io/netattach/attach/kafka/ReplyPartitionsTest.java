package io.netattach.attach.kafka;

import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReplyPartitionsTest {
    private final TopicPartition decisions = new TopicPartition("netattach.policy.decisions", 0);
    private final TopicPartition results = new TopicPartition("netattach.ipam.results", 0);

    @Test
    void notReadyAndNoRequestGoesOutUntilTheReplyPartitionsAreAssigned() throws Exception {
        ReplyPartitions partitions = new ReplyPartitions();
        var readiness = partitions.getReadiness().getChannels().getFirst();
        assertEquals(ReplyPartitions.CHECK, readiness.getChannel());
        assertFalse(readiness.isOk(), readiness.getMessage());
        assertFalse(partitions.await(Duration.ZERO), "a send would wait");
    }

    @Test
    void onAssignmentEveryPartitionsLatestOffsetIsResolvedThenRequestsMayGoOut() throws Exception {
        MockConsumer<String, String> consumer = new MockConsumer<>("latest");
        consumer.assign(List.of(decisions, results));
        consumer.updateEndOffsets(Map.of(decisions, 42L, results, 7L));
        ReplyPartitions partitions = new ReplyPartitions();

        partitions.onPartitionsAssigned(consumer, List.of(decisions, results));

        // resolved now: a reply written from here on is at or after these offsets, so it is read
        assertEquals(Map.of(decisions, 42L, results, 7L), Map.of(decisions, consumer.position(decisions), results, consumer.position(results)));
        assertTrue(partitions.await(Duration.ZERO));
        var readiness = partitions.getReadiness().getChannels().getFirst();
        assertTrue(readiness.isOk(), readiness.getMessage());
        assertTrue(readiness.getMessage().startsWith("2 partition(s)"), readiness.getMessage());
    }

    @Test
    void anAssignmentOfNothingOpensNothing() throws Exception {
        ReplyPartitions partitions = new ReplyPartitions();
        partitions.onPartitionsAssigned(new MockConsumer<String, String>("latest"), List.of());
        assertFalse(partitions.await(Duration.ZERO));
        assertFalse(partitions.getReadiness().isOk());
    }
}
