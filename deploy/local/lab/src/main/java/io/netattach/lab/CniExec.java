package io.netattach.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** One CNI plugin call as a container runtime makes it: CNI_* environment, the config on stdin, no shell. */
final class CniExec {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a sandbox is to a plugin call. */
    record Target(String containerId, Path netns, String ifName, String podNamespace, String podName, String podUid) {
    }

    private CniExec() {
    }

    /** Runs the plugin in the calling thread's network namespace; its stdout as JSON (empty object if none). */
    static JsonNode exec(List<Path> cniPath, String type, String command, Target t, JsonNode conf) throws IOException, InterruptedException {
        Path binary = cniPath.stream().map(d -> d.resolve(type)).filter(Files::isExecutable).findFirst()
                .orElseThrow(() -> new IOException("CNI plugin \"" + type + "\" not found in " + cniPath));
        ProcessBuilder pb = new ProcessBuilder(binary.toString());
        Map<String, String> env = pb.environment();
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", t.containerId());
        env.put("CNI_NETNS", t.netns().toString());
        env.put("CNI_IFNAME", t.ifName());
        env.put("CNI_PATH", String.join(":", cniPath.stream().map(Path::toString).toList()));
        env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + t.podNamespace() + ";K8S_POD_NAME=" + t.podName()
                + ";K8S_POD_INFRA_CONTAINER_ID=" + t.containerId() + ";K8S_POD_UID=" + t.podUid());
        Process p = pb.start();
        try {
            p.getOutputStream().write(JSON.writeValueAsBytes(conf));
            p.getOutputStream().close();
        } catch (IOException e) {
            // a plugin may answer without reading stdin (VERSION) and be gone already: its exit code tells
        }
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(type + " " + command + " did not finish within 120 s");
        }
        String stdout = new String(out, StandardCharsets.UTF_8).trim();
        if (p.exitValue() != 0) {
            throw new IOException(type + " " + command + " exited " + p.exitValue() + ": " + stdout + " " + new String(err, StandardCharsets.UTF_8).trim());
        }
        return stdout.isEmpty() ? JSON.createObjectNode() : JSON.readTree(stdout);
    }
}
