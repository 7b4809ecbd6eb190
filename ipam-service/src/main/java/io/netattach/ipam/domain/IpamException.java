package io.netattach.ipam.domain;

/** A refusal with a reason a caller can act on; the message names the field or pool and the value. */
public class IpamException extends RuntimeException {

    public enum Reason { Invalid, NotFound, Exhausted, Conflict }

    private final Reason reason;

    public IpamException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    public static IpamException invalid(String field, Object value, String why) {
        return new IpamException(Reason.Invalid, field + ": " + quote(value) + " " + why);
    }

    public static IpamException missing(String field) {
        return new IpamException(Reason.Invalid, field + ": missing");
    }

    static String quote(Object v) {
        return v instanceof String s ? "\"" + s + "\"" : String.valueOf(v);
    }
}
