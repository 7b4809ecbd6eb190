package io.netattach.node.kafka;

import io.smallrye.common.annotation.Identifier;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.reactive.messaging.kafka.IncomingKafkaRecord;
import io.smallrye.reactive.messaging.kafka.KafkaConnectorIncomingConfiguration;
import io.smallrye.reactive.messaging.kafka.KafkaConsumer;
import io.smallrye.reactive.messaging.kafka.commit.ContextHolder;
import io.smallrye.reactive.messaging.kafka.commit.KafkaCommitHandler;
import io.smallrye.reactive.messaging.kafka.impl.KafkaSource;
import io.vertx.mutiny.core.Vertx;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.common.TopicPartition;

import java.util.Collection;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * The connector's throttled commit strategy for a channel that assigns its partitions itself ({@code assign-seek}):
 * the highest offset below which every record is acknowledged, committed every {@code auto.commit.interval.ms}
 * under the channel's group.id. The throttled strategy commits only partitions a rebalance handed it, and an
 * assigned consumer never rebalances (connector 4.33: it would commit nothing), so this tells it, as the channel
 * starts, which partitions it owns; everything else is the connector's own.
 */
@ApplicationScoped
@Identifier(AssignedThrottledCommit.STRATEGY)
public class AssignedThrottledCommit implements KafkaCommitHandler.Factory {
    public static final String STRATEGY = "throttled-assigned";

    @Inject @Identifier(KafkaCommitHandler.Strategy.THROTTLED) KafkaCommitHandler.Factory throttled;

    @Override
    public KafkaCommitHandler create(KafkaConnectorIncomingConfiguration config, Vertx vertx, KafkaConsumer<?, ?> consumer,
                                     BiConsumer<Throwable, Boolean> reportFailure) {
        Set<TopicPartition> assigned = KafkaSource.getOffsetSeeks(config.getAssignSeek().orElse(null), config.getChannel(),
                KafkaSource.getTopics(config)).keySet();
        if (assigned.isEmpty()) {
            throw new IllegalArgumentException("channel " + config.getChannel() + ": commit-strategy " + STRATEGY + " needs assign-seek");
        }
        return new Assigned(vertx, throttled.create(config, vertx, consumer, reportFailure), Set.copyOf(assigned));
    }

    /** The throttled handler, told once which partitions are its own. */
    private static final class Assigned extends ContextHolder implements KafkaCommitHandler {
        private final KafkaCommitHandler throttled;
        private final Set<TopicPartition> partitions;

        Assigned(Vertx vertx, KafkaCommitHandler throttled, Set<TopicPartition> partitions) {
            super(vertx, 60_000);
            this.throttled = throttled;
            this.partitions = partitions;
        }

        /**
         * The source hands its event-loop context over before it subscribes: the assignment is queued on that context
         * ahead of any record, and there the throttled handler's own hop onto its context runs inline.
         */
        @Override
        public void capture(io.vertx.core.Context context) {
            super.capture(context);
            if (throttled instanceof ContextHolder h) h.capture(context);
            context.runOnContext(x -> throttled.partitionsAssigned(partitions));
        }

        @Override
        public void capture(io.vertx.mutiny.core.Context context) {
            capture(context.getDelegate());
        }

        @Override
        public <K, V> Multi<IncomingKafkaRecord<K, V>> decorateStream(Multi<IncomingKafkaRecord<K, V>> consumed) {
            return throttled.decorateStream(consumed);
        }

        @Override
        public <K, V> Uni<IncomingKafkaRecord<K, V>> received(IncomingKafkaRecord<K, V> record) { return throttled.received(record); }

        @Override
        public <K, V> Uni<Void> handle(IncomingKafkaRecord<K, V> record) { return throttled.handle(record); }

        @Override
        public void partitionsAssigned(Collection<TopicPartition> assigned) { throttled.partitionsAssigned(assigned); }

        @Override
        public void partitionsRevoked(Collection<TopicPartition> revoked) { throttled.partitionsRevoked(revoked); }

        @Override
        public void terminate(boolean graceful) { throttled.terminate(graceful); }
    }
}
