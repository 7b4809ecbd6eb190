package io.netattach.attach.kafka;

/**
 * The topics attach-service writes to, all through the one outgoing channel {@code attach-out} (one producer, so
 * records for different topics that are ready together share a produce request); each record names its topic.
 */
public enum Topic {
    POLICY_REQUESTS("netattach.policy.requests"),
    IPAM_REQUESTS("netattach.ipam.requests"),
    NODE_COMMANDS("netattach.node.commands"),
    AUDIT("netattach.audit");

    private final String name;

    Topic(String name) {
        this.name = name;
    }

    /** The topic's name without the deployment's suffix ({@code netattach.kafka.topic-suffix}). */
    public String baseName() {
        return name;
    }
}
