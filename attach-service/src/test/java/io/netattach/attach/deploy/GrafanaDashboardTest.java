package io.netattach.attach.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

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

    @Test
    void panelsOverMetricsNotYetExportedSaySoInTheirTitle() throws IOException {
        for (JsonNode panel : dashboard().get("panels")) {
            if (!panel.has("targets")) continue;
            String title = panel.get("title").asText();
            boolean custom = false;
            for (JsonNode target : panel.get("targets")) custom |= target.get("expr").asText().contains("netattach_");
            assertEquals(custom, title.endsWith("(when exported)"), title);
        }
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
