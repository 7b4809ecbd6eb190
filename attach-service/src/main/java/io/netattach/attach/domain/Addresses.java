package io.netattach.attach.domain;

import java.net.Inet6Address;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * Syntax checks for IP addresses, CIDRs and hardware addresses, with Go's net.ParseIP / ParseCIDR /
 * ParseMAC as the reference (that is what Multus and the CNI plugins use). Never resolves a name:
 * only literals are accepted.
 */
public final class Addresses {
    private static final Pattern IPV4 = Pattern.compile("(0|[1-9][0-9]{0,2})(\\.(0|[1-9][0-9]{0,2})){3}");
    private static final Pattern IPV6_CHARS = Pattern.compile("[0-9a-fA-F:.]+");
    private static final Pattern MAC_COLON = Pattern.compile("[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})+");
    private static final Pattern MAC_HYPHEN = Pattern.compile("[0-9a-fA-F]{2}(-[0-9a-fA-F]{2})+");
    private static final Pattern MAC_DOT = Pattern.compile("[0-9a-fA-F]{4}(\\.[0-9a-fA-F]{4})+");

    private Addresses() {
    }

    public static boolean isIp(String s) {
        return isIpv4(s) || isIpv6(s);
    }

    public static boolean isIpv4(String s) {
        if (s == null || !IPV4.matcher(s).matches()) return false;
        for (String part : s.split("\\.")) {
            if (Integer.parseInt(part) > 255) return false;
        }
        return true;
    }

    public static boolean isIpv6(String s) {
        if (s == null || !s.contains(":") || !IPV6_CHARS.matcher(s).matches()) return false;
        try {
            // ofLiteral parses without any lookup; the character check above already excluded brackets and zones
            Inet6Address.ofLiteral(s);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** {@code ip/prefix} with the prefix within the family's bit length. */
    public static boolean isCidr(String s) {
        if (s == null) return false;
        int slash = s.indexOf('/');
        if (slash < 0 || slash != s.lastIndexOf('/')) return false;
        String ip = s.substring(0, slash);
        String prefix = s.substring(slash + 1);
        if (!prefix.matches("[0-9]{1,3}")) return false;
        int bits = Integer.parseInt(prefix);
        if (isIpv4(ip)) return bits <= 32;
        if (isIpv6(ip)) return bits <= 128;
        return false;
    }

    /** What the annotation's "ips" accepts: a CIDR, or a bare address. */
    public static boolean isIpOrCidr(String s) {
        return s != null && (s.contains("/") ? isCidr(s) : isIp(s));
    }

    /** Address part of a CIDR (or the address itself). */
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
