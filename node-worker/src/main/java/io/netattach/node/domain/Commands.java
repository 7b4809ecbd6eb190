package io.netattach.node.domain;

import java.util.List;

/** The node commands and their outcome, as the domain sees them (the Kafka adapter maps the JSON). */
public final class Commands {
    private Commands() {}

    /** Every command of attach-service to a node. */
    public sealed interface Command permits Attach, Detach, Blocked {
        String requestId();
        PodRef pod();
    }

    public record Attach(String requestId, String node, PodRef pod, List<AttachmentRequest> attachments) implements Command {}

    /** interfaces null = every interface netattach made in the pod: the pod is gone (its teardown). */
    public record Detach(String requestId, String node, PodRef pod, List<String> interfaces) implements Command {}

    /**
     * attach-service will not attach the pod for now, and says why: a denial, a NAD that does not exist, an invalid
     * selection ({@code definitive}: a waiting CNI ADD fails now with this reason), or a cause it keeps retrying
     * (policy unavailable: the ADD keeps waiting and, if it times out, names this reason). {@code network} may be
     * null when the reason concerns the pod as a whole. Answered by no result: a later attach replaces it.
     */
    public record Blocked(String requestId, String node, PodRef pod, String network, String reason, String message, boolean definitive)
            implements Command {}

    /** A pod sandbox the CNI shim registered; {@code primary} is null when the chain had no earlier result. */
    public record Sandbox(PodRef pod, String containerId, String netns, PrimaryNetwork primary) {
        public Sandbox(PodRef pod, String containerId, String netns) { this(pod, containerId, netns, null); }

        /** The same sandbox: the runtime's container id and namespace path. */
        public boolean sameAs(Sandbox other) {
            return other != null && containerId.equals(other.containerId) && netns.equals(other.netns);
        }
    }

    /**
     * The answer to a command. pending = accepted, waiting for the sandbox; error = the first failure
     * (reason per the contract: Invalid, NotFound, Conflict, Timeout, Failed); sandbox, containerId and primary:
     * where the command ran (netns path, the runtime's container id, the sandbox's cluster network), when known.
     */
    public record Result(String requestId, PodRef pod, boolean ok, boolean pending, String sandbox,
                         List<InterfaceReport> interfaces, String errorReason, String errorMessage, String containerId, PrimaryNetwork primary) {
        public Result(String requestId, PodRef pod, boolean ok, boolean pending, String sandbox,
                      List<InterfaceReport> interfaces, String errorReason, String errorMessage) {
            this(requestId, pod, ok, pending, sandbox, interfaces, errorReason, errorMessage, null, null);
        }

        /** The answer to a command that ran in sandbox sb. */
        public static Result in(Sandbox sb, String requestId, boolean ok, List<InterfaceReport> interfaces, String errorReason, String errorMessage) {
            return new Result(requestId, sb.pod(), ok, false, sb.netns(), interfaces, errorReason, errorMessage, sb.containerId(), sb.primary());
        }

        public static Result pending(Attach a) {
            return new Result(a.requestId(), a.pod(), true, true, null, List.of(), null, null);
        }
    }
}
