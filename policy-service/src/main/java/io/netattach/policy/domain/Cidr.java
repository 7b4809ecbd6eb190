package io.netattach.policy.domain;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/** An IPv4 or IPv6 address with a prefix length. A bare address is a host prefix (/32, /128). */
public record Cidr(byte[] address, int prefix) {
    // Only numeric literals ever reach InetAddress, so parsing never triggers a DNS lookup.
    private static final Pattern LITERAL = Pattern.compile("[0-9a-fA-F:.]+");

    public static Cidr parse(String field, String text) {
        if (text == null || text.isBlank()) throw new InvalidRequest(field + ": empty address");
        String[] parts = text.trim().split("/", -1);
        if (parts.length > 2 || !LITERAL.matcher(parts[0]).matches() || (!parts[0].contains(".") && !parts[0].contains(":"))) {
            throw new InvalidRequest(field + ": \"" + text + "\" is not an IP address or CIDR");
        }
        byte[] bytes;
        try {
            bytes = InetAddress.getByName(parts[0]).getAddress();
        } catch (UnknownHostException e) {
            throw new InvalidRequest(field + ": \"" + text + "\" is not an IP address or CIDR");
        }
        int max = bytes.length * 8;
        int prefix = max;
        if (parts.length == 2) {
            try {
                prefix = Integer.parseInt(parts[1]);
            } catch (NumberFormatException e) {
                throw new InvalidRequest(field + ": \"" + text + "\" has no numeric prefix length");
            }
            if (prefix < 0 || prefix > max) throw new InvalidRequest(field + ": \"" + text + "\" prefix length must be 0.." + max);
        }
        return new Cidr(bytes, prefix);
    }

    /** Whether the address of {@code other} lies in this prefix (families must match). */
    public boolean contains(Cidr other) {
        if (other.address.length != address.length) return false;
        int bits = address.length * 8;
        if (prefix == 0) return true;
        BigInteger mask = BigInteger.ONE.shiftLeft(bits).subtract(BigInteger.ONE)
                .xor(BigInteger.ONE.shiftLeft(bits - prefix).subtract(BigInteger.ONE));
        return new BigInteger(1, address).and(mask).equals(new BigInteger(1, other.address).and(mask));
    }
}
