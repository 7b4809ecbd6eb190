package io.netattach.ipam.domain;

import java.math.BigInteger;

/**
 * An IPv4 or IPv6 address as a number, so that range arithmetic never enumerates addresses
 * (a /8 or an IPv6 /64 is just two numbers).
 */
public record Address(int bits, BigInteger value) implements Comparable<Address> {

    public Address {
        if (bits != 32 && bits != 128) throw new IllegalArgumentException("bits must be 32 or 128");
        if (value.signum() < 0 || value.bitLength() > bits) throw new IllegalArgumentException("address out of range");
    }

    public boolean isV4() {
        return bits == 32;
    }

    /** Parses a bare IPv4 (dotted quad) or IPv6 (RFC 4291 text, incl. "::" and an embedded IPv4 tail); null if not an address. */
    public static Address parseOrNull(String text) {
        if (text == null) return null;
        String s = text.trim();
        if (s.isEmpty()) return null;
        if (s.indexOf(':') >= 0) return parseV6(s);
        return parseV4(s);
    }

    private static Address parseV4(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) return null;
        long v = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) return null;
            int octet = Integer.parseInt(p);
            if (octet > 255) return null;
            v = (v << 8) | octet;
        }
        return new Address(32, BigInteger.valueOf(v));
    }

    private static Address parseV6(String s) {
        if (s.indexOf('%') >= 0) return null; // zone ids have no place in a pool
        int doubleColon = s.indexOf("::");
        if (doubleColon >= 0 && s.indexOf("::", doubleColon + 1) >= 0) return null;
        String head = doubleColon >= 0 ? s.substring(0, doubleColon) : s;
        String tail = doubleColon >= 0 ? s.substring(doubleColon + 2) : "";
        java.util.List<Integer> h = groups(head);
        java.util.List<Integer> t = groups(tail);
        if (h == null || t == null) return null;
        int total = h.size() + t.size();
        if (doubleColon < 0 && total != 8) return null;
        if (doubleColon >= 0 && total > 7) return null;
        BigInteger v = BigInteger.ZERO;
        for (int g : h) v = v.shiftLeft(16).or(BigInteger.valueOf(g));
        for (int i = 0; i < 8 - total; i++) v = v.shiftLeft(16);
        for (int g : t) v = v.shiftLeft(16).or(BigInteger.valueOf(g));
        return new Address(128, v);
    }

    /** 16-bit groups of one side of "::"; an IPv4 tail counts as two groups. */
    private static java.util.List<Integer> groups(String side) {
        java.util.List<Integer> out = new java.util.ArrayList<>();
        if (side.isEmpty()) return out;
        String[] parts = side.split(":", -1);
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            if (i == parts.length - 1 && p.indexOf('.') >= 0) {
                Address v4 = parseV4(p);
                if (v4 == null) return null;
                long n = v4.value.longValue();
                out.add((int) (n >>> 16));
                out.add((int) (n & 0xffff));
                continue;
            }
            if (p.isEmpty() || p.length() > 4) return null;
            for (char c : p.toCharArray()) if (Character.digit(c, 16) < 0) return null;
            out.add(Integer.parseInt(p, 16));
        }
        return out;
    }

    public Address plus(BigInteger n) {
        return new Address(bits, value.add(n));
    }

    public Address plus(long n) {
        return plus(BigInteger.valueOf(n));
    }

    @Override
    public int compareTo(Address o) {
        int c = Integer.compare(bits, o.bits);
        return c != 0 ? c : value.compareTo(o.value);
    }

    /** Canonical text: dotted quad, or RFC 5952 (lower case, longest zero run compressed). */
    @Override
    public String toString() {
        if (isV4()) {
            long v = value.longValue();
            return ((v >>> 24) & 255) + "." + ((v >>> 16) & 255) + "." + ((v >>> 8) & 255) + "." + (v & 255);
        }
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) g[i] = value.shiftRight(16 * (7 - i)).intValue() & 0xffff;
        int bestStart = -1, bestLen = 0;
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) { i++; continue; }
            int j = i;
            while (j < 8 && g[j] == 0) j++;
            if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
            i = j;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') sb.append(':');
            sb.append(Integer.toHexString(g[i]));
        }
        return sb.toString();
    }
}
