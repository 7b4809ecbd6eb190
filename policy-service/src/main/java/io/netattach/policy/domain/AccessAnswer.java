package io.netattach.policy.domain;

public sealed interface AccessAnswer {
    record Granted(String why) implements AccessAnswer {}

    record Refused(String why) implements AccessAnswer {}

    /** The authority could not be asked; never to be read as a refusal or a grant. */
    record Unknown(String why) implements AccessAnswer {}
}
