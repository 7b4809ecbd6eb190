package io.netattach.ipam.domain;

import inet.ipaddr.IPAddress;
import io.netattach.ip.InvalidIpLiteral;
import io.netattach.ip.IpLiterals;

import java.math.BigInteger;

/** A prefix: an address and a length. {@link #network()} has the host bits cleared. */
public record Cidr(Address address, int prefix) {

    /** Parses "a/len" under the suite's rules (ipam-service/src/ip-literals/); null when not a CIDR (a bare address is not a CIDR). */
    public static Cidr parseOrNull(String text) {
        try {
            return of(IpLiterals.cidr("cidr", text));
        } catch (InvalidIpLiteral e) {
            return null;
        }
    }

    /** Parses "a/len", host bits kept; refused with the field, the value and why. */
    public static Cidr parse(String field, String text) {
        try {
            return of(IpLiterals.cidr(field, text));
        } catch (InvalidIpLiteral e) {
            throw IpamException.invalid(field, text, e.reason());
        }
    }

    /** "a/len" or a bare "a" (then {@code getNetworkPrefixLength()} is null); refused with the field, the value and why. */
    public static IPAddress parseAddressOrCidr(String field, String text) {
        try {
            return IpLiterals.addressOrCidr(field, text);
        } catch (InvalidIpLiteral e) {
            throw IpamException.invalid(field, text, e.reason());
        }
    }

    /** A parsed literal that has a prefix length. */
    static Cidr of(IPAddress a) {
        return new Cidr(Address.of(a), a.getNetworkPrefixLength());
    }

    public int bits() {
        return address.bits();
    }

    private BigInteger hostMask() {
        return BigInteger.ONE.shiftLeft(bits() - prefix).subtract(BigInteger.ONE);
    }

    public Address network() {
        return new Address(bits(), address.value().andNot(hostMask()));
    }

    /** The all-ones host part (IPv4 broadcast). */
    public Address last() {
        return new Address(bits(), address.value().or(hostMask()));
    }

    public boolean hasHostBits() {
        return !address.equals(network());
    }

    public BigInteger size() {
        return BigInteger.ONE.shiftLeft(bits() - prefix);
    }

    public boolean contains(Address a) {
        return a.bits() == bits() && a.compareTo(network()) >= 0 && a.compareTo(last()) <= 0;
    }

    public boolean overlaps(Cidr o) {
        return o.bits() == bits() && network().compareTo(o.last()) <= 0 && o.network().compareTo(last()) <= 0;
    }

    /** Same network, canonical text. */
    public String networkText() {
        return network() + "/" + prefix;
    }

    @Override
    public String toString() {
        return address + "/" + prefix;
    }
}
