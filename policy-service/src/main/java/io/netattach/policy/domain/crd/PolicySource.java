package io.netattach.policy.domain.crd;

import java.util.List;
import java.util.Map;

/** The policies and namespace labels the policy rule reads: in the service, informer caches. */
public interface PolicySource {
    boolean ready();

    long version();

    /** Every NetworkAttachmentPolicy and ClusterNetworkAttachmentPolicy. */
    List<AttachmentPolicy> policies();

    /** The labels of a namespace; empty when it is unknown. */
    Map<String, String> namespaceLabels(String namespace);
}
