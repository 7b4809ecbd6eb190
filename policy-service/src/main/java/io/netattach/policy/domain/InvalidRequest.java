package io.netattach.policy.domain;

/** A request field has a value that cannot be decided on; the message names the field and the value. */
public class InvalidRequest extends RuntimeException {
    public InvalidRequest(String message) {
        super(message);
    }
}
