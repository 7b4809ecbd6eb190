package io.netattach.policy.domain;

import java.util.Map;

/** The pod asking to attach. A missing service account means the namespace's "default", as in Kubernetes. */
public record PodRef(String namespace, String name, String uid, String serviceAccount, Map<String, String> labels) {
    public PodRef {
        serviceAccount = serviceAccount == null || serviceAccount.isBlank() ? "default" : serviceAccount;
        labels = labels == null ? Map.of() : Map.copyOf(labels);
    }

    /** namespace/name, the CloudEvents subject and the Event's object. */
    public String key() {
        return namespace + "/" + name;
    }
}
