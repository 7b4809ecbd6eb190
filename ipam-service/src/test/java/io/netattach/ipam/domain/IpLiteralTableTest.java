package io.netattach.ipam.domain;

import io.netattach.ip.IpLiteralTable;
import io.netattach.ip.IpLiteralTable.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** IPAM's parsers give the verdicts of the suite's one table (ipam-service/src/ip-literals/test/resources/ip-literals.tsv). */
class IpLiteralTableTest {

    static List<Row> rows() {
        return IpLiteralTable.rows();
    }

    @ParameterizedTest
    @MethodSource("rows")
    void aBareAddressIsJudgedAsInEveryService(Row row) {
        judged(row, row.asAddress(), "ipam.gateway", () -> Address.parse("ipam.gateway", row.input()));
        assertEquals(row.asAddress(), Address.parseOrNull(row.input()) != null);
    }

    @ParameterizedTest
    @MethodSource("rows")
    void aCidrIsJudgedAsInEveryService(Row row) {
        judged(row, row.asCidr(), "ipam.range", () -> Cidr.parse("ipam.range", row.input()));
        assertEquals(row.asCidr(), Cidr.parseOrNull(row.input()) != null);
    }

    @ParameterizedTest
    @MethodSource("rows")
    void anAddressOrCidrIsJudgedAsInEveryService(Row row) {
        judged(row, row.asAddressOrCidr(), "ipam.exclude[0]", () -> Cidr.parseAddressOrCidr("ipam.exclude[0]", row.input()));
    }

    @Test
    void aNameThatWouldResolveIsRefusedWithoutALookup() {
        assertNull(Address.parseOrNull("localhost"));
        IpamException e = assertThrows(IpamException.class, () -> Address.parse("ipam.dns.nameservers[0]", "localhost"));
        assertEquals("ipam.dns.nameservers[0]: \"localhost\" is not an IP address (host names are never resolved)", e.getMessage());
    }

    @Test
    void anIpv4MappedAddressStaysIpv6() {
        assertEquals(128, Address.parse("ipam.gateway", "::ffff:10.0.0.1").bits());
    }

    private static void judged(Row row, boolean accepted, String field, Supplier<?> parse) {
        if (accepted) {
            parse.get();
            return;
        }
        IpamException e = assertThrows(IpamException.class, parse::get, row.toString());
        assertTrue(e.getMessage().startsWith(field + ": \"" + row.input() + "\" "), e.getMessage());
        if (row.refusalWords() != null) assertTrue(e.getMessage().contains(row.refusalWords()), e.getMessage());
    }
}
