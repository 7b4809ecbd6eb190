package io.netattach.node.netlink.link;

import java.util.HexFormat;

/** A 6-byte Ethernet address, validated when parsed. */
public record Mac(byte[] bytes) {
    public Mac {
        if (bytes.length != 6) throw new IllegalArgumentException("MAC must have 6 bytes, got " + bytes.length);
        bytes = bytes.clone();
    }

    private static final java.util.regex.Pattern SYNTAX = java.util.regex.Pattern.compile("(?i)[0-9a-f]{2}([:-][0-9a-f]{2}){5}");

    /** Parses aa:bb:cc:dd:ee:ff (also with '-'); a multicast or all-zero address is rejected. */
    public static Mac parse(String field, String s) {
        if (s == null || !SYNTAX.matcher(s).matches()) {
            throw new IllegalArgumentException(field + " \"" + s + "\" is not a MAC address (expected aa:bb:cc:dd:ee:ff)");
        }
        byte[] b = HexFormat.of().parseHex(s.replaceAll("[:-]", ""));
        if ((b[0] & 1) != 0) throw new IllegalArgumentException(field + " \"" + s + "\" is a multicast address");
        boolean zero = true;
        for (byte x : b) zero &= x == 0;
        if (zero) throw new IllegalArgumentException(field + " \"" + s + "\" is the all-zero address");
        return new Mac(b);
    }

    @Override
    public byte[] bytes() { return bytes.clone(); }

    @Override
    public String toString() { return HexFormat.ofDelimiter(":").formatHex(bytes); }

    @Override
    public boolean equals(Object o) { return o instanceof Mac m && java.util.Arrays.equals(bytes, m.bytes); }

    @Override
    public int hashCode() { return java.util.Arrays.hashCode(bytes); }
}
