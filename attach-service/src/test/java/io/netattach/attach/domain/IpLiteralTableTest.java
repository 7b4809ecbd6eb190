package io.netattach.attach.domain;

import io.netattach.ip.IpLiteralTable;
import io.netattach.ip.IpLiteralTable.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The annotation parser gives the verdicts of the suite's one table (ipam-service/src/ip-literals/test/resources/ip-literals.tsv). */
class IpLiteralTableTest {

    static List<Row> rows() {
        return IpLiteralTable.rows();
    }

    @ParameterizedTest
    @MethodSource("rows")
    void anIpsEntryIsJudgedAsInEveryService(Row row) throws Exception {
        judged(row, row.asAddressOrCidr(), "\"ips\"", "[{\"name\":\"a\",\"ips\":[\"" + row.input() + "\"]}]");
    }

    @ParameterizedTest
    @MethodSource("rows")
    void aDefaultRouteGatewayIsJudgedAsInEveryService(Row row) throws Exception {
        judged(row, row.asAddress(), "\"default-route\"", "[{\"name\":\"a\",\"default-route\":[\"" + row.input() + "\"]}]");
    }

    @Test
    void aNameThatWouldResolveIsRefusedWithoutALookup() {
        InvalidSelectionException e = assertThrows(InvalidSelectionException.class,
                () -> NetworkSelectionParser.parse("[{\"name\":\"a\",\"ips\":[\"localhost\"]}]", "default"));
        assertTrue(e.getMessage().endsWith(": \"ips\" entry \"localhost\" is not an IP address (host names are never resolved)"), e.getMessage());
    }

    private static void judged(Row row, boolean accepted, String field, String annotation) throws Exception {
        if (accepted) {
            NetworkSelectionParser.parse(annotation, "default");
            return;
        }
        InvalidSelectionException e = assertThrows(InvalidSelectionException.class, () -> NetworkSelectionParser.parse(annotation, "default"), row.toString());
        assertTrue(e.getMessage().contains(field + " entry \"" + row.input() + "\" "), e.getMessage());
        if (row.refusalWords() != null) assertTrue(e.getMessage().contains(row.refusalWords()), e.getMessage());
    }
}
