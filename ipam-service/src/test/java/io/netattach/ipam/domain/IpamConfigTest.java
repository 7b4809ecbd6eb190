package io.netattach.ipam.domain;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IpamConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static PoolDefinition parse(String json) {
        try {
            return IpamConfig.parse(JSON.readValue(json, new TypeReference<Map<String, Object>>() { }));
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException(e);
        }
    }

    static String rejection(String json) {
        IpamException e = assertThrows(IpamException.class, () -> parse(json));
        assertEquals(IpamException.Reason.Invalid, e.reason());
        return e.getMessage();
    }

    static String first(PoolDefinition d, int set) {
        return d.rangeSets().get(set).addressAt(BigInteger.ZERO).toString();
    }

    static String last(PoolDefinition d, int set) {
        RangeSet s = d.rangeSets().get(set);
        return s.addressAt(s.size().subtract(BigInteger.ONE)).toString();
    }

    // ---- the seed's NADs give what host-local gives

    @Test
    void seedMacvlanConfStartsAtRangeStart() {
        PoolDefinition d = parse("{\"type\":\"host-local\",\"subnet\":\"192.168.1.0/24\",\"rangeStart\":\"192.168.1.200\",\"rangeEnd\":\"192.168.1.250\",\"gateway\":\"192.168.1.1\"}");
        assertEquals("192.168.1.200", first(d, 0));
        assertEquals("192.168.1.250", last(d, 0));
        assertEquals(BigInteger.valueOf(51), d.size());
        assertEquals("192.168.1.1", d.rangeSets().getFirst().ranges().getFirst().gateway().toString());
    }

    @Test
    void seedBridgeConfSkipsTheDefaultGatewayAndBroadcast() {
        PoolDefinition d = parse("{\"type\":\"host-local\",\"subnet\":\"10.20.0.0/24\"}");
        assertEquals("10.20.0.2", first(d, 0));
        assertEquals("10.20.0.254", last(d, 0));
        assertEquals(BigInteger.valueOf(253), d.size());
        assertEquals("10.20.0.1", d.rangeSets().getFirst().ranges().getFirst().gateway().toString());
    }

    @Test
    void seedStorageNetworkRangeWithinALargerSubnet() {
        PoolDefinition d = parse("{\"type\":\"host-local\",\"subnet\":\"172.16.0.0/16\",\"rangeStart\":\"172.16.10.0\",\"rangeEnd\":\"172.16.10.255\"}");
        assertEquals("172.16.10.0", first(d, 0));
        assertEquals("172.16.10.255", last(d, 0));
        assertEquals(BigInteger.valueOf(256), d.size());
        assertEquals(16, d.rangeSets().getFirst().ranges().getFirst().subnet().prefix());
    }

    @Test
    void seedRoutesAreEchoed() {
        PoolDefinition d = parse("{\"type\":\"host-local\",\"subnet\":\"192.168.100.0/24\",\"routes\":[{\"dst\":\"192.168.200.0/24\",\"gw\":\"192.168.100.1\"},{\"dst\":\"192.168.201.0/24\",\"gw\":\"192.168.100.1\"}]}");
        assertEquals(List.of(new Route("192.168.200.0/24", "192.168.100.1"), new Route("192.168.201.0/24", "192.168.100.1")), d.routes());
    }

    // ---- host-local

    @Test
    void hostLocalRangesGiveOneAddressPerRangeSetAndLegacySubnetComesFirst() {
        PoolDefinition d = parse("{\"type\":\"host-local\",\"subnet\":\"10.0.0.0/24\",\"ranges\":[[{\"subnet\":\"fd00::/64\"}],[{\"subnet\":\"10.1.0.0/30\"},{\"subnet\":\"10.2.0.0/24\",\"rangeStart\":\"10.2.0.50\"}]]}");
        assertEquals(3, d.rangeSets().size());
        assertEquals("10.0.0.2", first(d, 0));
        assertEquals("fd00::2", first(d, 1));
        assertEquals("fd00::ffff:ffff:ffff:ffff", last(d, 1)); // host-local keeps IPv6 all-ones
        assertEquals(BigInteger.ONE.shiftLeft(64).subtract(BigInteger.TWO), d.rangeSets().get(1).size());
        assertEquals("10.1.0.2", first(d, 2)); // /30: .1 gateway, .2 only host
        assertEquals("10.2.0.50", d.rangeSets().get(2).addressAt(BigInteger.ONE).toString()); // then the next range of the set
    }

    @Test
    void hostLocalSkipsAGatewayInsideTheRange() {
        PoolDefinition d = parse("{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.9\",\"rangeEnd\":\"10.0.0.11\",\"gateway\":\"10.0.0.10\"}]]}");
        RangeSet s = d.rangeSets().getFirst();
        assertEquals(BigInteger.TWO, s.size());
        assertEquals("10.0.0.11", s.addressAt(BigInteger.ONE).toString());
        assertNull(s.ordinalOf(Address.parseOrNull("10.0.0.10")));
        assertEquals(BigInteger.ONE, s.ordinalOf(Address.parseOrNull("10.0.0.11")));
    }

    @Test
    void hostLocalRejectsWithFieldAndValue() {
        assertEquals("ipam.subnet: \"10.0.0.0/33\" has a prefix length beyond the 32 bits of an IPv4 address", rejection("{\"type\":\"host-local\",\"subnet\":\"10.0.0.0/33\"}"));
        assertEquals("ipam.subnet: \"10.0.0.5/24\" has host bits set; the network is 10.0.0.0/24", rejection("{\"type\":\"host-local\",\"subnet\":\"10.0.0.5/24\"}"));
        assertTrue(rejection("{\"type\":\"host-local\",\"subnet\":\"10.0.0.0/31\"}").contains("too small to hold a host"));
        assertTrue(rejection("{\"type\":\"host-local\",\"subnet\":\"fd00::/127\"}").contains("too small to hold a host"));
        assertEquals("ipam.rangeStart: \"10.0.1.1\" is not in 10.0.0.0/24", rejection("{\"type\":\"host-local\",\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.1.1\"}"));
        assertEquals("ipam.rangeEnd: \"10.0.0.300\" has a part that is empty or above 255", rejection("{\"type\":\"host-local\",\"subnet\":\"10.0.0.0/24\",\"rangeEnd\":\"10.0.0.300\"}"));
        assertTrue(rejection("{\"type\":\"host-local\",\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.9\",\"rangeEnd\":\"10.0.0.8\"}").startsWith("ipam.rangeStart: \"10.0.0.9\" is after"));
        assertTrue(rejection("{\"type\":\"host-local\",\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.1\",\"rangeEnd\":\"10.0.0.1\"}").contains("too small to hold a host"));
        assertEquals("ipam.ranges[0][0].subnet: missing", rejection("{\"type\":\"host-local\",\"ranges\":[[{\"rangeStart\":\"10.0.0.1\"}]]}"));
        assertTrue(rejection("{\"type\":\"host-local\"}").startsWith("ipam.ranges: missing"));
        assertTrue(rejection("{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.0.0.0/24\"}],[{\"subnet\":\"10.0.0.0/25\"}]]}").contains("overlaps"));
        assertEquals("ipam.routes[0].dst: \"nowhere\" is not an IP address (host names are never resolved)", rejection("{\"type\":\"host-local\",\"subnet\":\"10.0.0.0/24\",\"routes\":[{\"dst\":\"nowhere\"}]}"));
        assertEquals("ipam.dns.nameservers[0]: \"dns.local\" is not an IP address (host names are never resolved)", rejection("{\"type\":\"host-local\",\"subnet\":\"10.0.0.0/24\",\"dns\":{\"nameservers\":[\"dns.local\"]}}"));
        assertEquals("ipam.subnet: 24 is not a string", rejection("{\"type\":\"host-local\",\"subnet\":24}"));
    }

    @Test
    void hostLocalWarnsWhereItHandsOutNetworkOrBroadcast() {
        PoolDefinition d = parse("{\"type\":\"host-local\",\"subnet\":\"10.0.0.0/24\",\"rangeStart\":\"10.0.0.0\",\"rangeEnd\":\"10.0.0.255\",\"gateway\":\"10.0.0.254\"}");
        assertEquals("10.0.0.0", first(d, 0));
        assertEquals("10.0.0.255", last(d, 0));
        assertEquals(2, d.warnings().size());
    }

    @Test
    void unknownOrMissingTypeIsRejected() {
        assertEquals("ipam.type: \"dhcp\" is not supported (host-local, whereabouts, static)", rejection("{\"type\":\"dhcp\"}"));
        assertEquals("ipam.type: missing", rejection("{\"subnet\":\"10.0.0.0/24\"}"));
    }

    // ---- whereabouts

    @Test
    void whereaboutsNeverGivesNetworkOrBroadcastAndStartsAtTheLowest() {
        PoolDefinition d = parse("{\"type\":\"whereabouts\",\"range\":\"192.168.2.0/24\"}");
        assertEquals("192.168.2.1", first(d, 0));
        assertEquals("192.168.2.254", last(d, 0));
        assertEquals(BigInteger.valueOf(254), d.size());
        PoolDefinition v6 = parse("{\"type\":\"whereabouts\",\"range\":\"2001:db8::/64\"}");
        assertEquals("2001:db8::1", first(v6, 0));
        assertEquals("2001:db8::ffff:ffff:ffff:fffe", last(v6, 0));
        assertEquals(BigInteger.ONE.shiftLeft(64).subtract(BigInteger.TWO), v6.size());
    }

    @Test
    void whereaboutsDashFormAndExplicitBoundsAreInclusive() {
        PoolDefinition d = parse("{\"type\":\"whereabouts\",\"range\":\"192.168.2.225-192.168.2.230/28\"}");
        assertEquals("192.168.2.225", first(d, 0));
        assertEquals("192.168.2.230", last(d, 0));
        assertEquals(28, d.rangeSets().getFirst().ranges().getFirst().subnet().prefix());
        PoolDefinition e = parse("{\"type\":\"whereabouts\",\"range\":\"10.0.0.0/29\",\"range_start\":\"10.0.0.0\",\"range_end\":\"10.0.0.7\"}");
        assertEquals("10.0.0.1", first(e, 0)); // bounds at the edges: network and broadcast still skipped
        assertEquals("10.0.0.6", last(e, 0));
    }

    @Test
    void whereaboutsExclusionsOverlappingEachOtherAndTheEdges() {
        PoolDefinition d = parse("{\"type\":\"whereabouts\",\"range\":\"10.0.0.0/24\",\"range_start\":\"10.0.0.10\",\"range_end\":\"10.0.0.40\","
                + "\"exclude\":[\"10.0.0.0/29\",\"10.0.0.8/29\",\"10.0.0.12/30\",\"10.0.0.20\",\"10.0.0.32/27\",\"10.0.0.30/31\"]}");
        // eligible: 10.0.0.16..19, 10.0.0.21..29
        RangeSet s = d.rangeSets().getFirst();
        assertEquals(BigInteger.valueOf(13), s.size());
        assertEquals("10.0.0.16", first(d, 0));
        assertEquals("10.0.0.21", s.addressAt(BigInteger.valueOf(4)).toString());
        assertEquals("10.0.0.29", last(d, 0));
        assertNull(s.ordinalOf(Address.parseOrNull("10.0.0.20")));
        assertEquals(BigInteger.valueOf(4), s.ordinalOf(Address.parseOrNull("10.0.0.21")));
    }

    @Test
    void whereaboutsGatewayIsNotHandedOut() {
        PoolDefinition d = parse("{\"type\":\"whereabouts\",\"range\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1\"}");
        assertEquals("10.0.0.2", first(d, 0));
    }

    @Test
    void whereaboutsDualStackIpRangesGiveOneAddressEach() {
        PoolDefinition d = parse("{\"type\":\"whereabouts\",\"ipRanges\":[{\"range\":\"10.0.0.0/24\"},{\"range\":\"fd00:10::/64\",\"exclude\":[\"fd00:10::/120\"]}]}");
        assertEquals(2, d.rangeSets().size());
        assertEquals("10.0.0.1", first(d, 0));
        assertEquals("fd00:10::100", first(d, 1));
    }

    @Test
    void whereaboutsLargePoolsNeedNoMaterialization() {
        PoolDefinition d = parse("{\"type\":\"whereabouts\",\"range\":\"10.0.0.0/8\",\"exclude\":[\"10.0.0.0/16\"]}");
        assertEquals(BigInteger.valueOf((1 << 24) - 2 - 65536 + 1), d.size());
        assertEquals("10.1.0.0", first(d, 0));
        assertEquals("10.255.255.254", last(d, 0));
    }

    @Test
    void whereaboutsRejectsWithFieldAndValue() {
        assertEquals("ipam.range: \"10.0.0.0/33\" has a prefix length beyond the 32 bits of an IPv4 address", rejection("{\"type\":\"whereabouts\",\"range\":\"10.0.0.0/33\"}"));
        assertTrue(rejection("{\"type\":\"whereabouts\",\"range\":\"10.0.0.0/31\"}").startsWith("ipam.range: \"10.0.0.0/31\" is too small to hold a host"));
        assertTrue(rejection("{\"type\":\"whereabouts\",\"range\":\"10.0.0.1/32\"}").contains("too small to hold a host"));
        assertEquals("ipam.exclude[0]: \"ten\" is not an IP address (host names are never resolved)", rejection("{\"type\":\"whereabouts\",\"range\":\"10.0.0.0/24\",\"exclude\":[\"ten\"]}"));
        assertTrue(rejection("{\"type\":\"whereabouts\",\"range\":\"10.0.0.0/30\",\"exclude\":[\"10.0.0.0/30\"]}").contains("too small to hold a host"));
        assertEquals("ipam.range_start: \"10.0.1.0\" is not in 10.0.0.0/24", rejection("{\"type\":\"whereabouts\",\"range\":\"10.0.0.0/24\",\"range_start\":\"10.0.1.0\"}"));
        assertEquals("ipam.ipRanges[0].range: missing", rejection("{\"type\":\"whereabouts\",\"ipRanges\":[{}]}"));
        assertTrue(rejection("{\"type\":\"whereabouts\"}").startsWith("ipam.range: missing"));
        assertEquals("ipam.enable_overlapping_ranges: \"yes\" is not a boolean", rejection("{\"type\":\"whereabouts\",\"range\":\"10.0.0.0/24\",\"enable_overlapping_ranges\":\"yes\"}"));
        assertTrue(rejection("{\"type\":\"whereabouts\",\"range\":\"10.0.0.9-10.0.1.3/24\"}").contains("starts outside"));
    }

    @Test
    void whereaboutsHostBitsAreWarnedAndIgnored() {
        PoolDefinition d = parse("{\"type\":\"whereabouts\",\"range\":\"10.0.0.7/24\"}");
        assertEquals("10.0.0.1", first(d, 0));
        assertEquals(1, d.warnings().size());
    }

    // ---- static

    @Test
    void staticAddressesAreValidatedAndEchoed() {
        PoolDefinition d = parse("{\"type\":\"static\",\"addresses\":[{\"address\":\"10.10.0.1/24\",\"gateway\":\"10.10.0.254\"},{\"address\":\"3ffe:ffff:0:01ff::1/64\"}],\"dns\":{\"nameservers\":[\"8.8.8.8\"]}}");
        assertFalse(d.hasPool());
        assertEquals(List.of(new StaticAddress("10.10.0.1/24", "10.10.0.254"), new StaticAddress("3ffe:ffff:0:1ff::1/64", null)), d.addresses());
        assertEquals("ipam.addresses[0].address: \"10.10.0.1\" has no prefix length (expected address/length, e.g. 10.1.2.3/24)",
                rejection("{\"type\":\"static\",\"addresses\":[{\"address\":\"10.10.0.1\"}]}"));
    }

    // ---- static requests and pool keys

    @Test
    void staticRequestsMustBeInsideTheSubnetAndNotReserved() {
        PoolDefinition d = parse("{\"type\":\"host-local\",\"subnet\":\"192.168.1.0/24\",\"rangeStart\":\"192.168.1.200\",\"rangeEnd\":\"192.168.1.250\",\"gateway\":\"192.168.1.1\"}");
        List<PoolDefinition.Placement> p = d.placeStatic(List.of("192.168.1.100/24"), "p");
        assertEquals("192.168.1.100", p.getFirst().address().toString());
        assertNull(p.getFirst().ordinal()); // outside the dynamic range: granted, but not on the ordinal line
        assertEquals(BigInteger.ZERO, d.placeStatic(List.of("192.168.1.200"), "p").getFirst().ordinal());
        IpamException gw = assertThrows(IpamException.class, () -> d.placeStatic(List.of("192.168.1.1"), "p"));
        assertEquals("ips[0]: \"192.168.1.1\" is the gateway of 192.168.1.0/24 in pool \"p\"", gw.getMessage());
        assertTrue(assertThrows(IpamException.class, () -> d.placeStatic(List.of("10.0.0.1"), "p")).getMessage().startsWith("ips[0]: \"10.0.0.1\" is not inside pool \"p\""));
        assertTrue(assertThrows(IpamException.class, () -> d.placeStatic(List.of("192.168.1.100/16"), "p")).getMessage().contains("prefix length 16"));
        assertTrue(assertThrows(IpamException.class, () -> d.placeStatic(List.of("192.168.1.255"), "p")).getMessage().contains("broadcast"));
        assertTrue(assertThrows(IpamException.class, () -> d.placeStatic(List.of("192.168.1.7", "192.168.1.8"), "p")).getMessage().contains("second address"));
    }

    @Test
    void poolKeySharedBySameEligibleRangesAndByNetworkName() {
        PoolDefinition hostLocal = parse("{\"type\":\"host-local\",\"subnet\":\"10.20.0.0/24\"}");
        PoolDefinition sameRanges = parse("{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.20.0.0/24\",\"gateway\":\"10.20.0.1\"}]],\"routes\":[{\"dst\":\"0.0.0.0/0\"}]}");
        assertEquals(hostLocal.derivedPoolName("c1"), sameRanges.derivedPoolName("c1"));
        assertNotEquals(hostLocal.derivedPoolName("c1"), hostLocal.derivedPoolName("c2"));
        PoolDefinition a = parse("{\"type\":\"whereabouts\",\"range\":\"10.30.0.0/24\",\"network_name\":\"blue\"}");
        PoolDefinition b = parse("{\"type\":\"whereabouts\",\"range\":\"10.30.0.0/24\",\"network_name\":\"green\"}");
        PoolDefinition a2 = parse("{\"type\":\"whereabouts\",\"range\":\"10.30.0.0/24\",\"network_name\":\"blue\",\"gateway\":\"10.30.0.254\"}");
        assertNotEquals(a.derivedPoolName("c1"), b.derivedPoolName("c1"));
        assertTrue(a.derivedPoolName("c1").startsWith("blue-"));
        assertNotEquals(a.derivedPoolName("c1"), a2.derivedPoolName("c1")); // different eligible set: the gateway is skipped
    }

    @Test
    void networkNameIsReadForEveryTypeAndKeysOnlyWhereaboutsPools() {
        PoolDefinition plain = parse("{\"type\":\"host-local\",\"subnet\":\"10.20.0.0/24\"}");
        PoolDefinition named = parse("{\"type\":\"host-local\",\"subnet\":\"10.20.0.0/24\",\"network_name\":\"blue\"}");
        assertEquals("blue", named.networkName());
        // host-local has no network_name of its own: its derived pool stays the one it always was
        assertEquals(plain.derivedPoolName("c1"), named.derivedPoolName("c1"));
        assertEquals("blue", parse("{\"type\":\"static\",\"network_name\":\"blue\",\"addresses\":[{\"address\":\"10.1.0.5/24\"}]}").networkName());
        assertNull(parse("{\"type\":\"whereabouts\",\"range\":\"10.30.0.0/24\",\"network_name\":\" \"}").networkName());
        assertEquals("ipam.network_name: 7 is not a string", rejection("{\"type\":\"host-local\",\"subnet\":\"10.20.0.0/24\",\"network_name\":7}"));
    }

    @Test
    void aSectionWithoutRangesIsReadOnlyWhenItHasANetworkNameAndItsPoolMustGiveThem() {
        assertEquals("ipam.range: missing (whereabouts needs \"range\" or \"ipRanges\")", rejection("{\"type\":\"whereabouts\"}"));
        PoolDefinition d = parse("{\"type\":\"whereabouts\",\"network_name\":\"shared\"}");
        assertTrue(d.rangeSets().isEmpty());
        IpamException e = assertThrows(IpamException.class, d::requireRanges);
        assertEquals("ipam.range: missing (whereabouts needs \"range\" or \"ipRanges\", or a network_name that names a global pool: there is no global pool \"shared\")", e.getMessage());
        assertTrue(assertThrows(IpamException.class, parse("{\"type\":\"host-local\",\"network_name\":\"shared\"}")::requireRanges).getMessage()
                .startsWith("ipam.ranges: missing (host-local needs \"ranges\" or \"subnet\", or a network_name"));
    }

    @Test
    void rangesThatDifferFromAPoolAreNamedWithTheirEligibleAddresses() {
        PoolDefinition pool = parse("{\"type\":\"whereabouts\",\"range\":\"10.40.0.0/24\",\"exclude\":[\"10.40.0.10\"]}");
        // another syntax for the same eligible addresses is no difference
        assertNull(parse("{\"type\":\"whereabouts\",\"range\":\"10.40.0.0/24\",\"exclude\":[\"10.40.0.10/32\"],\"routes\":[{\"dst\":\"0.0.0.0/0\"}]}").rangesDifferFrom(pool));
        assertEquals("range set 0: the pool gives 10.40.0.0/24: 10.40.0.1-10.40.0.9, 10.40.0.11-10.40.0.254, this section 10.40.0.0/25: 10.40.0.1-10.40.0.126",
                parse("{\"type\":\"whereabouts\",\"range\":\"10.40.0.0/25\"}").rangesDifferFrom(pool));
        assertEquals("the pool has 1 range set(s) (10.40.0.0/24: 10.40.0.1-10.40.0.9, 10.40.0.11-10.40.0.254), this section 2 "
                        + "(10.40.0.0/24: 10.40.0.1-10.40.0.254; fd00:40::/120: fd00:40::1-fd00:40::fe)",
                parse("{\"type\":\"whereabouts\",\"ipRanges\":[{\"range\":\"10.40.0.0/24\"},{\"range\":\"fd00:40::/120\"}]}").rangesDifferFrom(pool));
    }

    // ---- static segments

    @Test
    void aStaticSegmentIsTheNetworkNameElseTheNadWithinTheOwnersCluster() {
        PoolDefinition named = parse("{\"type\":\"static\",\"network_name\":\"Storage Net\",\"addresses\":[{\"address\":\"10.1.0.5/24\"}]}");
        PoolDefinition unnamed = parse("{\"type\":\"static\",\"addresses\":[{\"address\":\"10.1.0.5/24\"}]}");
        StaticSegment a = StaticSegment.of(named, "default/nad-a", "c1");
        assertEquals(a, StaticSegment.of(named, "other/nad-b", "c1")); // two NADs of one network_name: one segment
        assertTrue(a.pool().startsWith("static-storage-net-"), a.pool());
        assertEquals(Map.of("type", "static", "network_name", "Storage Net"), a.ipam());
        assertNotEquals(a.pool(), StaticSegment.of(named, "default/nad-a", "c2").pool());
        StaticSegment byNad = StaticSegment.of(unnamed, "default/nad-a", "c1");
        assertTrue(byNad.pool().startsWith("static-default-nad-a-"), byNad.pool());
        assertNotEquals(byNad.pool(), StaticSegment.of(unnamed, "default/nad-b", "c1").pool());
        assertNotEquals(byNad.pool(), StaticSegment.of(parse("{\"type\":\"static\",\"network_name\":\"default/nad-a\"}"), "x/y", "c1").pool());
        assertTrue(assertThrows(IpamException.class, () -> StaticSegment.of(unnamed, null, "c1")).getMessage().startsWith("network: missing"));
    }

    @Test
    void aSegmentIsAskedOneAddressPerFamilyEachWithItsPrefixLength() {
        PoolDefinition dual = parse("{\"type\":\"static\",\"addresses\":[{\"address\":\"10.1.0.5/24\",\"gateway\":\"10.1.0.1\"},{\"address\":\"fd00:1::5/64\"}]}");
        List<StaticSegment.Wanted> w = StaticSegment.wanted(dual, null, "seg");
        assertEquals(List.of(StaticSegment.IPV4, StaticSegment.IPV6), w.stream().map(StaticSegment.Wanted::rangeSet).toList());
        Lease l = StaticSegment.lease("seg", w, dual, true);
        assertEquals(List.of("10.1.0.5/24", "fd00:1::5/64"), l.ips());
        assertEquals(List.of("10.1.0.1"), l.gateways());
        // the annotation's ips replace the addresses, and need a prefix length each
        assertEquals(List.of("10.1.0.9/16"), StaticSegment.lease("seg", StaticSegment.wanted(dual, List.of("10.1.0.9/16"), "seg"), dual, true).ips());
        assertEquals("ips[0]: \"10.1.0.9\" needs a prefix length with static ipam (e.g. 10.1.2.3/24)",
                assertThrows(IpamException.class, () -> StaticSegment.wanted(dual, List.of("10.1.0.9"), "seg")).getMessage());
        assertEquals("ipam.addresses[1].address: \"10.1.0.6/24\" is a second IPv4 address for the interface, after ipam.addresses[0].address \"10.1.0.5/24\": "
                        + "static segment \"seg\" holds one IPv4 and one IPv6 address per interface",
                assertThrows(IpamException.class, () -> StaticSegment.wanted(parse("{\"type\":\"static\",\"addresses\":[{\"address\":\"10.1.0.5/24\"},{\"address\":\"10.1.0.6/24\"}]}"), null, "seg")).getMessage());
        assertEquals("ipam.addresses: missing", assertThrows(IpamException.class, () -> StaticSegment.wanted(parse("{\"type\":\"static\"}"), null, "seg")).getMessage());
    }
}
