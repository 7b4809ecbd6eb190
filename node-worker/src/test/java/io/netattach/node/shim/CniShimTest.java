package io.netattach.node.shim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CNI shim executable (src/main/shim/netattach-shim.c, built to target/netattach-shim), run as a container
 * runtime runs it, against a stand-in worker socket that records the request line and answers what a test
 * tells it to. The whole path against a real node-worker is in NodeWorkerTest.
 */
class CniShimTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path SHIM = Path.of("target/netattach-shim").toAbsolutePath();

    @TempDir Path dir;
    private Path socket;
    private ServerSocketChannel server;

    record Exec(int exit, String stdout, String stderr) {}

    @BeforeEach
    void listen() throws Exception {
        socket = dir.resolve("node.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
    }

    @AfterEach
    void close() throws Exception {
        server.close();
    }

    /** Serves one connection: returns the request line, answers {@code response}. */
    private CompletableFuture<String> answerOnce(String response) {
        return CompletableFuture.supplyAsync(() -> {
            try (SocketChannel c = server.accept()) {
                String line = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8)).readLine();
                c.write(ByteBuffer.wrap((response + "\n").getBytes(StandardCharsets.UTF_8)));
                return line;
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
    }

    private Exec run(Map<String, String> env, String stdin) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(SHIM.toString());
        pb.environment().clear();
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the shim exits");
        return new Exec(p.exitValue(), out, err.get(30, TimeUnit.SECONDS));
    }

    private static Map<String, String> env(String command) {
        Map<String, String> env = new HashMap<>();
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", "c0ffee");
        env.put("CNI_NETNS", "/var/run/netns/pod");
        env.put("CNI_IFNAME", "eth0");
        env.put("CNI_PATH", "/opt/cni/bin");
        env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_UID=1234-abcd");
        return env;
    }

    private String config(String version) {
        return """
                {"cniVersion": "%s", "name": "k8s-pod-network", "type": "netattach-shim",
                 "socketPath": "%s",
                 "prevResult": {"cniVersion": "%s", "ips": [{"address": "10.244.1.5/24"}]}}
                """.formatted(version, socket, version);
    }

    @Test
    void forwardsTheRuntimesRequestAsOneJsonLineAndPrintsTheWorkersAnswer() throws Exception {
        CompletableFuture<String> request = answerOnce("{\"exit\":0,\"stdout\":{\"cniVersion\":\"1.0.0\",\"ips\":[]}}");
        Exec add = run(env("ADD"), config("1.0.0"));
        assertEquals(0, add.exit(), add.stdout() + add.stderr());
        assertEquals("{\"cniVersion\":\"1.0.0\",\"ips\":[]}\n", add.stdout());

        JsonNode req = JSON.readTree(request.get(30, TimeUnit.SECONDS));
        assertEquals("ADD", req.get("command").asText());
        assertEquals("c0ffee", req.get("containerId").asText());
        assertEquals("/var/run/netns/pod", req.get("netns").asText());
        assertEquals("eth0", req.get("ifName").asText());
        assertEquals(JSON.readTree("{\"namespace\":\"default\",\"name\":\"web-0\",\"uid\":\"1234-abcd\"}"), req.get("pod"));
        assertEquals(JSON.readTree(config("1.0.0")), req.get("config"), "the config reaches the worker unchanged");
    }

    @Test
    void runtimeStringsAreJsonQuotedNeverInterpreted() throws Exception {
        CompletableFuture<String> request = answerOnce("{\"exit\":0,\"stdout\":null}");
        Map<String, String> env = env("ADD");
        String hostile = "a\"b\\c\td\u0001e ünï \"},\"command\":\"DEL";
        env.put("CNI_CONTAINERID", hostile);
        env.put("CNI_ARGS", "K8S_POD_NAMESPACE= default ;K8S_POD_NAME=" + hostile + ";K8S_POD_UID=u");
        Exec add = run(env, config("1.0.0"));
        assertEquals(0, add.exit());
        assertEquals("", add.stdout(), "a null answer prints nothing");
        JsonNode req = JSON.readTree(request.get(30, TimeUnit.SECONDS));
        assertEquals("ADD", req.get("command").asText());
        assertEquals(hostile, req.get("containerId").asText());
        assertEquals(hostile, req.at("/pod/name").asText());
        assertEquals("default", req.at("/pod/namespace").asText(), "CNI_ARGS values are trimmed");
    }

    @Test
    void exitsWithTheWorkersCode() throws Exception {
        answerOnce("{\"exit\":7,\"stdout\":{\"cniVersion\":\"0.4.0\",\"code\":7,\"msg\":\"no\"}}");
        Exec add = run(env("ADD"), config("0.4.0"));
        assertEquals(7, add.exit());
        assertEquals(7, JSON.readTree(add.stdout()).get("code").asInt());
    }

    @Test
    void anUnexpectedAnswerIsACniErrorThatQuotesIt() throws Exception {
        answerOnce("garbage \"quoted\"");
        Exec add = run(env("ADD"), config("0.4.0"));
        assertEquals(1, add.exit());
        JsonNode err = JSON.readTree(add.stdout());
        assertEquals("0.4.0", err.get("cniVersion").asText(), "the error speaks the config's CNI version");
        assertEquals(999, err.get("code").asInt());
        assertEquals("garbage \"quoted\"", err.get("details").asText());
    }

    @Test
    void aWorkerThatIsNotThereFailsAddWithTheSocketButLetsDelSucceed() throws Exception {
        server.close();
        java.nio.file.Files.deleteIfExists(socket);
        Exec add = run(env("ADD"), config("1.1.0"));
        assertEquals(1, add.exit());
        JsonNode err = JSON.readTree(add.stdout());
        assertEquals(11, err.get("code").asInt());
        assertEquals("netattach: node-worker not reachable at " + socket, err.get("msg").asText());
        assertEquals("No such file or directory", err.get("details").asText());

        Exec del = run(env("DEL"), config("1.1.0"));
        assertEquals(0, del.exit(), "DEL without the worker: nothing to undo");
        assertEquals("", del.stdout());
        assertTrue(del.stderr().contains("not reachable at " + socket), del.stderr());
    }

    @Test
    void theSocketComesFromTheConfigElseFromTheEnvironment() throws Exception {
        CompletableFuture<String> request = answerOnce("{\"exit\":0,\"stdout\":null}");
        Map<String, String> env = env("CHECK");
        env.put("NETATTACH_NODE_SOCKET", socket.toString());
        Exec check = run(env, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"netattach-shim\"}");
        assertEquals(0, check.exit(), check.stdout());
        assertEquals("CHECK", JSON.readTree(request.get(30, TimeUnit.SECONDS)).get("command").asText());

        env.put("NETATTACH_NODE_SOCKET", dir.resolve("elsewhere.sock").toString());
        CompletableFuture<String> second = answerOnce("{\"exit\":0,\"stdout\":null}");
        assertEquals(0, run(env, config("1.0.0")).exit(), "the config's socketPath wins");
        assertEquals("CHECK", JSON.readTree(second.get(30, TimeUnit.SECONDS)).get("command").asText());
    }

    @Test
    void versionNeedsNoWorker() throws Exception {
        server.close();
        Exec v = run(Map.of("CNI_COMMAND", "VERSION"), "");
        assertEquals(0, v.exit());
        JsonNode out = JSON.readTree(v.stdout());
        assertEquals("1.1.0", out.get("cniVersion").asText());
        assertEquals(5, out.get("supportedVersions").size());
    }
}
