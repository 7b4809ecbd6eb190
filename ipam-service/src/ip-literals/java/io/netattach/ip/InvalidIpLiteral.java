package io.netattach.ip;

/** Text that is not an IP literal or CIDR under netattach's rules; the message names the field and the value. */
public final class InvalidIpLiteral extends IllegalArgumentException {
    private final String field;
    private final String value;
    private final String reason;

    public InvalidIpLiteral(String field, String value, String reason) {
        super(field + ": \"" + value + "\" " + reason);
        this.field = field;
        this.value = value;
        this.reason = reason;
    }

    public String field() { return field; }
    public String value() { return value; }
    /** Why, without the field and the value, for callers that word their own message. */
    public String reason() { return reason; }
}
