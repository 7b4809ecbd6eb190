package io.netattach.ipam.domain;

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

    public boolean hasPool() {
        return kind != Kind.STATIC;
    }

    /** Dynamic addresses over all range sets. */
    public BigInteger size() {
        return rangeSets.stream().map(RangeSet::size).reduce(BigInteger.ZERO, BigInteger::add);
    }

    /** A statically requested address, placed in its range set; ordinal null when outside the dynamic range. */
    public record Placement(int rangeSet, Address address, BigInteger ordinal) {
    }

    /**
     * Places the annotation's static requests (CIDR or bare IP): each must fall inside a range set's subnet
     * (even outside rangeStart..rangeEnd: operators keep that part for static use), must not be the gateway,
     * an excluded, network or broadcast address, and at most one per range set.
     */
    public List<Placement> placeStatic(List<String> ips, String pool) {
        List<Placement> out = new java.util.ArrayList<>();
        if (ips == null) return out;
        for (int i = 0; i < ips.size(); i++) {
            String field = "ips[" + i + "]";
            String text = ips.get(i);
            if (text == null) throw IpamException.missing(field);
            Cidr c = Cidr.parseOrNull(text);
            Address a = c != null ? c.address() : Address.parseOrNull(text);
            if (a == null) throw IpamException.invalid(field, text, "is not an IP address or CIDR");
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
     * The pool a NAD's section maps to when it names no pool: NADs with the same network_name and ranges,
     * or without network_name and with the same eligible ranges, in the same cluster scope, share one pool,
     * so two NADs of one segment never hand out the same address.
     */
    public String derivedPoolName(String cluster) {
        String basis = (cluster == null ? "*" : cluster) + "|" + (networkName == null ? "" : networkName) + "|" + canonicalRanges();
        String label = networkName != null ? networkName : rangeSets.getFirst().ranges().getFirst().subnet().networkText();
        label = label.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9.\\-]+", "-");
        if (label.length() > 60) label = label.substring(0, 60);
        return label + "-" + sha256(basis).substring(0, 10);
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
