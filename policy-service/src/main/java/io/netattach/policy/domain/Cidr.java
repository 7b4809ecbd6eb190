package io.netattach.policy.domain;

import inet.ipaddr.IPAddress;
import io.netattach.ip.InvalidIpLiteral;
import io.netattach.ip.IpLiterals;

import java.math.BigInteger;

/**
 * An IPv4 or IPv6 address with a prefix length. A bare address is a host prefix (/32, /128). Parsed under the
 * suite's rules (ipam-service/src/ip-literals/): literals only, never a name lookup; an IPv4-mapped address stays IPv6.
 */
public record Cidr(byte[] address, int prefix) {

    /** "a/len" (host bits kept: {@link #contains} compares networks) or a bare address. */
    public static Cidr parse(String field, String text) {
        try {
            IPAddress a = IpLiterals.addressOrCidr(field, text);
            Integer len = a.getNetworkPrefixLength();
            return new Cidr(a.getBytes(), len == null ? a.getBitCount() : len);
        } catch (InvalidIpLiteral e) {
            throw new InvalidRequest(e.getMessage());
        }
    }

    /** A bare address (a gateway): no prefix length. */
    public static Cidr parseAddress(String field, String text) {
        try {
            IPAddress a = IpLiterals.address(field, text);
            return new Cidr(a.getBytes(), a.getBitCount());
        } catch (InvalidIpLiteral e) {
            throw new InvalidRequest(e.getMessage());
        }
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
