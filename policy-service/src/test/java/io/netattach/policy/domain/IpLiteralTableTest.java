package io.netattach.policy.domain;

import io.netattach.ip.IpLiteralTable;
import io.netattach.ip.IpLiteralTable.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The policy service's parsers give the verdicts of the suite's one table (ipam-service/src/ip-literals/test/resources/ip-literals.tsv). */
class IpLiteralTableTest {

    static List<Row> rows() {
        return IpLiteralTable.rows();
    }

    @ParameterizedTest
    @MethodSource("rows")
    void aDefaultRouteGatewayIsJudgedAsInEveryService(Row row) {
        judged(row, row.asAddress(), "selections[0].defaultRoute", () -> Cidr.parseAddress("selections[0].defaultRoute", row.input()));
    }

    @ParameterizedTest
    @MethodSource("rows")
    void aStaticIpOrAllowedCidrIsJudgedAsInEveryService(Row row) {
        judged(row, row.asAddressOrCidr(), "selections[0].ips", () -> Cidr.parse("selections[0].ips", row.input()));
    }

    @Test
    void aNameThatWouldResolveIsRefusedWithoutALookup() {
        InvalidRequest e = assertThrows(InvalidRequest.class, () -> Cidr.parse("selections[0].ips", "localhost"));
        assertEquals("selections[0].ips: \"localhost\" is not an IP address (host names are never resolved)", e.getMessage());
    }

    @Test
    void anIpv4MappedAddressIsIpv6SoAnIpv4CidrDoesNotHoldIt() {
        assertFalse(Cidr.parse("staticIPs.cidrs", "10.0.0.0/8").contains(Cidr.parse("ips", "::ffff:10.0.0.1")));
        assertTrue(Cidr.parse("staticIPs.cidrs", "::ffff:10.0.0.0/104").contains(Cidr.parse("ips", "::ffff:10.0.0.1")));
    }

    private static void judged(Row row, boolean accepted, String field, Runnable parse) {
        if (accepted) {
            parse.run();
            return;
        }
        InvalidRequest e = assertThrows(InvalidRequest.class, parse::run, row.toString());
        assertTrue(e.getMessage().startsWith(field + ": \"" + row.input() + "\" "), e.getMessage());
        if (row.refusalWords() != null) assertTrue(e.getMessage().contains(row.refusalWords()), e.getMessage());
    }
}
