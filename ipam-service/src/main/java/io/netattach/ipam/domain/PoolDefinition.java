package io.netattach.ipam.domain;

import inet.ipaddr.IPAddress;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * A CNI ipam section, normalized: what it hands out (range sets), what it reports with the address
 * (routes, dns, gateways), and the warnings about values the original plugin would silently ignore.
 * Built by {@link IpamConfig#parse}.
 */
public record PoolDefinition(Kind kind, List<RangeSet> rangeSets, List<Route> routes, Dns dns, String networkName,
                             boolean overlappingRanges, List<StaticAddress> addresses, List<String> warnings) {

    public enum Kind {
        HOST_LOCAL("host-local"), WHEREABOUTS("whereabouts"), STATIC("static");

        public final String cniType;

        Kind(String cniType) {
            this.cniType = cniType;
        }
    }

    public PoolDefinition {
        rangeSets = List.copyOf(rangeSets);
        routes = List.copyOf(routes);
        addresses = List.copyOf(addresses);
        warnings = List.copyOf(warnings);
    }

    /** Dynamic sections take their addresses from a pool; static ones name them (kept unique in their {@link StaticSegment}). */
    public boolean hasPool() {
        return kind != Kind.STATIC;
    }

    /**
     * This definition if it has the ranges its kind needs. A section without ranges is read only when it has a
     * network_name, which may name a global pool that gives them; where there is none, this names what is missing.
     */
    public PoolDefinition requireRanges() {
        if (!hasPool() || !rangeSets.isEmpty()) return this;
        String missing = kind == Kind.HOST_LOCAL
                ? "ipam.ranges: missing (host-local needs \"ranges\" or \"subnet\""
                : "ipam.range: missing (whereabouts needs \"range\" or \"ipRanges\"";
        throw new IpamException(IpamException.Reason.Invalid, missing
                + (networkName == null ? ")" : ", or a network_name that names a global pool: there is no global pool \"" + networkName + "\")"));
    }

    /** Dynamic addresses over all range sets. */
    public BigInteger size() {
        return rangeSets.stream().map(RangeSet::size).reduce(BigInteger.ZERO, BigInteger::add);
    }

    /** A statically requested address, placed in its range set; ordinal null when outside the dynamic range. */
    public record Placement(int rangeSet, Address address, BigInteger ordinal) {
    }

    /**
     * One address a request names: an entry of its ips (CIDR or bare IP), or of a static section's addresses (CIDR,
     * with the gateway reported with it); field names where it came from, for errors.
     */
    public record Asked(String field, String text, String gateway) {
        /** The list it came from ("ips", "ipam.addresses"). */
        public String list() {
            return field.substring(0, field.indexOf('['));
        }
    }

    /** What a request names: its ips if it has any, else the addresses of this section when it is static; may be empty. */
    public List<Asked> asked(List<String> ips) {
        if (ips != null && !ips.isEmpty() || kind != Kind.STATIC) return askedIps(ips);
        List<Asked> out = new java.util.ArrayList<>();
        for (int i = 0; i < addresses.size(); i++) {
            out.add(new Asked("ipam.addresses[" + i + "].address", addresses.get(i).address(), addresses.get(i).gateway()));
        }
        return out;
    }

    /** A request's ips, without a section (REST). */
    public static List<Asked> askedIps(List<String> ips) {
        List<Asked> out = new java.util.ArrayList<>();
        if (ips != null) for (int i = 0; i < ips.size(); i++) out.add(new Asked("ips[" + i + "]", ips.get(i), null));
        return out;
    }

    /** {@link #place} of a request's ips. */
    public List<Placement> placeStatic(List<String> ips, String pool) {
        return place(askedIps(ips), pool);
    }

    /**
     * Places static requests (CIDR or bare IP) in this pool: each must fall inside a range set's subnet (even
     * outside rangeStart..rangeEnd: operators keep that part for static use), must not be the gateway, an
     * excluded, network or broadcast address, and at most one per range set.
     */
    public List<Placement> place(List<Asked> asked, String pool) {
        List<Placement> out = new java.util.ArrayList<>();
        for (Asked ask : asked) {
            String field = ask.field();
            String text = ask.text();
            if (text == null) throw IpamException.missing(field);
            IPAddress written = Cidr.parseAddressOrCidr(field, text);
            Cidr c = written.getNetworkPrefixLength() != null ? Cidr.of(written) : null;
            Address a = Address.of(written);
            int found = -1;
            Range range = null;
            for (int k = 0; k < rangeSets.size() && range == null; k++) {
                range = rangeSets.get(k).rangeFor(a);
                if (range != null) found = k;
            }
            if (range == null) {
                throw IpamException.invalid(field, text, "is not inside pool \"" + pool + "\" (" + rangeSets.stream().map(RangeSet::describe).collect(Collectors.joining("; ")) + ")");
            }
            if (c != null && c.prefix() != range.subnet().prefix()) {
                throw IpamException.invalid(field, text, "has prefix length " + c.prefix() + " but pool \"" + pool + "\" subnet is " + range.subnet().networkText());
            }
            String refusal = range.refusesStatic(a);
            if (refusal != null) throw IpamException.invalid(field, text, refusal + " in pool \"" + pool + "\"");
            final int set = found;
            if (out.stream().anyMatch(p -> p.rangeSet() == set)) {
                throw IpamException.invalid(field, text, "asks a second address from the same range (" + rangeSets.get(set).describe() + ")");
            }
            out.add(new Placement(set, a, rangeSets.get(set).ordinalOf(a)));
        }
        return out;
    }

    /** Same text = same eligible addresses, whatever plugin syntax described them. */
    public String canonicalRanges() {
        return rangeSets.stream().map(RangeSet::canonical).collect(Collectors.joining(" & "));
    }

    /**
     * What differs between the addresses this section and a pool hand out, in words; null when they are the same
     * (same eligible addresses in the same range sets, whatever the syntax).
     */
    public String rangesDifferFrom(PoolDefinition pool) {
        if (canonicalRanges().equals(pool.canonicalRanges())) return null;
        if (rangeSets.size() != pool.rangeSets.size()) {
            return "the pool has " + pool.rangeSets.size() + " range set(s) (" + eligible(pool.rangeSets) + "), this section "
                    + rangeSets.size() + " (" + eligible(rangeSets) + ")";
        }
        for (int k = 0; ; k++) {
            if (!rangeSets.get(k).canonical().equals(pool.rangeSets.get(k).canonical())) {
                return "range set " + k + ": the pool gives " + eligible(List.of(pool.rangeSets.get(k))) + ", this section " + eligible(List.of(rangeSets.get(k)));
            }
        }
    }

    /** The eligible addresses of range sets as intervals per subnet: "10.0.0.0/24: 10.0.0.1-10.0.0.9, 10.0.0.11-10.0.0.254". */
    private static String eligible(List<RangeSet> sets) {
        return sets.stream().map(set -> set.ranges().stream().map(r -> r.subnet().networkText() + ": " + r.segments().stream()
                        .map(s -> new Address(r.subnet().bits(), s.lo()) + "-" + new Address(r.subnet().bits(), s.hi())).collect(Collectors.joining(", ")))
                .collect(Collectors.joining(" + "))).collect(Collectors.joining("; "));
    }

    /**
     * The pool a NAD's section maps to when it names no global pool: NADs with the same network_name and ranges,
     * or without network_name and with the same eligible ranges, in the same cluster scope, share one pool,
     * so two NADs of one segment never hand out the same address.
     */
    public String derivedPoolName(String cluster) {
        // network_name is whereabouts' own; host-local sections may carry one only to name a global pool, and
        // otherwise keep the pool they always derived
        String segment = kind == Kind.WHEREABOUTS ? networkName : null;
        String basis = (cluster == null ? "*" : cluster) + "|" + (segment == null ? "" : segment) + "|" + canonicalRanges();
        String label = segment != null ? segment : rangeSets.getFirst().ranges().getFirst().subnet().networkText();
        return label(label, 60) + "-" + sha256(basis).substring(0, 10);
    }

    /** A name's readable part: lower case, runs of anything but letters, digits, '.' and '-' as one '-', at most max characters. */
    static String label(String text, int max) {
        String label = text.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9.\\-]+", "-");
        return label.length() > max ? label.substring(0, max) : label;
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
