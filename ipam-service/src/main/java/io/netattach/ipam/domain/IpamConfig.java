package io.netattach.ipam.domain;

import inet.ipaddr.IPAddress;
import io.netattach.ipam.domain.PoolDefinition.Kind;
import io.netattach.ipam.domain.Range.Interval;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reads a CNI ipam section as users write it in NADs (host-local, whereabouts, static) into a
 * {@link PoolDefinition}. Every refusal names the field and the value; the choices between rejecting and
 * warning are listed in docs/ipam.md.
 */
public final class IpamConfig {

    private final List<String> warnings = new ArrayList<>();

    private IpamConfig() {
    }

    /** @param ipam the section as parsed JSON (maps, lists, strings, numbers, booleans) */
    public static PoolDefinition parse(Map<String, Object> ipam) {
        if (ipam == null) throw IpamException.missing("ipam");
        return new IpamConfig().read(ipam);
    }

    private PoolDefinition read(Map<String, Object> ipam) {
        String type = string(ipam, "type", "ipam.type");
        if (type == null) throw IpamException.missing("ipam.type");
        List<Route> routes = routes(ipam.get("routes"));
        Dns dns = dns(ipam.get("dns"));
        // whereabouts' segment name, read for every type: it may name a global pool (docs/ipam.md)
        String networkName = string(ipam, "network_name", "ipam.network_name");
        if (networkName != null && networkName.isBlank()) networkName = null;
        PoolDefinition def = switch (type) {
            case "host-local" -> new PoolDefinition(Kind.HOST_LOCAL, hostLocal(ipam), routes, dns, networkName, true, List.of(), warnings);
            case "whereabouts" -> {
                Object overlap = ipam.get("enable_overlapping_ranges");
                if (overlap != null && !(overlap instanceof Boolean)) {
                    throw IpamException.invalid("ipam.enable_overlapping_ranges", overlap, "is not a boolean");
                }
                yield new PoolDefinition(Kind.WHEREABOUTS, whereabouts(ipam), routes, dns, networkName,
                        overlap == null || (Boolean) overlap, List.of(), warnings);
            }
            case "static" -> new PoolDefinition(Kind.STATIC, List.of(), routes, dns, networkName, true, staticAddresses(ipam.get("addresses")), warnings);
            default -> throw IpamException.invalid("ipam.type", type, "is not supported (host-local, whereabouts, static)");
        };
        // without ranges, a network_name may still name a global pool that gives them: the store checks
        return networkName == null ? def.requireRanges() : def;
    }

    // ---- host-local: ranges (range sets) plus the legacy top-level subnet, which comes first; none: see requireRanges

    private List<RangeSet> hostLocal(Map<String, Object> ipam) {
        List<RangeSet> sets = new ArrayList<>();
        if (ipam.get("subnet") != null) {
            sets.add(new RangeSet(List.of(hostLocalRange(ipam, "ipam."))));
        }
        Object ranges = ipam.get("ranges");
        if (ranges != null) {
            List<?> outer = list(ranges, "ipam.ranges");
            for (int i = 0; i < outer.size(); i++) {
                List<?> inner = list(outer.get(i), "ipam.ranges[" + i + "]");
                if (inner.isEmpty()) throw IpamException.invalid("ipam.ranges[" + i + "]", "[]", "is an empty range set");
                List<Range> rs = new ArrayList<>();
                for (int j = 0; j < inner.size(); j++) {
                    Range r = hostLocalRange(map(inner.get(j), "ipam.ranges[" + i + "][" + j + "]"), "ipam.ranges[" + i + "][" + j + "].");
                    if (!rs.isEmpty() && rs.getFirst().subnet().bits() != r.subnet().bits()) {
                        throw IpamException.invalid("ipam.ranges[" + i + "][" + j + "].subnet", r.subnet().networkText(), "mixes address families within one range set");
                    }
                    rs.add(r);
                }
                sets.add(new RangeSet(rs));
            }
        }
        rejectOverlaps(sets, ipam.get("subnet") != null);
        return sets;
    }

    private Range hostLocalRange(Map<String, Object> m, String prefix) {
        String subnetText = string(m, "subnet", prefix + "subnet");
        if (subnetText == null) throw IpamException.missing(prefix + "subnet");
        Cidr subnet = Cidr.parse(prefix + "subnet", subnetText);
        if (subnet.hasHostBits()) {
            throw IpamException.invalid(prefix + "subnet", subnetText, "has host bits set; the network is " + subnet.networkText());
        }
        // host-local refuses networks smaller than /30 (/126): nothing left after network, gateway and broadcast
        if (subnet.prefix() > subnet.bits() - 2) {
            throw IpamException.invalid(prefix + "subnet", subnetText, "is too small to hold a host (host-local needs at least a /" + (subnet.bits() - 2) + ")");
        }
        Address gateway = address(m, "gateway", prefix + "gateway", subnet);
        if (gateway == null) gateway = subnet.network().plus(1); // host-local's default gateway: the first address
        else if (!subnet.contains(gateway)) warnings.add(prefix + "gateway: \"" + gateway + "\" is outside " + subnet.networkText() + "; reported as is");
        Address start = address(m, "rangeStart", prefix + "rangeStart", subnet);
        Address end = address(m, "rangeEnd", prefix + "rangeEnd", subnet);
        if (start != null && !subnet.contains(start)) throw IpamException.invalid(prefix + "rangeStart", start.toString(), "is not in " + subnet.networkText());
        if (end != null && !subnet.contains(end)) throw IpamException.invalid(prefix + "rangeEnd", end.toString(), "is not in " + subnet.networkText());
        if (start == null) start = subnet.network().plus(1);
        if (end == null) end = subnet.address().isV4() ? subnet.last().plus(-1) : subnet.last(); // host-local: IPv4 skips broadcast
        if (start.compareTo(end) > 0) {
            throw IpamException.invalid(prefix + "rangeStart", start.toString(), "is after " + prefix + "rangeEnd \"" + end + "\"");
        }
        if (start.equals(subnet.network())) warnings.add(prefix + "rangeStart: \"" + start + "\" is the network address; host-local hands it out, so netattach does too");
        if (subnet.address().isV4() && end.equals(subnet.last())) warnings.add(prefix + "rangeEnd: \"" + end + "\" is the broadcast address; host-local hands it out, so netattach does too");
        Range r = new Range(subnet.network().equals(subnet.address()) ? subnet : new Cidr(subnet.network(), subnet.prefix()), start, end, gateway, List.of(), false);
        if (r.size().signum() == 0) {
            throw IpamException.invalid(prefix + "rangeStart", start.toString(), "to \"" + end + "\" is too small to hold a host once the gateway " + gateway + " is skipped");
        }
        return r;
    }

    // ---- whereabouts: range (CIDR or A-B/len) + range_start/range_end/exclude, then ipRanges (one address each); none: see requireRanges

    private List<RangeSet> whereabouts(Map<String, Object> ipam) {
        Address gateway = null;
        String gwText = string(ipam, "gateway", "ipam.gateway");
        if (gwText != null) gateway = Address.parse("ipam.gateway", gwText);
        List<RangeSet> sets = new ArrayList<>();
        if (ipam.get("range") != null) sets.add(new RangeSet(List.of(whereaboutsRange(ipam, "ipam.", gateway))));
        Object ipRanges = ipam.get("ipRanges");
        if (ipRanges != null) {
            List<?> l = list(ipRanges, "ipam.ipRanges");
            for (int i = 0; i < l.size(); i++) {
                String p = "ipam.ipRanges[" + i + "].";
                Map<String, Object> m = map(l.get(i), "ipam.ipRanges[" + i + "]");
                if (m.get("range") == null) throw IpamException.missing(p + "range");
                sets.add(new RangeSet(List.of(whereaboutsRange(m, p, gateway))));
            }
        }
        rejectOverlaps(sets, false);
        return sets;
    }

    private Range whereaboutsRange(Map<String, Object> m, String prefix, Address gateway) {
        String text = string(m, "range", prefix + "range");
        Address start = null;
        Address end = null;
        Cidr subnet;
        int dash = text.indexOf('-');
        if (dash > 0) {
            // "A-B/len": the range is A..B inside the network of B/len
            start = Address.parse(prefix + "range", text.substring(0, dash));
            Cidr endCidr = Cidr.parse(prefix + "range", text.substring(dash + 1));
            end = endCidr.address();
            subnet = new Cidr(endCidr.network(), endCidr.prefix());
            if (!subnet.contains(start)) throw IpamException.invalid(prefix + "range", text, "starts outside " + subnet.networkText());
        } else {
            Cidr c = Cidr.parse(prefix + "range", text);
            if (c.hasHostBits()) warnings.add(prefix + "range: \"" + text + "\" has host bits set; whereabouts uses " + c.networkText() + ", so does netattach");
            subnet = new Cidr(c.network(), c.prefix());
        }
        Address rs = address(m, "range_start", prefix + "range_start", subnet);
        Address re = address(m, "range_end", prefix + "range_end", subnet);
        if (rs != null) {
            if (!subnet.contains(rs)) throw IpamException.invalid(prefix + "range_start", rs.toString(), "is not in " + subnet.networkText());
            start = rs;
        }
        if (re != null) {
            if (!subnet.contains(re)) throw IpamException.invalid(prefix + "range_end", re.toString(), "is not in " + subnet.networkText());
            end = re;
        }
        if (start == null) start = subnet.network();
        if (end == null) end = subnet.last();
        if (start.compareTo(end) > 0) throw IpamException.invalid(prefix + "range_start", start.toString(), "is after the range end \"" + end + "\"");
        List<Interval> excluded = new ArrayList<>();
        Object ex = m.get("exclude");
        if (ex != null) {
            List<?> l = list(ex, prefix + "exclude");
            for (int i = 0; i < l.size(); i++) {
                String f = prefix + "exclude[" + i + "]";
                if (!(l.get(i) instanceof String s)) throw IpamException.invalid(f, l.get(i), "is not a string");
                IPAddress written = Cidr.parseAddressOrCidr(f, s);
                Cidr c = written.getNetworkPrefixLength() != null ? Cidr.of(written) : new Cidr(Address.of(written), written.getBitCount());
                if (c.bits() != subnet.bits()) throw IpamException.invalid(f, s, "is not of the address family of " + subnet.networkText());
                if (!c.overlaps(subnet)) warnings.add(f + ": \"" + s + "\" does not overlap " + subnet.networkText() + "; ignored");
                excluded.add(new Interval(c.network().value(), c.last().value()));
            }
        }
        Address gw = gateway != null && gateway.bits() == subnet.bits() && subnet.contains(gateway) ? gateway : null;
        Range r = new Range(subnet, start, end, gw, excluded, true);
        if (r.size().signum() == 0) {
            throw IpamException.invalid(prefix + "range", text, "is too small to hold a host: nothing is left between " + start + " and " + end
                    + " once the network and broadcast addresses" + (gw != null ? ", the gateway" : "") + (excluded.isEmpty() ? "" : " and the exclusions") + " are removed");
        }
        return r;
    }

    private static void rejectOverlaps(List<RangeSet> sets, boolean legacyFirst) {
        List<Range> all = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < sets.size(); i++) {
            for (int j = 0; j < sets.get(i).ranges().size(); j++) {
                Range r = sets.get(i).ranges().get(j);
                String name = legacyFirst && i == 0 ? "ipam.subnet" : "range set " + (legacyFirst ? i - 1 : i) + " range " + j;
                for (int k = 0; k < all.size(); k++) {
                    Range o = all.get(k);
                    if (o.subnet().bits() == r.subnet().bits() && o.first().compareTo(r.last()) <= 0 && r.first().compareTo(o.last()) <= 0) {
                        throw new IpamException(IpamException.Reason.Invalid, name + ": \"" + r.describe() + "\" overlaps " + names.get(k) + " \"" + o.describe() + "\"");
                    }
                }
                all.add(r);
                names.add(name);
            }
        }
    }

    // ---- static: addresses are validated here, and kept unique in their segment by the store

    private static List<StaticAddress> staticAddresses(Object value) {
        if (value == null) return List.of();
        List<?> l = list(value, "ipam.addresses");
        List<StaticAddress> out = new ArrayList<>();
        for (int i = 0; i < l.size(); i++) {
            String p = "ipam.addresses[" + i + "]";
            Map<String, Object> m = map(l.get(i), p);
            String a = string(m, "address", p + ".address");
            if (a == null) throw IpamException.missing(p + ".address");
            Cidr c = Cidr.parse(p + ".address", a);
            String gw = string(m, "gateway", p + ".gateway");
            out.add(new StaticAddress(c.toString(), gw == null ? null : Address.parse(p + ".gateway", gw).toString()));
        }
        return out;
    }

    // ---- routes and dns, common to all three

    private static List<Route> routes(Object value) {
        if (value == null) return List.of();
        List<?> l = list(value, "ipam.routes");
        List<Route> out = new ArrayList<>();
        for (int i = 0; i < l.size(); i++) {
            String p = "ipam.routes[" + i + "]";
            Map<String, Object> m = map(l.get(i), p);
            String dst = string(m, "dst", p + ".dst");
            if (dst == null) throw IpamException.missing(p + ".dst");
            Cidr c = Cidr.parse(p + ".dst", dst);
            String gw = string(m, "gw", p + ".gw");
            Address g = gw == null ? null : Address.parse(p + ".gw", gw);
            if (g != null && g.bits() != c.bits()) throw IpamException.invalid(p + ".gw", gw, "is not of the address family of " + dst);
            out.add(new Route(c.toString(), g == null ? null : g.toString()));
        }
        return out;
    }

    private static Dns dns(Object value) {
        if (value == null) return null;
        Map<String, Object> m = map(value, "ipam.dns");
        List<String> ns = strings(m.get("nameservers"), "ipam.dns.nameservers");
        for (int i = 0; i < ns.size(); i++) {
            Address.parse("ipam.dns.nameservers[" + i + "]", ns.get(i));
        }
        return new Dns(ns, string(m, "domain", "ipam.dns.domain"), strings(m.get("search"), "ipam.dns.search"), strings(m.get("options"), "ipam.dns.options"));
    }

    // ---- JSON shape helpers: wrong types are refused with the field name

    private static String string(Map<String, Object> m, String key, String field) {
        Object v = m.get(key);
        if (v == null) return null;
        if (!(v instanceof String s)) throw IpamException.invalid(field, v, "is not a string");
        return s;
    }

    private static Address address(Map<String, Object> m, String key, String field, Cidr subnet) {
        String s = string(m, key, field);
        if (s == null || s.isBlank()) return null;
        Address a = Address.parse(field, s);
        if (a.bits() != subnet.bits()) throw IpamException.invalid(field, s, "is not of the address family of " + subnet.networkText());
        return a;
    }


    private static List<?> list(Object v, String field) {
        if (!(v instanceof List<?> l)) throw IpamException.invalid(field, v, "is not a list");
        return l;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object v, String field) {
        if (!(v instanceof Map<?, ?> m)) throw IpamException.invalid(field, v, "is not an object");
        return (Map<String, Object>) m;
    }

    private static List<String> strings(Object v, String field) {
        if (v == null) return List.of();
        List<?> l = list(v, field);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < l.size(); i++) {
            if (!(l.get(i) instanceof String s)) throw IpamException.invalid(field + "[" + i + "]", l.get(i), "is not a string");
            out.add(s);
        }
        return out;
    }

}
