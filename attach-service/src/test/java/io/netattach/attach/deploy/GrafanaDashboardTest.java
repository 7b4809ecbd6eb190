package io.netattach.attach.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** deploy/grafana/netattach-dashboard.json: importable, and honest about metrics that do not exist yet. */
class GrafanaDashboardTest {

    private static JsonNode dashboard() throws IOException {
        return new ObjectMapper().readTree(RenderedManifests.repoRoot().resolve("deploy/grafana/netattach-dashboard.json").toFile());
    }

    @Test
    void everyChartQueriesPrometheusThroughTheDatasourceVariableAndTheNamespaceFilter() throws IOException {
        JsonNode d = dashboard();
        List<String> variables = new ArrayList<>();
        d.get("templating").get("list").forEach(v -> variables.add(v.get("name").asText()));
        assertEquals(List.of("datasource", "namespace", "job"), variables);
        int charts = 0;
        for (JsonNode panel : d.get("panels")) {
            if ("row".equals(panel.get("type").asText())) continue;
            charts++;
            String title = panel.get("title").asText();
            assertEquals("${datasource}", panel.get("datasource").get("uid").asText(), title);
            assertFalse(panel.get("targets").isEmpty(), title);
            for (JsonNode target : panel.get("targets")) {
                String expr = target.get("expr").asText();
                assertTrue(expr.contains("namespace=~\"$namespace\""), title + ": " + expr);
            }
        }
        assertTrue(charts >= 10, "charts: " + charts);
    }

    /**
     * A panel over netattach_* metrics either says "(when exported)" or charts only metrics that a service
     * registers with Micrometer (counter/timer/gauge named "netattach.x.y" in some src/main/java). A marked
     * panel whose metric has since appeared is merely stale; an unmarked one over a missing metric is a lie.
     */
    @Test
    void panelsOverCustomMetricsChartOnlyExportedOnesOrSaySo() throws IOException {
        Set<String> exported = exportedCustomMetrics();
        int custom = 0;
        for (JsonNode panel : dashboard().get("panels")) {
            if (!panel.has("targets")) continue;
            String title = panel.get("title").asText();
            Set<String> used = new TreeSet<>();
            for (JsonNode target : panel.get("targets")) {
                Matcher m = PROMETHEUS_CUSTOM.matcher(target.get("expr").asText());
                while (m.find()) used.add(m.group(1));
            }
            if (used.isEmpty()) continue;
            custom++;
            if (title.endsWith("(when exported)")) continue;
            assertTrue(exported.containsAll(used), "panel \"" + title + "\" charts " + used + " but the services export only "
                    + exported + ": mark it \"(when exported)\"");
        }
        assertTrue(custom > 0, "the dashboard has netattach_* panels");
    }

    private static final Pattern PROMETHEUS_CUSTOM = Pattern.compile("\\b(netattach_[a-z0-9_]+?)(_total|_seconds_count|_seconds_sum|_seconds_max|_seconds|_count|_sum|_max)?\\b");
    private static final Pattern MICROMETER_CUSTOM = Pattern.compile("(?:counter|timer|gauge|summary|builder)\\(\\s*\"(netattach\\.[a-z0-9_.]+)\"");

    /** Base names (netattach_policy_decisions) of the metrics registered in the services' main sources. */
    private static Set<String> exportedCustomMetrics() throws IOException {
        Set<String> names = new TreeSet<>();
        Path root = RenderedManifests.repoRoot();
        for (String service : List.of("ipam-service", "policy-service", "attach-service", "node-worker")) {
            Path sources = root.resolve(service).resolve("src/main/java");
            if (!Files.isDirectory(sources)) continue;
            try (Stream<Path> files = Files.walk(sources)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    Matcher m = MICROMETER_CUSTOM.matcher(Files.readString(f));
                    while (m.find()) names.add(m.group(1).replace('.', '_'));
                }
            }
        }
        return names;
    }

    @Test
    void panelIdsAndPositionsAreUnique() throws IOException {
        List<Integer> ids = new ArrayList<>();
        List<String> positions = new ArrayList<>();
        for (JsonNode panel : dashboard().get("panels")) {
            ids.add(panel.get("id").asInt());
            JsonNode g = panel.get("gridPos");
            positions.add(g.get("x").asInt() + "," + g.get("y").asInt());
        }
        assertEquals(ids.size(), ids.stream().distinct().count(), "ids " + ids);
        assertEquals(positions.size(), positions.stream().distinct().count(), "positions " + positions);
    }
}
