package io.netattach.policy.domain.rbac;

/** A binding subject: kind ServiceAccount (namespace, name), User or Group (name). */
public record Subject(String kind, String name, String namespace) {}
