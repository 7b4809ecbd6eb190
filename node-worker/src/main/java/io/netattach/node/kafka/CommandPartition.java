package io.netattach.node.kafka;

import io.smallrye.config.ConfigSourceInterceptor;
import io.smallrye.config.ConfigSourceInterceptorContext;
import io.smallrye.config.ConfigValue;
import org.apache.kafka.common.utils.Utils;

import java.nio.charset.StandardCharsets;

/**
 * The one partition of netattach.node.commands this node reads: the partition Kafka's default partitioner picks
 * for the node's name as key, {@code toPositive(murmur2(node)) % P}. Given to the node-commands channel as its
 * {@code assign-seek} (a configuration interceptor, since the value depends on the node name), unless that is set
 * explicitly. P is {@code netattach.node.command-partitions}, which must equal the topic's partition count
 * (NodeWorker checks it with the broker and is not ready otherwise).
 */
public final class CommandPartition implements ConfigSourceInterceptor {
    public static final String ASSIGN_SEEK = "mp.messaging.incoming.node-commands.assign-seek";
    public static final String NODE = "netattach.node.name";
    public static final String PARTITIONS = "netattach.node.command-partitions";

    /** The partition of a node's commands among {@code partitions}, as Kafka's default partitioner picks it. */
    public static int of(String node, int partitions) {
        return Utils.toPositive(Utils.murmur2(node.getBytes(StandardCharsets.UTF_8))) % partitions;
    }

    @Override
    public ConfigValue getValue(ConfigSourceInterceptorContext context, String name) {
        ConfigValue given = context.proceed(name);
        if (given != null || !ASSIGN_SEEK.equals(name)) return given;
        ConfigValue node = context.restart(NODE);
        ConfigValue partitions = context.restart(PARTITIONS);
        if (node == null || node.getValue() == null || partitions == null || partitions.getValue() == null) return null;
        int p;
        try {
            p = Integer.parseInt(partitions.getValue().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(PARTITIONS + " must be a number, got \"" + partitions.getValue() + "\"");
        }
        if (p < 1) throw new IllegalArgumentException(PARTITIONS + " must be at least 1, got " + p);
        return ConfigValue.builder().withName(name).withValue(String.valueOf(of(node.getValue(), p)))
                .withConfigSourceName(CommandPartition.class.getSimpleName() + " (murmur2(" + NODE + ") % " + PARTITIONS + ")").build();
    }
}
