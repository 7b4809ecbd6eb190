package io.netattach.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netattach.node.domain.Commands;
import io.netattach.node.domain.PodNetworks;
import io.netattach.node.domain.PodRef;
import org.jboss.logging.Logger;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Optional;

/**
 * The sandbox API for the CNI shim, on a unix socket. One request per connection, one JSON line each way:
 * request {@code {"command":"ADD|DEL|CHECK","containerId","netns","ifName","pod":{namespace,name,uid},"config":{...}}},
 * response {@code {"exit":N,"stdout":<what the shim prints, or null>}} (members always in this order).
 */
public final class SandboxSocket implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(SandboxSocket.class);
    private static final int MAX_REQUEST = 1 << 20;

    private final Path path;
    private final PodNetworks pods;
    private final ObjectMapper json;
    private final Duration wait;
    private final ServerSocketChannel server;
    private final Thread acceptor;
    private volatile boolean running = true;

    public SandboxSocket(Path path, PodNetworks pods, ObjectMapper json, Duration wait) throws IOException {
        this.path = path;
        this.pods = pods;
        this.json = json;
        this.wait = wait;
        Files.createDirectories(path.toAbsolutePath().getParent());
        Files.deleteIfExists(path); // a stale socket of a previous run
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        // A node may start hundreds of pods at once; the default backlog (50) refuses the rest with EAGAIN.
        server.bind(UnixDomainSocketAddress.of(path), 4096);
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        acceptor = Thread.ofPlatform().name("netattach-sandbox-socket").daemon(true).start(this::accept);
        LOG.infof("sandbox API listening on %s", path);
    }

    private void accept() {
        while (running) {
            try {
                SocketChannel c = server.accept();
                Thread.ofVirtual().name("sandbox-request").start(() -> serve(c));
            } catch (IOException e) {
                if (running) LOG.warnf("sandbox socket accept failed: %s", e.getMessage());
            }
        }
    }

    private void serve(SocketChannel c) {
        try (c; BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
             OutputStream out = Channels.newOutputStream(c)) {
            String line = in.readLine();
            String response;
            if (line == null || line.length() > MAX_REQUEST) {
                response = reply(1, cniError("1.0.0", 4, "netattach: empty or oversized request", null));
            } else {
                response = handle(line);
            }
            out.write((response + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            LOG.warnf("sandbox socket request failed: %s", e.getMessage());
        }
    }

    String handle(String line) {
        JsonNode req;
        try {
            req = json.readTree(line);
        } catch (IOException e) {
            return reply(1, cniError("1.0.0", 6, "netattach: request is not JSON", e.getMessage()));
        }
        JsonNode config = req.path("config");
        String cniVersion = config.path("cniVersion").asText("1.0.0");
        String command = req.path("command").asText("");
        String netns = req.path("netns").asText("");
        String containerId = req.path("containerId").asText("");
        JsonNode p = req.path("pod");
        String uid = p.path("uid").asText("");
        if (!config.isObject()) return reply(1, cniError(cniVersion, 6, "netattach: the network configuration on stdin is not a JSON object", null));
        if (uid.isEmpty()) {
            // Not a Kubernetes pod (no K8S_POD_UID in CNI_ARGS): nothing of ours to do; pass the chain through.
            return command.equals("ADD") ? reply(0, passThrough(config, cniVersion)) : reply(0, null);
        }
        PodRef pod = new PodRef(p.path("namespace").asText(""), p.path("name").asText(""), uid);
        try {
            return switch (command) {
                case "ADD" -> {
                    if (netns.isEmpty()) yield reply(1, cniError(cniVersion, 4, "netattach: CNI_NETNS is empty", null));
                    Optional<Commands.Result> done = pods.register(new Commands.Sandbox(pod, containerId, netns));
                    Optional<Commands.Result> r = done.isPresent() ? done : pods.awaitAttachments(uid, wait);
                    if (r.isPresent() && !r.get().ok()) {
                        yield reply(1, cniError(cniVersion, 999, "netattach: attaching the networks of pod " + pod.subject() + " failed",
                                r.get().errorMessage()));
                    }
                    if (r.isEmpty()) LOG.infof("no attach for pod %s within %s; sandbox %s registered, interfaces will be hot-plugged", pod.subject(), wait, netns);
                    yield reply(0, passThrough(config, cniVersion));
                }
                case "DEL" -> {
                    pods.unregister(pod, containerId, netns.isEmpty() ? null : netns);
                    yield reply(0, null);
                }
                case "CHECK" -> {
                    Optional<Commands.Sandbox> sb = pods.sandbox(uid);
                    if (sb.isEmpty()) yield reply(1, cniError(cniVersion, 999, "netattach: sandbox of pod " + pod.subject() + " is not registered", null));
                    pods.inspect(sb.get());
                    yield reply(0, null);
                }
                default -> reply(1, cniError(cniVersion, 4, "netattach: unsupported CNI_COMMAND \"" + command + "\"", null));
            };
        } catch (RuntimeException e) {
            LOG.warnf(e, "sandbox %s %s failed", command, pod.subject());
            return reply(1, cniError(cniVersion, 999, "netattach: " + command + " for pod " + pod.subject() + " failed", e.getMessage()));
        }
    }

    /** A chained plugin outputs the previous plugin's result unchanged; with none, a minimal result of its version. */
    private JsonNode passThrough(JsonNode config, String cniVersion) {
        JsonNode prev = config.get("prevResult");
        if (prev != null && prev.isObject()) {
            ObjectNode r = ((ObjectNode) prev).deepCopy();
            r.put("cniVersion", cniVersion);
            return r;
        }
        return json.createObjectNode().put("cniVersion", cniVersion);
    }

    private JsonNode cniError(String cniVersion, int code, String msg, String details) {
        ObjectNode e = json.createObjectNode().put("cniVersion", cniVersion).put("code", code).put("msg", msg);
        if (details != null) e.put("details", details);
        return e;
    }

    private String reply(int exit, JsonNode stdout) {
        return "{\"exit\":" + exit + ",\"stdout\":" + (stdout == null ? "null" : stdout.toString()) + "}";
    }

    @Override
    public void close() {
        running = false;
        try {
            server.close();
            acceptor.join(5_000);
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.warnf("closing sandbox socket %s: %s", path, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
