package io.netattach.attach.domain;

/** The networks annotation cannot be used as written; the message says what and where. */
public final class InvalidSelectionException extends Exception {
    public InvalidSelectionException(String message) {
        super(message);
    }
}
