package io.netattach.ipam.domain;

import java.math.BigInteger;

/** A prefix: an address and a length. {@link #network()} has the host bits cleared. */
public record Cidr(Address address, int prefix) {

    /** Parses "a/len"; null when not a CIDR (a bare address is not a CIDR). */
    public static Cidr parseOrNull(String text) {
        if (text == null) return null;
        String s = text.trim();
        int slash = s.indexOf('/');
        if (slash < 0) return null;
        Address a = Address.parseOrNull(s.substring(0, slash));
        String len = s.substring(slash + 1);
        if (a == null || len.isEmpty() || len.length() > 3 || !len.chars().allMatch(Character::isDigit)) return null;
        int p = Integer.parseInt(len);
        if (p > a.bits()) return null;
        return new Cidr(a, p);
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
