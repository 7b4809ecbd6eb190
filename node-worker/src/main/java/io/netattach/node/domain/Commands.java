package io.netattach.node.domain;

import java.util.List;

/** The node commands and their outcome, as the domain sees them (the Kafka adapter maps the JSON). */
public final class Commands {
    private Commands() {}

    public record Attach(String requestId, String node, PodRef pod, List<AttachmentRequest> attachments) {}

    /** interfaces null = every interface netattach made in the pod. */
    public record Detach(String requestId, String node, PodRef pod, List<String> interfaces) {}

    public record Sandbox(PodRef pod, String containerId, String netns) {}

    /**
     * The answer to a command. pending = accepted, waiting for the sandbox; error = the first failure
     * (reason per the contract: Invalid, NotFound, Conflict, Timeout, Failed).
     */
    public record Result(String requestId, PodRef pod, boolean ok, boolean pending, String sandbox,
                         List<InterfaceReport> interfaces, String errorReason, String errorMessage) {
        public static Result pending(Attach a) {
            return new Result(a.requestId(), a.pod(), true, true, null, List.of(), null, null);
        }
    }
}
