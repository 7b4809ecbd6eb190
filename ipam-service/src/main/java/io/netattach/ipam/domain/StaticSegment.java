package io.netattach.ipam.domain;

import inet.ipaddr.IPAddress;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The network segment in which the addresses of a static ipam section are unique: its network_name if it has one,
 * else its NAD, within the owner's cluster (the scope of derived pools). The store keeps a segment as a pool of kind
 * static that hands out nothing itself: each address held is one row in it, in range set 0 when IPv4 and 1 when
 * IPv6, so the pool's unique indexes hold an address once per family (an IPv4 and an IPv6 address of the same
 * numeric value do not collide), and an interface holds at most one IPv4 and one IPv6 address of a segment, as it
 * holds one address per range set of a dual-stack pool.
 *
 * @param pool        the segment's pool name
 * @param networkName the section's network_name, or null when the segment is the NAD
 * @param network     the NAD as namespace/name
 */
public record StaticSegment(String pool, String cluster, String networkName, String network) {

    public static final int IPV4 = 0;
    public static final int IPV6 = 1;

    /** The segment of a static section for an owner of this cluster; network is the NAD (namespace/name) the request names. */
    public static StaticSegment of(PoolDefinition section, String network, String cluster) {
        String networkName = section.networkName();
        if (networkName == null && (network == null || network.isBlank())) {
            throw new IpamException(IpamException.Reason.Invalid, "network: missing (a static ipam section without network_name keeps its "
                    + "addresses unique per NAD: the request must name the NAD as <namespace>/<name>)");
        }
        String segment = networkName != null ? "network_name=" + networkName : "nad=" + network;
        String name = "static-" + PoolDefinition.label(networkName != null ? networkName : network, 60) + "-"
                + PoolDefinition.sha256("static|" + cluster + "|" + segment).substring(0, 10);
        return new StaticSegment(name, cluster, networkName, networkName != null ? null : network);
    }

    /** The ipam section the segment's pool row keeps: what names the segment, for the REST views. */
    public Map<String, Object> ipam() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", "static");
        if (networkName != null) m.put("network_name", networkName);
        else m.put("network", network);
        return m;
    }

    /** The range set of a segment that holds this address. */
    public static int rangeSetOf(Address a) {
        return a.isV4() ? IPV4 : IPV6;
    }

    /** The address width of a segment's range set. */
    public static int bitsOf(int rangeSet) {
        return rangeSet == IPV4 ? 32 : 128;
    }

    /** An address asked for in a segment, with the prefix length and gateway the answer reports with it. */
    public record Wanted(PoolDefinition.Asked asked, Cidr cidr) {
        public Address address() {
            return cidr.address();
        }

        public int rangeSet() {
            return rangeSetOf(cidr.address());
        }
    }

    /** What a static section asks of its segment: the request's ips if it has any, which replace the section's addresses. */
    public static List<Wanted> wanted(PoolDefinition section, List<String> ips, String pool) {
        return wanted(section.asked(ips), pool, ips != null && !ips.isEmpty() ? "ips" : "ipam.addresses");
    }

    /**
     * What a request asks of a segment: every address with its prefix length (a segment has no subnet to take one
     * from), at most one per family. Asking none is refused as {@code missing}: the field that should have named them.
     */
    public static List<Wanted> wanted(List<PoolDefinition.Asked> asked, String pool, String missing) {
        if (asked.isEmpty()) throw IpamException.missing(missing);
        List<Wanted> out = new ArrayList<>();
        for (PoolDefinition.Asked a : asked) {
            if (a.text() == null) throw IpamException.missing(a.field());
            IPAddress written = Cidr.parseAddressOrCidr(a.field(), a.text());
            if (written.getNetworkPrefixLength() == null) throw IpamException.invalid(a.field(), a.text(), "needs a prefix length with static ipam (e.g. 10.1.2.3/24)");
            Cidr c = Cidr.of(written);
            for (Wanted w : out) {
                if (w.rangeSet() == rangeSetOf(c.address())) {
                    throw IpamException.invalid(a.field(), a.text(), "is a second " + (c.address().isV4() ? "IPv4" : "IPv6") + " address for the interface, after "
                            + w.asked().field() + " \"" + w.asked().text() + "\": static segment \"" + pool + "\" holds one IPv4 and one IPv6 address per interface");
                }
            }
            out.add(new Wanted(a, c));
        }
        return out;
    }

    /** The answer: the addresses as asked (CIDR), each asked gateway, the section's routes and DNS. */
    public static Lease lease(String pool, List<Wanted> wanted, PoolDefinition section, boolean created) {
        List<String> ips = new ArrayList<>();
        List<String> gateways = new ArrayList<>();
        for (Wanted w : wanted) {
            ips.add(w.cidr().toString());
            if (w.asked().gateway() != null) gateways.add(w.asked().gateway());
        }
        return new Lease(pool, ips, gateways, section == null ? List.of() : section.routes(), section == null ? null : section.dns(), created);
    }
}
