package io.netattach.attach.domain;

import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * Syntax checks for hardware addresses, with Go's net.ParseMAC as the reference (that is what Multus and the
 * CNI plugins use). IP literals and CIDRs are read by the suite's one parser front, io.netattach.ip.IpLiterals.
 */
public final class Addresses {
    private static final Pattern MAC_COLON = Pattern.compile("[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})+");
    private static final Pattern MAC_HYPHEN = Pattern.compile("[0-9a-fA-F]{2}(-[0-9a-fA-F]{2})+");
    private static final Pattern MAC_DOT = Pattern.compile("[0-9a-fA-F]{4}(\\.[0-9a-fA-F]{4})+");

    private Addresses() {
    }

    /** Address part of a CIDR (or the address itself), for texts IPAM already gave in canonical form. */
    public static String withoutPrefix(String s) {
        int slash = s.indexOf('/');
        return slash < 0 ? s : s.substring(0, slash);
    }

    /** Hardware address length in bytes as Go's ParseMAC reads it (6, 8 or 20), or -1 when it is not one. */
    public static int hardwareAddressLength(String s) {
        if (s == null) return -1;
        int len;
        if (MAC_COLON.matcher(s).matches() || MAC_HYPHEN.matcher(s).matches()) {
            len = (s.length() + 1) / 3;
        } else if (MAC_DOT.matcher(s).matches()) {
            len = (s.length() + 1) / 5 * 2;
        } else {
            return -1;
        }
        return len == 6 || len == 8 || len == 20 ? len : -1;
    }

    /** A 48-bit Ethernet MAC in any of Go's notations. */
    public static boolean isMac48(String s) {
        return hardwareAddressLength(s) == 6;
    }

    /** Normalised lower-case colon form, for comparisons. */
    public static String normaliseMac(String s) {
        String hex = s.replaceAll("[:.-]", "").toLowerCase();
        byte[] bytes = HexFormat.of().parseHex(hex);
        return HexFormat.ofDelimiter(":").formatHex(bytes);
    }
}
