package io.netattach.node.netlink.addr;

import io.netattach.ip.IpLiteralTable;
import io.netattach.ip.IpLiteralTable.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.Inet6Address;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** node-worker's parsers give the verdicts of the suite's one table (ipam-service/src/ip-literals/test/resources/ip-literals.tsv). */
class IpLiteralTableTest {

    static List<Row> rows() {
        return IpLiteralTable.rows();
    }

    @ParameterizedTest
    @MethodSource("rows")
    void aGatewayIsJudgedAsInEveryService(Row row) {
        judged(row, row.asAddress(), "gateways[0]", () -> IpPrefix.parseAddress("gateways[0]", row.input()));
    }

    @ParameterizedTest
    @MethodSource("rows")
    void anInterfaceAddressIsJudgedAsInEveryService(Row row) {
        judged(row, row.asCidr(), "ips[0]", () -> IpPrefix.parse("ips[0]", row.input()));
    }

    @Test
    void aNameThatWouldResolveIsRefusedWithoutALookup() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IpPrefix.parseAddress("routes[0].gw", "localhost"));
        assertEquals("routes[0].gw: \"localhost\" is not an IP address (host names are never resolved)", e.getMessage());
    }

    @Test
    void anIpv4MappedAddressIsConfiguredAsIpv6() {
        assertInstanceOf(Inet6Address.class, IpPrefix.parseAddress("gateways[0]", "::ffff:10.0.0.1"));
        IpPrefix p = IpPrefix.parse("ips[0]", "::ffff:10.0.0.1/120");
        assertFalse(p.v4());
        assertEquals(16, p.address().getAddress().length);
    }

    private static void judged(Row row, boolean accepted, String field, Runnable parse) {
        if (accepted) {
            parse.run();
            return;
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, parse::run, row.toString());
        assertTrue(e.getMessage().startsWith(field + ": \"" + row.input() + "\" "), e.getMessage());
        if (row.refusalWords() != null) assertTrue(e.getMessage().contains(row.refusalWords()), e.getMessage());
    }
}
