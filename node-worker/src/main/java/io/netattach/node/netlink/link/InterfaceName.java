package io.netattach.node.netlink.link;

import java.nio.charset.StandardCharsets;

/** The kernel's rules for interface names (dev_valid_name), checked before any syscall. */
public final class InterfaceName {
    public static final int MAX_BYTES = 15;

    private InterfaceName() {}

    public static String validate(String field, String name) {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException(field + " is empty: an interface name is required");
        if (name.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
            throw new IllegalArgumentException(field + " \"" + name + "\" is longer than " + MAX_BYTES + " bytes");
        }
        if (name.equals(".") || name.equals("..")) throw new IllegalArgumentException(field + " \"" + name + "\" is not a valid interface name");
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '/' || c == ':' || Character.isWhitespace(c) || Character.isISOControl(c)) {
                throw new IllegalArgumentException(field + " \"" + name + "\" contains '" + (Character.isWhitespace(c) ? "whitespace" : String.valueOf(c)) + "', not allowed in an interface name");
            }
        }
        return name;
    }
}
