package io.netattach.ipam.domain;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * One contiguous range inside a subnet, with the addresses it never hands out removed.
 * The eligible addresses are kept as a few disjoint segments (first..last minus gateway, exclusions,
 * and for whereabouts network/broadcast), never as a list of addresses.
 *
 * @param subnet     the network (host bits cleared); its prefix is the prefix of every address handed out
 * @param first      first address of the range, inclusive
 * @param last       last address of the range, inclusive
 * @param gateway    the gateway reported with the address, never handed out; may be null
 * @param excluded   blocked address intervals (inclusive pairs), may overlap each other and the range edges
 * @param edgesBlocked true: the network and all-ones host addresses are never handed out (whereabouts)
 */
public record Range(Cidr subnet, Address first, Address last, Address gateway, List<Interval> excluded, boolean edgesBlocked) {

    /** An inclusive interval of addresses as numbers. */
    public record Interval(BigInteger lo, BigInteger hi) {
        public BigInteger size() {
            return hi.subtract(lo).add(BigInteger.ONE);
        }
    }

    public Range {
        excluded = List.copyOf(excluded);
    }

    /** Disjoint, ascending eligible intervals. */
    public List<Interval> segments() {
        List<Interval> blocked = new ArrayList<>(excluded);
        if (gateway != null) blocked.add(new Interval(gateway.value(), gateway.value()));
        if (edgesBlocked) {
            blocked.add(new Interval(subnet.network().value(), subnet.network().value()));
            blocked.add(new Interval(subnet.last().value(), subnet.last().value()));
        }
        blocked.sort(Comparator.comparing(Interval::lo));
        List<Interval> out = new ArrayList<>();
        BigInteger cursor = first.value();
        BigInteger end = last.value();
        for (Interval b : blocked) {
            if (cursor.compareTo(end) > 0) break;
            if (b.hi().compareTo(cursor) < 0) continue;
            if (b.lo().compareTo(cursor) > 0) out.add(new Interval(cursor, b.lo().subtract(BigInteger.ONE).min(end)));
            cursor = cursor.max(b.hi().add(BigInteger.ONE));
        }
        if (cursor.compareTo(end) <= 0) out.add(new Interval(cursor, end));
        return out;
    }

    public BigInteger size() {
        return segments().stream().map(Interval::size).reduce(BigInteger.ZERO, BigInteger::add);
    }

    /** Why a statically requested address may not be given, or null when it may (inside the subnet, even outside first..last). */
    public String refusesStatic(Address a) {
        if (!subnet.contains(a)) return "is outside " + subnet.networkText();
        if (a.equals(gateway)) return "is the gateway of " + subnet.networkText();
        for (Interval x : excluded) {
            if (a.value().compareTo(x.lo()) >= 0 && a.value().compareTo(x.hi()) <= 0) return "is excluded";
        }
        boolean pointToPoint = subnet.bits() - subnet.prefix() <= 1;
        if (!pointToPoint && a.equals(subnet.network())) return "is the network address of " + subnet.networkText();
        if (!pointToPoint && (a.isV4() || edgesBlocked) && a.equals(subnet.last())) return "is the broadcast address of " + subnet.networkText();
        return null;
    }

    /** Canonical text of what this range hands out: same text, same eligible set. */
    public String canonical() {
        StringBuilder sb = new StringBuilder(subnet.networkText()).append('[');
        for (Interval s : segments()) {
            sb.append(new Address(subnet.bits(), s.lo())).append('-').append(new Address(subnet.bits(), s.hi())).append(',');
        }
        return sb.append(']').toString();
    }

    public String describe() {
        return first + "-" + last + " in " + subnet.networkText();
    }
}
