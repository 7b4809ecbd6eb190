package io.netattach.node.domain;

/** The pod an attachment belongs to. */
public record PodRef(String namespace, String name, String uid) {
    public String subject() { return namespace + "/" + name; }
}
