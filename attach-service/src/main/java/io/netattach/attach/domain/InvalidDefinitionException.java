package io.netattach.attach.domain;

/** A NetworkAttachmentDefinition whose spec.config cannot be used; the message names the field. */
public final class InvalidDefinitionException extends Exception {
    public InvalidDefinitionException(String message) {
        super(message);
    }
}
