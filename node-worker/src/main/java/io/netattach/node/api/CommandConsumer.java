package io.netattach.node.api;

import io.netattach.node.domain.Commands;
import io.netattach.node.domain.PendingAnswers;
import io.netattach.node.domain.PodNetworks;
import io.netattach.node.kafka.KafkaSettings;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Utils;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads netattach.node.commands for this node only: it assigns itself the one partition the default
 * partitioner picks for its key ({@code toPositive(murmur2(node)) % P}) and skips records keyed for the other
 * nodes that share it. Offsets are committed under the node's own group after the effect and its result are
 * durable, at most every 500 ms and on close; an attach still waiting for its sandbox holds the committed offset
 * back, so a restart re-reads it (handlers are idempotent).
 */
public final class CommandConsumer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(CommandConsumer.class);
    /** Offsets are committed at most this often (and on close). */
    private static final long COMMIT_EVERY_NANOS = 500_000_000L;

    private final KafkaConsumer<String, String> consumer;
    private final String topic;
    private final String node;
    private final PodNetworks pods;
    private final KafkaEvents events;
    private final EventJson json;
    private final Duration pendingTtl;
    private final PendingAnswers pendingAnswers;
    private final Thread thread;
    private final Map<String, Long> pendingOffsets = new HashMap<>();
    /** The last offset committed (poll thread only). */
    private long lastCommitted = -1;
    private volatile boolean running = true;
    private volatile boolean assigned;
    private TopicPartition partition;

    public CommandConsumer(Map<String, Object> client, String topic, String node, PodNetworks pods, KafkaEvents events, EventJson json, Duration pendingTtl,
                           PendingAnswers pendingAnswers) {
        this.consumer = new KafkaConsumer<>(KafkaSettings.merged(client, Map.of(
                ConsumerConfig.GROUP_ID_CONFIG, "netattach-node-worker-" + node,
                ConsumerConfig.CLIENT_ID_CONFIG, "netattach-node-worker-" + node,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class)));
        this.topic = topic;
        this.node = node;
        this.pods = pods;
        this.events = events;
        this.json = json;
        this.pendingTtl = pendingTtl;
        this.pendingAnswers = pendingAnswers;
        this.thread = Thread.ofPlatform().name("netattach-node-commands").daemon(true).unstarted(this::run);
    }

    /** The partition of a node's commands among {@code partitions}, as Kafka's default partitioner picks it. */
    public static int partitionOf(String node, int partitions) {
        return Utils.toPositive(Utils.murmur2(node.getBytes(StandardCharsets.UTF_8))) % partitions;
    }

    public void start() {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
        if (infos == null || infos.isEmpty()) throw new IllegalStateException("topic " + topic + " has no partitions (does it exist?)");
        partition = new TopicPartition(topic, partitionOf(node, infos.size()));
        consumer.assign(List.of(partition));
        consumer.position(partition); // resolve the start offset now, so nothing sent after start is skipped
        assigned = true;
        LOG.infof("node %s reads %s partition %d of %d", node, topic, partition.partition(), infos.size());
        thread.start();
    }

    public boolean assigned() { return assigned; }

    private void run() {
        long lastCommitAt = System.nanoTime();
        try {
            while (running) {
                for (ConsumerRecord<String, String> rec : consumer.poll(Duration.ofMillis(200))) {
                    if (!node.equals(rec.key())) continue;
                    try {
                        handle(rec);
                    } catch (RuntimeException e) {
                        // Typically the result could not be published: read the record again (handlers are idempotent).
                        LOG.warnf("node command at %s offset %d will be retried: %s", partition, rec.offset(), e.getMessage());
                        consumer.seek(partition, rec.offset());
                        backOff();
                        break;
                    }
                }
                for (Commands.Result expired : pods.expirePending(pendingTtl)) publishOrLog(expired, "the timeout");
                for (Commands.Result waiting : pendingAnswers.due(pods::isPending)) publishOrLog(waiting, "the pending answer");
                pendingOffsets.keySet().removeIf(uid -> !pods.isPending(uid));
                // at most every 500 ms: a commit per poll was a synchronous round trip to the group coordinator (and
                // a write to its log) per command; a restart re-reads at most that much more, and handlers are idempotent
                if (System.nanoTime() - lastCommitAt >= COMMIT_EVERY_NANOS) {
                    commitDone(Duration.ofSeconds(60));
                    lastCommitAt = System.nanoTime();
                }
            }
        } catch (WakeupException e) {
            if (running) throw e;
        } catch (RuntimeException e) {
            LOG.errorf(e, "node command consumer stopped");
        } finally {
            try {
                commitDone(Duration.ofSeconds(5)); // bounded: the broker may be away
            } catch (RuntimeException e) {
                LOG.warnf("node commands: last offset commit failed (those commands are read again at the next start): %s", e.toString());
            }
            consumer.close();
        }
    }

    /** Commits the first command not done: the oldest attach still waiting for its sandbox, else the position. */
    private void commitDone(Duration timeout) {
        long next = consumer.position(partition, timeout);
        long commit = pendingOffsets.values().stream().mapToLong(Long::longValue).min().orElse(next);
        if (commit != lastCommitted) {
            consumer.commitSync(Map.of(partition, new OffsetAndMetadata(commit)), timeout);
            lastCommitted = commit;
        }
    }

    private void backOff() {
        try {
            Thread.sleep(1_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    private void handle(ConsumerRecord<String, String> rec) {
        EventJson.Command cmd;
        try {
            cmd = json.parseCommand(rec.value());
        } catch (Exception e) {
            // Not retryable: a malformed command stays malformed. Logged with its position, then skipped.
            LOG.errorf("skipping malformed node command at %s offset %d: %s", partition, rec.offset(), e.getMessage());
            return;
        }
        Commands.Result result = switch (cmd.command()) {
            case Commands.Attach a -> {
                Commands.Result r = pods.attach(a);
                if (r.pending()) pendingOffsets.merge(a.pod().uid(), rec.offset(), Math::min);
                yield r;
            }
            case Commands.Detach d -> pods.detach(d);
            case Commands.Blocked b -> {
                pods.block(b); // no answer: nobody waits for one
                LOG.infof("%s %s: attach-service will not attach it (%s): %s", b.requestId(), b.pod().subject(), b.reason(), b.message());
                yield null;
            }
        };
        if (result == null) return;
        // waiting for the sandbox: answered "pending" only if it is still waiting after a moment (PendingAnswers)
        if (result.pending() && pendingAnswers.hold(result)) return;
        publish(result);
    }

    /**
     * For answers no record's offset waits on (a timeout, a held pending answer): a failure is logged, not retried;
     * attach-service resends the command when its wait for the node runs out, and gets an answer again.
     */
    private void publishOrLog(Commands.Result r, String what) {
        try {
            publish(r);
        } catch (RuntimeException e) {
            LOG.warnf("could not publish %s of %s: %s", what, r.requestId(), e.getMessage());
        }
    }

    private void publish(Commands.Result r) {
        events.result(r);
        LOG.infof("%s %s: ok=%s pending=%s%s", r.requestId(), r.pod().subject(), r.ok(), r.pending(),
                r.errorMessage() == null ? "" : " error=" + r.errorMessage());
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
