package io.netattach.ipam.domain;

import java.math.BigInteger;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Ranges that together give one address to an owner (host-local's range set; one entry of whereabouts'
 * ipRanges). Eligible addresses are numbered by an ordinal 0..size-1 in range order then address order,
 * so "lowest free ordinal" is "the first address the plugin would give", and the store only sees numbers.
 */
public record RangeSet(List<Range> ranges) {

    public RangeSet {
        ranges = List.copyOf(ranges);
    }

    public BigInteger size() {
        return ranges.stream().map(Range::size).reduce(BigInteger.ZERO, BigInteger::add);
    }

    public boolean isV4() {
        return ranges.getFirst().subnet().address().isV4();
    }

    /** The address with this ordinal; the ordinal must be below size(). */
    public Address addressAt(BigInteger ordinal) {
        BigInteger left = ordinal;
        for (Range r : ranges) {
            for (Range.Interval s : r.segments()) {
                if (left.compareTo(s.size()) < 0) return new Address(r.subnet().bits(), s.lo().add(left));
                left = left.subtract(s.size());
            }
        }
        throw new IllegalArgumentException("ordinal " + ordinal + " beyond size " + size());
    }

    /** The ordinal of an eligible address, or null when the address is not handed out dynamically. */
    public BigInteger ordinalOf(Address a) {
        BigInteger before = BigInteger.ZERO;
        for (Range r : ranges) {
            for (Range.Interval s : r.segments()) {
                if (a.bits() == r.subnet().bits() && a.value().compareTo(s.lo()) >= 0 && a.value().compareTo(s.hi()) <= 0) {
                    return before.add(a.value().subtract(s.lo()));
                }
                before = before.add(s.size());
            }
        }
        return null;
    }

    /** The range whose subnet holds the address, or null. */
    public Range rangeFor(Address a) {
        for (Range r : ranges) if (r.subnet().contains(a)) return r;
        return null;
    }

    public String canonical() {
        return ranges.stream().map(Range::canonical).collect(Collectors.joining("+"));
    }

    public String describe() {
        return ranges.stream().map(Range::describe).collect(Collectors.joining(", "));
    }
}
