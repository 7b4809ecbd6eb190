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
 * deploy/images/node-worker/cni-install.sh, node-worker's init step and chain keeper, run against scratch
 * directories standing in for a node's /opt/cni/bin and /etc/cni/net.d, with a stand-in shim executable
 * that reports how it was launched.
 */
class CniChainInstallTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String FLANNEL = """
            {"name":"cbr0","cniVersion":"0.3.1","plugins":[{"type":"flannel","delegate":{"hairpinMode":true}},
             {"type":"portmap","capabilities":{"portMappings":true}}]}""";

    @TempDir Path node;
    private Path binDir;
    private Path confDir;
    private Path image;

    record Run(int exit, String stdout, String stderr) {
    }

    @BeforeEach
    void node() throws IOException {
        assumeTrue(onPath("jq") && onPath("sh") && onPath("diff"), "jq, sh and diff are needed to run cni-install.sh");
        binDir = Files.createDirectories(node.resolve("opt/cni/bin"));
        confDir = Files.createDirectories(node.resolve("etc/cni/net.d"));
        // What the image ships under /opt/netattach/shim: the shim executable (here a script that says hello).
        image = Files.createDirectories(node.resolve("image/opt/netattach/shim"));
        Files.writeString(image.resolve("netattach-shim"), "#!/bin/sh\necho \"shim v1 command=$CNI_COMMAND\"\n");
        assertTrue(image.resolve("netattach-shim").toFile().setExecutable(true));
    }

    @Test
    void installCopiesTheShimAndAppendsItLastToThePrimaryConflist() throws Exception {
        Files.writeString(confDir.resolve("10-flannel.conflist"), FLANNEL);
        Run run = run("install");
        assertEquals(0, run.exit(), run.stderr());
        assertEquals(List.of("flannel", "portmap", "netattach-shim"), types(confDir.resolve("10-flannel.conflist")));
        JsonNode conf = JSON.readTree(confDir.resolve("10-flannel.conflist").toFile());
        assertEquals("cbr0", conf.get("name").asText(), "the rest of the conflist is kept");
        assertTrue(conf.get("plugins").get(0).get("delegate").get("hairpinMode").asBoolean());
        assertEquals(Files.readString(image.resolve("netattach-shim")), Files.readString(binDir.resolve("netattach-shim")));
    }

    @Test
    void anImageWithoutTheShimFailsTheInstallByPathAndChainsNothing() throws Exception {
        Files.writeString(confDir.resolve("10-flannel.conflist"), FLANNEL);
        Files.delete(image.resolve("netattach-shim"));
        Run run = run("install");
        assertNotEquals(0, run.exit());
        assertTrue(run.stderr().contains("shim not found at " + image.resolve("netattach-shim")), run.stderr());
        assertEquals(List.of("flannel", "portmap"), types(confDir.resolve("10-flannel.conflist")), "a chain without its plugin would fail every pod");
        assertFalse(Files.exists(binDir.resolve("netattach-shim")));
    }

    @Test
    void theRuntimeRunsTheShimFromTheCniBinDir() throws Exception {
        Files.writeString(confDir.resolve("10-flannel.conflist"), FLANNEL);
        assertEquals(0, run("install").exit());
        Path shim = binDir.resolve("netattach-shim");
        assertTrue(Files.isExecutable(shim));
        // As a container runtime would: exec the plugin by its path with the CNI_* environment.
        ProcessBuilder pb = new ProcessBuilder(shim.toString()).redirectErrorStream(true);
        pb.environment().put("CNI_COMMAND", "VERSION");
        Process p = pb.start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertEquals("shim v1 command=VERSION", out);
    }

    @Test
    void installingAgainKeepsOneShimEntryMovesAStaleOneToTheEndAndUpdatesChangedFiles() throws Exception {
        Files.writeString(confDir.resolve("10-flannel.conflist"), """
                {"name":"cbr0","cniVersion":"0.3.1","plugins":[{"type":"netattach-shim","old":true},{"type":"flannel"}]}""");
        assertEquals(0, run("install").exit());
        Files.writeString(image.resolve("netattach-shim"), "#!/bin/sh\necho \"shim v2\"\n");
        assertEquals(0, run("install").exit());
        assertEquals(List.of("flannel", "netattach-shim"), types(confDir.resolve("10-flannel.conflist")));
        assertFalse(JSON.readTree(confDir.resolve("10-flannel.conflist").toFile()).get("plugins").get(1).has("old"));
        assertEquals(Files.readString(image.resolve("netattach-shim")), Files.readString(binDir.resolve("netattach-shim")), "the newer shim replaced the old");
        assertTrue(Files.isExecutable(binDir.resolve("netattach-shim")));
        assertEquals(List.of(), leftovers(), "no temporary file is left behind");
    }

    @Test
    void onlyTheConfigTheRuntimeUsesIsChained() throws Exception {
        Files.writeString(confDir.resolve("10-flannel.conflist"), FLANNEL);
        Files.writeString(confDir.resolve("99-other.conflist"), """
                {"name":"other","cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}""");
        assertEquals(0, run("install").exit());
        assertEquals(List.of("bridge"), types(confDir.resolve("99-other.conflist")));
        assertEquals("netattach-shim", types(confDir.resolve("10-flannel.conflist")).getLast());
        assertEquals(List.of(), leftovers());
    }

    @Test
    void theKeeperReChainsAfterThePrimaryCniRewroteItsConflist() throws Exception {
        Files.writeString(confDir.resolve("10-flannel.conflist"), FLANNEL);
        assertEquals(0, run("install").exit());
        Files.writeString(confDir.resolve("10-flannel.conflist"), FLANNEL); // the primary CNI's agent restarted
        assertEquals(0, run("check").exit());
        assertEquals(List.of("flannel", "portmap", "netattach-shim"), types(confDir.resolve("10-flannel.conflist")));
    }

    @Test
    void uninstallRemovesEverythingAndStopsTheKeeperUntilTheMarkerIsCleared() throws Exception {
        Files.writeString(confDir.resolve("10-flannel.conflist"), FLANNEL);
        assertEquals(0, run("install").exit());
        Files.writeString(confDir.resolve("20-copy.conflist"), """
                {"name":"copy","cniVersion":"1.0.0","plugins":[{"type":"bridge"},{"type":"netattach-shim"}]}""");
        Run run = run("uninstall");
        assertEquals(0, run.exit(), run.stderr());
        assertEquals(List.of("flannel", "portmap"), types(confDir.resolve("10-flannel.conflist")));
        assertEquals(List.of("bridge"), types(confDir.resolve("20-copy.conflist")));
        assertFalse(Files.exists(binDir.resolve("netattach-shim")));

        assertEquals(0, run("check").exit());
        assertEquals(List.of("flannel", "portmap"), types(confDir.resolve("10-flannel.conflist")), "the keeper must not undo an uninstall");
        assertEquals(0, run("uninstall").exit(), "uninstalling twice is fine");

        assertEquals(0, run("clear-marker").exit());
        assertEquals(List.of(), leftovers());
        assertEquals(0, run("check").exit());
        assertEquals("netattach-shim", types(confDir.resolve("10-flannel.conflist")).getLast());
    }

    @Test
    void installAfterAnUninstallChainsAgain() throws Exception {
        Files.writeString(confDir.resolve("10-flannel.conflist"), FLANNEL);
        assertEquals(0, run("install").exit());
        assertEquals(0, run("uninstall").exit());
        assertEquals(0, run("install").exit());
        assertEquals("netattach-shim", types(confDir.resolve("10-flannel.conflist")).getLast());
        assertFalse(Files.exists(confDir.resolve(".netattach-uninstalled")));
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

    @Test
    void anUnknownActionIsRefusedByName() throws Exception {
        Run run = run("reinstall");
        assertNotEquals(0, run.exit());
        assertTrue(run.stderr().contains("unknown action \"reinstall\""), run.stderr());
    }

    private Run run(String action) throws Exception {
        return run(action, Map.of());
    }

    private Run run(String action, Map<String, String> extraEnv) throws Exception {
        Path script = RenderedManifests.repoRoot().resolve("deploy/images/node-worker/cni-install.sh");
        Path out = node.resolve("stdout-" + System.nanoTime());
        Path err = node.resolve("stderr-" + System.nanoTime());
        ProcessBuilder pb = new ProcessBuilder("sh", script.toString(), action)
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        pb.environment().put("CNI_BIN_DIR", binDir.toString());
        pb.environment().put("CNI_CONF_DIR", confDir.toString());
        pb.environment().put("SHIM_SOURCE_DIR", image.toString());
        pb.environment().putAll(extraEnv);
        Process p = pb.start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("cni-install " + action + " did not finish within 30 s");
        }
        Run run = new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        Files.delete(out);
        Files.delete(err);
        return run;
    }

    /** Temporary or marker files the installer may leave in the node's directories. */
    private List<String> leftovers() throws IOException {
        List<String> found = new ArrayList<>();
        for (Path dir : List.of(binDir, confDir)) {
            if (!Files.isDirectory(dir)) continue;
            try (Stream<Path> files = Files.list(dir)) {
                files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith(".")).forEach(found::add);
            }
        }
        return found;
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
