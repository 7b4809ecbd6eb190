package io.netattach.policy.domain.nad;

import java.util.Optional;

/** The NetworkAttachmentDefinitions the RBAC rule reads its per-NAD opt-in from: in the service, an informer cache. */
public interface NetworkDefinitions {
    /** False until the cache has listed once: before that, a NAD missing from it says nothing. */
    boolean ready();

    /** Grows whenever what a decision reads of a NAD may have changed (added, deleted, annotation changed). */
    long version();

    /** The NAD as the cache holds it; empty when the cache does not hold it (not created, or not seen yet). */
    Optional<NetworkDefinition> find(String namespace, String name);
}
