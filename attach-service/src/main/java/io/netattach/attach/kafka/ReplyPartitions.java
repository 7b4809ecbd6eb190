package io.netattach.attach.kafka;

import io.smallrye.common.annotation.Identifier;
import io.smallrye.reactive.messaging.health.HealthReport;
import io.smallrye.reactive.messaging.health.HealthReporter;
import io.smallrye.reactive.messaging.kafka.KafkaConsumerRebalanceListener;
import jakarta.enterprise.context.ApplicationScoped;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Opens the way for requests once the reply consumer has its partitions and knows where it reads from. The replies
 * channel starts at "latest" in a group of its own, and "latest" is only fixed when the consumer first looks up its
 * position: a reply written before that lookup would be skipped. So the positions are resolved here, on assignment,
 * and {@link Bus#send} waits for that. Readiness (the messaging readiness check, entry {@value #CHECK}) is DOWN until then.
 */
@ApplicationScoped
@Identifier(ReplyPartitions.NAME)
public class ReplyPartitions implements KafkaConsumerRebalanceListener, HealthReporter {
    private static final Logger LOG = Logger.getLogger(ReplyPartitions.class);
    /** The name the replies channel gives as consumer-rebalance-listener.name. */
    public static final String NAME = "reply-partitions";
    static final String CHECK = "replies-positioned";

    private final CountDownLatch positioned = new CountDownLatch(1);
    private volatile int partitions;

    /** Runs on the consumer's polling thread, inside poll(): no record of these partitions is read before it returns. */
    @Override
    public void onPartitionsAssigned(Consumer<?, ?> consumer, Collection<TopicPartition> assigned) {
        for (TopicPartition tp : assigned) consumer.position(tp);
        partitions = consumer.assignment().size();
        if (partitions > 0 && positioned.getCount() > 0) {
            LOG.infof("reply partitions %s assigned and positioned: requests may be sent", consumer.assignment());
            positioned.countDown();
        }
    }

    /** Waits until the reply partitions are positioned; false if that did not happen within {@code timeout}. */
    boolean await(Duration timeout) throws InterruptedException {
        return positioned.getCount() == 0 || positioned.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public HealthReport getReadiness() {
        boolean ok = positioned.getCount() == 0;
        return HealthReport.builder().add(CHECK, ok, ok ? partitions + " partition(s) of the reply topics positioned"
                : "the reply topics' partitions are not assigned yet: no request is sent before").build();
    }
}
