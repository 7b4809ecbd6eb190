package io.netattach.attach.orchestration;

/**
 * A step of an attachment did not succeed. reason is the Kubernetes Event reason, message says what failed.
 */
class StepFailure extends Exception {
    final String reason;

    StepFailure(String reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    /** The pod was deleted while we waited: the teardown takes over. */
    static final class Cancelled extends StepFailure {
        Cancelled() {
            super("Cancelled", "pod deleted");
        }
    }
}
