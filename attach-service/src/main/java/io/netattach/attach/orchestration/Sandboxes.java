package io.netattach.attach.orchestration;

import jakarta.enterprise.context.ApplicationScoped;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which sandbox of each pod its interfaces were last made in, and the sandboxes nodes report as waiting with none
 * of them (a sandbox re-created by the runtime, a rebooted node): those get the pod's networks attached again,
 * with the same addresses. In memory only: after a restart a waiting report is simply acted on (attaching what is
 * already there is a no-op on the node).
 */
@ApplicationScoped
class Sandboxes {
    /** pod UID -> container id of the sandbox its last successful attach ran in. */
    private final Map<String, String> attachedIn = new ConcurrentHashMap<>();
    /** pod UID -> container id of a sandbox reported waiting, not attached since. */
    private final Map<String, String> waiting = new ConcurrentHashMap<>();

    /** A node reports the sandbox waiting; true when it needs an attach (it is not where the pod was last attached). */
    boolean waiting(String podUid, String containerId) {
        if (!containerId.isEmpty() && containerId.equals(attachedIn.get(podUid))) return false;
        waiting.put(podUid, containerId);
        return true;
    }

    /** The sandbox reported waiting for this pod, if any: its next attach covers every network, whatever network-status says. */
    Optional<String> bare(String podUid) {
        return Optional.ofNullable(waiting.get(podUid));
    }

    /** An attach of the pod succeeded in that sandbox; the waiting report {@code answered} (if any) is settled by it. */
    void attached(String podUid, String containerId, Optional<String> answered) {
        if (containerId != null && !containerId.isEmpty()) attachedIn.put(podUid, containerId);
        answered.ifPresent(c -> waiting.remove(podUid, c));
    }

    void forget(String podUid) {
        attachedIn.remove(podUid);
        waiting.remove(podUid);
    }

    void clear() {
        attachedIn.clear();
        waiting.clear();
    }
}
