package io.netattach.node.domain;

import java.time.Duration;

/** How the CNI ADD of a pod that asks for networks ends. */
public sealed interface AddOutcome {
    /** Every interface of the pod is in place in the sandbox (the result lists them; none when nothing was asked). */
    record Attached(Commands.Result result) implements AddOutcome {}

    /** The node could not make an interface; nothing of the command is left in the sandbox. */
    record Failed(Commands.Result result) implements AddOutcome {}

    /** attach-service will not attach the pod, for the reason given (a denial, a NAD not found, ...). */
    record Refused(Commands.Blocked why) implements AddOutcome {}

    /** Nothing came within the bound; {@code lastWord} is attach-service's latest reason to wait, or null. */
    record TimedOut(Duration after, Commands.Blocked lastWord) implements AddOutcome {}

    /** The sandbox was deleted (CNI DEL), or the pod torn down, while the ADD waited. */
    record Abandoned(String why) implements AddOutcome {}
}
