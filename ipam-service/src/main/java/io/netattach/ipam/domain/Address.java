package io.netattach.ipam.domain;

import inet.ipaddr.IPAddress;
import io.netattach.ip.InvalidIpLiteral;
import io.netattach.ip.IpLiterals;

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

    /** A bare IPv4 or IPv6 literal under the suite's rules (ipam-service/src/ip-literals/); null if it is not one. */
    public static Address parseOrNull(String text) {
        try {
            return of(IpLiterals.address("address", text));
        } catch (InvalidIpLiteral e) {
            return null;
        }
    }

    /** A bare IPv4 or IPv6 literal; refused with the field, the value and why. */
    public static Address parse(String field, String text) {
        try {
            return of(IpLiterals.address(field, text));
        } catch (InvalidIpLiteral e) {
            throw IpamException.invalid(field, text, e.reason());
        }
    }

    /** The (lowest) address of a parsed literal, as a number. */
    static Address of(IPAddress a) {
        return new Address(a.getBitCount(), a.getValue());
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
