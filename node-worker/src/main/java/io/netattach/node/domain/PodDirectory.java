package io.netattach.node.domain;

/**
 * What the cluster says of the pod a sandbox is for, read at CNI ADD: whether it asks for secondary networks.
 * The node must know this positively for every sandbox, so a pod that asks for none never waits for an attach.
 */
public interface PodDirectory {
    sealed interface Answer {}

    /** The pod exists with the sandbox's UID and asks for no secondary network. */
    record NoNetworks() implements Answer {}

    /** The pod asks for networks; {@code uid} is the UID attach-service knows it by (a static pod's mirror has its own). */
    record WantsNetworks(String uid) implements Answer {}

    /** No such pod in the API server: nothing can be attached to it (attach-service works from the API). */
    record NotInCluster() implements Answer {}

    /** The API server has another pod of that name (deleted and created again): the sandbox is for one that is gone. */
    record OtherIncarnation(String uid) implements Answer {}

    /** The pod is being deleted: attach-service attaches nothing more to it. */
    record Terminating() implements Answer {}

    /** @throws LookupFailed when the API server cannot be asked */
    Answer lookup(PodRef pod);

    /**
     * Waits, at most {@code bound}, until the pod's k8s.v1.cni.cncf.io/network-status lists every interface of
     * {@code made} (skipped ones aside) by name, and by MAC where one was made: Multus writes that annotation
     * within the ADD, so a pod's containers start with it. True when listed.
     */
    boolean awaitListed(PodRef pod, java.util.List<InterfaceReport> made, java.time.Duration bound) throws InterruptedException;

    final class LookupFailed extends RuntimeException {
        public LookupFailed(String message, Throwable cause) { super(message, cause); }
    }
}
