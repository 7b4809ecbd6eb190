package io.netattach.attach.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * deploy/images/node-worker/cni-install.sh, the node-worker init step, run on scratch directories that stand
 * in for a node's /opt/cni/bin and /etc/cni/net.d.
 */
class CniChainInstallTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String FLANNEL = """
            {"name":"cbr0","cniVersion":"0.3.1","plugins":[{"type":"flannel","delegate":{"hairpinMode":true}},
             {"type":"portmap","capabilities":{"portMappings":true}}]}""";

    @TempDir Path node;
    private Path binDir;
    private Path confDir;
    private Path shim;

    record Run(int exit, String stderr) {
    }

    @BeforeEach
    void node() throws IOException {
        assumeTrue(onPath("jq") && onPath("sh"), "jq and sh are needed to run cni-install.sh");
        binDir = Files.createDirectories(node.resolve("opt/cni/bin"));
        confDir = Files.createDirectories(node.resolve("etc/cni/net.d"));
        shim = node.resolve("image/netattach-shim");
        Files.createDirectories(shim.getParent());
        Files.writeString(shim, "#!/bin/sh\necho shim\n");
    }

    @Test
    void installCopiesTheShimAndAppendsItLastToThePrimaryConflist() throws Exception {
        Files.writeString(confDir.resolve("10-flannel.conflist"), FLANNEL);
        Run run = run("install");
        assertEquals(0, run.exit(), run.stderr());
        assertEquals(List.of("flannel", "portmap", "netattach-shim"), types(confDir.resolve("10-flannel.conflist")));
        assertEquals(Files.readString(shim), Files.readString(binDir.resolve("netattach-shim")));
        assertTrue(Files.isExecutable(binDir.resolve("netattach-shim")));
        JsonNode conf = JSON.readTree(confDir.resolve("10-flannel.conflist").toFile());
        assertEquals("cbr0", conf.get("name").asText(), "the rest of the conflist is kept");
        assertTrue(conf.get("plugins").get(0).get("delegate").get("hairpinMode").asBoolean());
    }

    @Test
    void installingAgainKeepsOneShimEntryAndMovesAStaleOneToTheEnd() throws Exception {
        Files.writeString(confDir.resolve("10-flannel.conflist"), """
                {"name":"cbr0","cniVersion":"0.3.1","plugins":[{"type":"netattach-shim","old":true},{"type":"flannel"}]}""");
        assertEquals(0, run("install").exit());
        assertEquals(0, run("install").exit());
        assertEquals(List.of("flannel", "netattach-shim"), types(confDir.resolve("10-flannel.conflist")));
        assertFalse(JSON.readTree(confDir.resolve("10-flannel.conflist").toFile()).get("plugins").get(1).has("old"));
    }

    @Test
    void onlyTheConfigTheRuntimeUsesIsChained() throws Exception {
        Files.writeString(confDir.resolve("10-flannel.conflist"), FLANNEL);
        Files.writeString(confDir.resolve("99-other.conflist"), """
                {"name":"other","cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}""");
        assertEquals(0, run("install").exit());
        assertEquals(List.of("bridge"), types(confDir.resolve("99-other.conflist")));
        assertEquals("netattach-shim", types(confDir.resolve("10-flannel.conflist")).getLast());
        try (Stream<Path> files = Files.list(confDir)) {
            assertEquals(List.of("10-flannel.conflist", "99-other.conflist"),
                    files.map(p -> p.getFileName().toString()).sorted().toList(), "no temporary file is left behind");
        }
    }

    @Test
    void uninstallRemovesTheShimFromEveryConflistAndDeletesTheBinary() throws Exception {
        Files.writeString(confDir.resolve("10-flannel.conflist"), FLANNEL);
        assertEquals(0, run("install").exit());
        Files.writeString(confDir.resolve("20-copy.conflist"), """
                {"name":"copy","cniVersion":"1.0.0","plugins":[{"type":"bridge"},{"type":"netattach-shim"}]}""");
        Run run = run("uninstall");
        assertEquals(0, run.exit(), run.stderr());
        assertEquals(List.of("flannel", "portmap"), types(confDir.resolve("10-flannel.conflist")));
        assertEquals(List.of("bridge"), types(confDir.resolve("20-copy.conflist")));
        assertFalse(Files.exists(binDir.resolve("netattach-shim")));
        assertEquals(0, run("uninstall").exit(), "uninstalling twice is fine");
    }

    @Test
    void aSinglePluginConfThatTheRuntimeWouldPickIsRefusedWithItsName() throws Exception {
        String conf = """
                {"name":"calico","cniVersion":"0.3.1","type":"calico"}""";
        Files.writeString(confDir.resolve("05-calico.conf"), conf);
        Files.writeString(confDir.resolve("10-flannel.conflist"), FLANNEL);
        Run run = run("install");
        assertNotEquals(0, run.exit());
        assertTrue(run.stderr().contains("05-calico.conf") && run.stderr().contains("not a .conflist"), run.stderr());
        assertEquals(conf, Files.readString(confDir.resolve("05-calico.conf")), "left untouched");
        assertEquals(List.of("flannel", "portmap"), types(confDir.resolve("10-flannel.conflist")), "not chained behind the runtime's back");
    }

    @Test
    void aNodeWithoutAnyCniConfigFailsAfterTheWaitWithAClearMessage() throws Exception {
        Run run = run("install", Map.of("CNI_WAIT_SECONDS", "0"));
        assertNotEquals(0, run.exit());
        assertTrue(run.stderr().contains("no CNI configuration in " + confDir), run.stderr());
    }

    private Run run(String action) throws Exception {
        return run(action, Map.of());
    }

    private Run run(String action, Map<String, String> extraEnv) throws Exception {
        Path script = RenderedManifests.repoRoot().resolve("deploy/images/node-worker/cni-install.sh");
        Path err = node.resolve("stderr-" + System.nanoTime());
        ProcessBuilder pb = new ProcessBuilder("sh", script.toString(), action)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(err.toFile());
        pb.environment().put("CNI_BIN_DIR", binDir.toString());
        pb.environment().put("CNI_CONF_DIR", confDir.toString());
        pb.environment().put("SHIM_SOURCE", shim.toString());
        pb.environment().putAll(extraEnv);
        Process p = pb.start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("cni-install " + action + " did not finish within 30 s");
        }
        return new Run(p.exitValue(), Files.readString(err, StandardCharsets.UTF_8));
    }

    private static List<String> types(Path conflist) throws IOException {
        List<String> types = new ArrayList<>();
        JSON.readTree(conflist.toFile()).get("plugins").forEach(p -> types.add(p.get("type").asText()));
        return types;
    }

    private static boolean onPath(String command) {
        return Stream.of(System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator))
                .anyMatch(d -> Files.isExecutable(Path.of(d, command)));
    }
}
