package io.netattach.node.domain;

import java.util.List;

/** Makes and removes interfaces in a pod's network namespace (netlink in production). */
public interface InterfaceBackend {
    /** Makes one interface; idempotent; on failure leaves nothing behind and throws {@link AttachException}. */
    InterfaceReport attach(String netnsPath, PodRef pod, AttachmentRequest request);

    /**
     * Removes the named interfaces netattach made for this pod (null = all of them). Missing ones are success.
     * Returns the names removed.
     */
    List<String> detach(String netnsPath, PodRef pod, List<String> interfaces);

    /** The interfaces netattach made in this netns for this pod (for CHECK and the inventory). */
    List<InterfaceReport> inspect(String netnsPath, PodRef pod);
}
