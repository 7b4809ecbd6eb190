package io.netattach.node.netlink.addr;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** An address with a prefix length (10.1.2.3/24 or fd00::5/64), validated without any name lookup. */
public record IpPrefix(InetAddress address, int prefix) {
    public IpPrefix {
        int max = address instanceof Inet4Address ? 32 : 128;
        if (prefix < 0 || prefix > max) throw new IllegalArgumentException("prefix length " + prefix + " out of range for " + address.getHostAddress());
    }

    public int family() { return address instanceof Inet4Address ? 2 : 10; }
    public boolean v4() { return address instanceof Inet4Address; }

    /** Parses CIDR notation; {@code field} names the input in the error. */
    public static IpPrefix parse(String field, String cidr) {
        if (cidr == null) throw new IllegalArgumentException(field + " is missing");
        int slash = cidr.indexOf('/');
        if (slash < 0) throw new IllegalArgumentException(field + " \"" + cidr + "\" is not in CIDR notation (address/prefix)");
        InetAddress a = parseAddress(field, cidr.substring(0, slash));
        int p;
        try {
            p = Integer.parseInt(cidr.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(field + " \"" + cidr + "\" has an invalid prefix length");
        }
        try {
            return new IpPrefix(a, p);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + " \"" + cidr + "\": " + e.getMessage());
        }
    }

    /** Parses a literal IPv4 / IPv6 address only: never resolves a host name. */
    public static InetAddress parseAddress(String field, String s) {
        // Checked by hand (no regex: this runs several times per attach): dotted quad of 1-3 digit parts <= 255,
        // or an IPv6 literal (hex digits, ':' and, for an embedded IPv4 tail, '.').
        if (s == null || !(isDottedQuad(s) || isV6Candidate(s))) throw new IllegalArgumentException(field + " \"" + s + "\" is not an IP address");
        try {
            return InetAddress.getByName(s); // a literal: no lookup happens
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(field + " \"" + s + "\" is not an IP address");
        }
    }

    private static boolean isDottedQuad(String s) {
        int parts = 0, digits = 0, value = 0;
        for (int i = 0; i <= s.length(); i++) {
            char c = i < s.length() ? s.charAt(i) : '.';
            if (c >= '0' && c <= '9') {
                if (++digits > 3) return false;
                value = value * 10 + (c - '0');
            } else if (c == '.') {
                if (digits == 0 || value > 255 || ++parts > 4) return false;
                digits = 0;
                value = 0;
            } else {
                return false;
            }
        }
        return parts == 4;
    }

    private static boolean isV6Candidate(String s) {
        if (s.indexOf(':') < 0) return false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.')) return false;
        }
        return true;
    }

    /** The network of this prefix (host bits cleared). */
    public IpPrefix network() {
        byte[] b = address.getAddress();
        for (int i = 0; i < b.length; i++) {
            int keep = Math.max(0, Math.min(8, prefix - i * 8));
            b[i] &= (byte) (0xff << (8 - keep));
        }
        try {
            return new IpPrefix(InetAddress.getByAddress(b), prefix);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    public boolean contains(InetAddress a) {
        if ((a instanceof Inet4Address) != v4()) return false;
        try {
            return new IpPrefix(a, prefix).network().equals(network());
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    @Override
    public String toString() { return text(address) + "/" + prefix; }

    /** An address as RFC 5952 writes it (IPv6: lower case, the longest run of two or more zero groups as ::). */
    public static String text(InetAddress a) {
        if (!(a instanceof java.net.Inet6Address)) return a.getHostAddress();
        byte[] b = a.getAddress();
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) g[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        int bestStart = -1, bestLen = 1;
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) { i++; continue; }
            int j = i;
            while (j < 8 && g[j] == 0) j++;
            if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
            i = j;
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                out.append("::");
                i += bestLen - 1;
                continue;
            }
            if (out.length() > 0 && out.charAt(out.length() - 1) != ':') out.append(':');
            out.append(Integer.toHexString(g[i]));
        }
        return out.toString();
    }
}
