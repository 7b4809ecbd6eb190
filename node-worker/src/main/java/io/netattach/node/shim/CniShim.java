package io.netattach.node.shim;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The netattach CNI plugin, chained after the cluster's primary CNI. It forwards the runtime's request
 * (CNI_* environment and the stdin config) to the local node-worker over its unix socket, prints what the
 * worker answers and exits with its code. JDK only, so its jar runs without the service's classpath.
 * The socket is the config's "socketPath", else NETATTACH_NODE_SOCKET, else /run/netattach/node.sock.
 */
public final class CniShim {
    static final String DEFAULT_SOCKET = "/run/netattach/node.sock";
    private static final Pattern SOCKET_PATH = Pattern.compile("\"socketPath\"\\s*:\\s*\"([^\"\\\\]+)\"");
    private static final Pattern CNI_VERSION = Pattern.compile("\"cniVersion\"\\s*:\\s*\"([0-9.]+)\"");
    private static final Pattern RESPONSE = Pattern.compile("\\{\"exit\":(\\d+),\"stdout\":(.*)\\}\\s*", Pattern.DOTALL);
    private static final long TIMEOUT_MS = 120_000;

    private CniShim() {}

    public static void main(String[] args) throws IOException {
        System.exit(run(System.getenv(), System.in, System.out));
    }

    static int run(Map<String, String> env, InputStream stdin, PrintStream stdout) throws IOException {
        String command = env.getOrDefault("CNI_COMMAND", "");
        if (command.equals("VERSION")) {
            stdout.println("{\"cniVersion\":\"1.1.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}");
            return 0;
        }
        String config = new String(stdin.readAllBytes(), StandardCharsets.UTF_8).trim();
        Matcher v = CNI_VERSION.matcher(config);
        String cniVersion = v.find() ? v.group(1) : "1.0.0";
        Map<String, String> k8s = cniArgs(env.getOrDefault("CNI_ARGS", ""));
        Matcher sp = SOCKET_PATH.matcher(config);
        String socket = sp.find() ? sp.group(1) : env.getOrDefault("NETATTACH_NODE_SOCKET", DEFAULT_SOCKET);

        String request = "{\"command\":" + quote(command)
                + ",\"containerId\":" + quote(env.getOrDefault("CNI_CONTAINERID", ""))
                + ",\"netns\":" + quote(env.getOrDefault("CNI_NETNS", ""))
                + ",\"ifName\":" + quote(env.getOrDefault("CNI_IFNAME", ""))
                + ",\"pod\":{\"namespace\":" + quote(k8s.getOrDefault("K8S_POD_NAMESPACE", ""))
                + ",\"name\":" + quote(k8s.getOrDefault("K8S_POD_NAME", ""))
                + ",\"uid\":" + quote(k8s.getOrDefault("K8S_POD_UID", "")) + "}"
                + ",\"config\":" + (config.isEmpty() ? "null" : config) + "}";

        // The worker bounds its own wait; this is only a last resort against a wedged worker.
        Thread watchdog = Thread.ofPlatform().daemon(true).start(() -> {
            try {
                Thread.sleep(TIMEOUT_MS);
                stdout.println(error(cniVersion, 11, "netattach: node-worker did not answer within " + TIMEOUT_MS / 1000 + " s", socket));
                stdout.flush();
                Runtime.getRuntime().halt(1);
            } catch (InterruptedException ignored) {
                // answered in time
            }
        });
        String response;
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(Path.of(socket)));
            OutputStream out = Channels.newOutputStream(ch);
            out.write((request.replace("\n", " ") + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            response = new String(Channels.newInputStream(ch).readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            watchdog.interrupt();
            if (command.equals("DEL")) {
                // Nothing to undo without the worker; the pod's interfaces go with its namespace.
                System.err.println("netattach: node-worker not reachable at " + socket + " on DEL: " + e.getMessage());
                return 0;
            }
            stdout.println(error(cniVersion, 11, "netattach: node-worker not reachable at " + socket, e.getMessage()));
            return 1;
        }
        watchdog.interrupt();
        Matcher m = RESPONSE.matcher(response.trim());
        if (!m.matches()) {
            stdout.println(error(cniVersion, 999, "netattach: unexpected answer from node-worker", response.trim()));
            return 1;
        }
        String body = m.group(2).trim();
        if (!body.equals("null")) stdout.println(body);
        return Integer.parseInt(m.group(1));
    }

    /** CNI_ARGS: "K1=V1;K2=V2". */
    static Map<String, String> cniArgs(String s) {
        Map<String, String> out = new HashMap<>();
        for (String kv : s.split(";")) {
            int eq = kv.indexOf('=');
            if (eq > 0) out.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
        }
        return out;
    }

    static String error(String cniVersion, int code, String msg, String details) {
        return "{\"cniVersion\":" + quote(cniVersion) + ",\"code\":" + code + ",\"msg\":" + quote(msg)
                + (details == null ? "" : ",\"details\":" + quote(details)) + "}";
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }
}
