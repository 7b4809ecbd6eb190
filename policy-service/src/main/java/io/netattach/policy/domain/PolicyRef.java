package io.netattach.policy.domain;

/** A NetworkAttachmentPolicy (namespace set) or ClusterNetworkAttachmentPolicy (namespace null). */
public record PolicyRef(String namespace, String name) {
    public boolean clusterScoped() {
        return namespace == null;
    }

    /** The rule name in decisions: policy/<ns>/<name>, or clusterpolicy/<name>. */
    public String rule() {
        return clusterScoped() ? "clusterpolicy/" + name : "policy/" + namespace + "/" + name;
    }
}
