package io.netattach.attach.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static java.util.stream.Collectors.toMap;

/** The markdown tables of docs/operations.md that follow a `<!-- marker: ... -->` comment, as rows of cells by header. */
final class OperationsDocTables {
    private OperationsDocTables() {
    }

    static List<Map<String, String>> table(String marker) {
        List<String> lines;
        try {
            lines = Files.readAllLines(RenderedManifests.repoRoot().resolve("docs/operations.md"));
        } catch (IOException e) {
            throw new AssertionError("cannot read docs/operations.md: " + e.getMessage(), e);
        }
        int at = IntStream.range(0, lines.size()).filter(i -> lines.get(i).startsWith("<!-- " + marker + ":")).findFirst()
                .orElseThrow(() -> new AssertionError("docs/operations.md has no table marked <!-- " + marker + ": ... -->"));
        List<String> header = cells(lines.get(at + 1));
        List<Map<String, String>> rows = new ArrayList<>();
        for (int i = at + 3; i < lines.size() && lines.get(i).startsWith("|"); i++) {
            List<String> row = cells(lines.get(i));
            if (row.size() != header.size()) throw new AssertionError("docs/operations.md line " + (i + 1) + " has " + row.size() + " cells, header " + header.size());
            rows.add(IntStream.range(0, header.size()).boxed().collect(toMap(header::get, row::get)));
        }
        if (rows.isEmpty()) throw new AssertionError("table " + marker + " in docs/operations.md is empty");
        return rows;
    }

    private static List<String> cells(String line) {
        String inner = line.strip();
        inner = inner.substring(1, inner.length() - 1);
        return Arrays.stream(inner.split("\\|")).map(String::strip).toList();
    }

    /** "NET_ADMIN, SYS_ADMIN" or "none" as a list. */
    static List<String> list(String cell) {
        return "none".equals(cell) ? List.of() : Arrays.stream(cell.split(",")).map(String::strip).sorted().toList();
    }
}
