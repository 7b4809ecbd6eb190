package io.netattach.attach.kafka;

/**
 * The topics attach-service writes to. Each is an outgoing channel of its own ({@code mp.messaging.outgoing.<channel>.*}
 * in application.properties holds its topic name and producer settings).
 */
public enum Topic {
    POLICY_REQUESTS("policy-requests"),
    IPAM_REQUESTS("ipam-requests"),
    NODE_COMMANDS("node-commands"),
    AUDIT("audit");

    private final String channel;

    Topic(String channel) {
        this.channel = channel;
    }

    public String channel() {
        return channel;
    }
}
