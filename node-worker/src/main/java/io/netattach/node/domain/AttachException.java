package io.netattach.node.domain;

/** An attach or detach that failed, with the contract's reason (Invalid, NotFound, Conflict, Failed ...). */
public class AttachException extends RuntimeException {
    private final String reason;

    public AttachException(String reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public AttachException(String reason, String message) { this(reason, message, null); }

    public String reason() { return reason; }
}
