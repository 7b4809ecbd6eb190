package io.netattach.ip;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** The shared table ip-literals.tsv: each service's tests run their own parsers over it. */
public final class IpLiteralTable {

    /**
     * One input and its verdicts. {@code refusalWords} is what the error for a bad literal says (null where the
     * literal itself is good and only its form, bare or with a length, decides).
     */
    public record Row(String input, boolean asAddress, boolean asCidr, String refusalWords) {
        public boolean asAddressOrCidr() { return asAddress || asCidr; }

        @Override
        public String toString() { return "\"" + input + "\""; }
    }

    private IpLiteralTable() {
    }

    public static List<Row> rows() {
        var in = IpLiteralTable.class.getResourceAsStream("/ip-literals.tsv");
        if (in == null) throw new IllegalStateException("ip-literals.tsv is not on the test class path");
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            return r.lines().filter(l -> !l.isBlank() && !l.startsWith("#")).map(IpLiteralTable::row).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Row row(String line) {
        String[] f = line.split("\t", -1);
        if (f.length != 4 || !f[0].startsWith("\"") || !f[0].endsWith("\"")) throw new IllegalStateException("bad row in ip-literals.tsv: " + line);
        return new Row(f[0].substring(1, f[0].length() - 1), verdict(f[1], line), verdict(f[2], line), f[3].equals("-") ? null : f[3]);
    }

    private static boolean verdict(String v, String line) {
        return switch (v) {
            case "accepted" -> true;
            case "refused" -> false;
            default -> throw new IllegalStateException("verdict must be accepted or refused in ip-literals.tsv: " + line);
        };
    }
}
