package io.netattach.node.cni;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netattach.node.domain.AttachException;
import io.netattach.node.domain.AttachmentRequest;
import io.netattach.node.domain.PodRef;
import io.netattach.node.domain.RouteRequest;
import io.netattach.node.netlink.ns.NamespaceThread;
import io.netattach.node.netlink.ns.Netns;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Runs CNI plugin binaries per the CNI spec for the types we do not build in: CNI_* environment, the network
 * config on stdin with runtimeConfig (ips, mac, portMappings, bandwidth) and prevResult, conflists plugin by
 * plugin (DEL in reverse). Addresses come from ipam-service as a {@code static} IPAM section; no plugin ever
 * allocates. The binary is executed directly (no shell), from the node's namespace.
 */
public final class CniPlugins {
    private static final Pattern TYPE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final long TIMEOUT_S = 60;

    private final Path pluginDir;
    private final NamespaceThread nsThread;
    private final Netns node;
    private final ObjectMapper json = new ObjectMapper();

    public CniPlugins(Path pluginDir, NamespaceThread nsThread, Netns node) {
        this.pluginDir = pluginDir;
        this.nsThread = nsThread;
        this.node = node;
    }

    /** The plugin configs to run, in order: the config itself, or each of a conflist's plugins. */
    private List<ObjectNode> plugins(AttachmentRequest r) {
        ObjectNode conf = json.valueToTree(r.cniConfig());
        List<ObjectNode> out = new ArrayList<>();
        String version = conf.path("cniVersion").asText("1.0.0");
        String name = conf.path("name").asText(r.network());
        if (conf.has("plugins")) {
            for (JsonNode p : conf.get("plugins")) {
                ObjectNode pc = ((ObjectNode) p).deepCopy();
                pc.put("cniVersion", version);
                pc.put("name", name);
                out.add(pc);
            }
        } else {
            conf.put("cniVersion", version);
            conf.put("name", name);
            out.add(conf);
        }
        if (out.isEmpty()) throw new AttachException("Invalid", "network " + r.network() + ": cniConfig.plugins is empty");
        return out;
    }

    private void prepare(ObjectNode pc, AttachmentRequest r) {
        if (pc.has("ipam") && pc.get("ipam").isObject() && !pc.get("ipam").isEmpty()) {
            ObjectNode ipam = json.createObjectNode().put("type", "static");
            ArrayNode addrs = ipam.putArray("addresses");
            for (String ip : r.ips()) {
                ObjectNode a = addrs.addObject().put("address", ip);
                boolean v4 = !ip.contains(":");
                r.gateways().stream().filter(g -> g.contains(":") != v4).findFirst().ifPresent(g -> a.put("gateway", g));
            }
            ArrayNode routes = ipam.putArray("routes");
            for (RouteRequest rt : r.routes()) {
                boolean isDefault = rt.dst().endsWith("/0");
                if (isDefault && !r.defaultRoute()) continue;
                ObjectNode o = routes.addObject().put("dst", rt.dst());
                if (rt.gw() != null) o.put("gw", rt.gw());
            }
            if (r.defaultRoute()) {
                for (String g : r.gateways()) {
                    String any = g.contains(":") ? "::/0" : "0.0.0.0/0";
                    boolean has = false;
                    for (JsonNode x : routes) has |= x.path("dst").asText().equals(any);
                    if (!has) routes.addObject().put("dst", any).put("gw", g);
                }
            }
            pc.set("ipam", ipam);
        }
        // runtimeConfig carries only what the plugin declares among its capabilities (CNI spec, "Dynamic
        // plugin-specific fields"); CNI args go to args.cni as Multus passes them.
        JsonNode caps = pc.path("capabilities");
        ObjectNode rc = json.createObjectNode();
        if (r.mac() != null && caps.path("mac").asBoolean(false)) rc.put("mac", r.mac());
        if (!r.ips().isEmpty() && caps.path("ips").asBoolean(false)) {
            ArrayNode ips = rc.putArray("ips");
            r.ips().forEach(ips::add);
        }
        if (r.portMappings() != null && caps.path("portMappings").asBoolean(false)) rc.set("portMappings", json.valueToTree(r.portMappings()));
        if (r.bandwidth() != null && caps.path("bandwidth").asBoolean(false)) rc.set("bandwidth", json.valueToTree(r.bandwidth()));
        if (!rc.isEmpty()) pc.set("runtimeConfig", rc);
        if (r.cniArgs() != null && !r.cniArgs().isEmpty()) {
            ObjectNode args = pc.has("args") && pc.get("args").isObject() ? (ObjectNode) pc.get("args") : pc.putObject("args");
            args.set("cni", json.valueToTree(r.cniArgs()));
        }
    }

    /** ADD through every plugin of the network; the last result. On failure, DEL is run and the error thrown. */
    public JsonNode add(String netnsPath, PodRef pod, AttachmentRequest r) {
        List<ObjectNode> chain = plugins(r);
        JsonNode prev = null;
        for (ObjectNode pc : chain) {
            prepare(pc, r);
            if (prev != null) pc.set("prevResult", prev);
            try {
                prev = exec("ADD", pc, netnsPath, pod, r.iface());
            } catch (AttachException e) {
                try {
                    delete(netnsPath, pod, r);
                } catch (RuntimeException cleanup) {
                    e.addSuppressed(cleanup);
                }
                throw e;
            }
        }
        return prev;
    }

    /** DEL through the plugins in reverse order; plugins treat "already gone" as success. */
    public void delete(String netnsPath, PodRef pod, AttachmentRequest r) {
        List<ObjectNode> chain = plugins(r);
        AttachException first = null;
        for (int i = chain.size() - 1; i >= 0; i--) {
            ObjectNode pc = chain.get(i);
            prepare(pc, r);
            try {
                exec("DEL", pc, Files.exists(Path.of(netnsPath)) ? netnsPath : "", pod, r.iface());
            } catch (AttachException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }

    private JsonNode exec(String command, ObjectNode conf, String netnsPath, PodRef pod, String iface) {
        String type = conf.path("type").asText("");
        if (!TYPE.matcher(type).matches()) throw new AttachException("Invalid", "cniConfig.type \"" + type + "\" is not a plugin name");
        Path binary = pluginDir.resolve(type);
        if (!Files.isExecutable(binary)) {
            throw new AttachException("NotFound", "CNI plugin \"" + type + "\" not found in " + pluginDir);
        }
        ProcessBuilder pb = new ProcessBuilder(binary.toString());
        Map<String, String> env = pb.environment();
        env.clear();
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", "netattach-" + pod.uid());
        env.put("CNI_NETNS", netnsPath);
        env.put("CNI_IFNAME", iface);
        env.put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + pod.namespace() + ";K8S_POD_NAME=" + pod.name() + ";K8S_POD_UID=" + pod.uid());
        env.put("CNI_PATH", pluginDir.toString());
        env.put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p = nsThread.spawn(node, pb);
        try {
            try (OutputStream in = p.getOutputStream()) {
                in.write(conf.toString().getBytes(StandardCharsets.UTF_8));
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(TIMEOUT_S, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AttachException("Timeout", "CNI plugin " + type + " " + command + " did not finish within " + TIMEOUT_S + " s");
            }
            if (p.exitValue() != 0) {
                String msg = out;
                try {
                    JsonNode err = json.readTree(out);
                    msg = err.path("msg").asText(out) + (err.hasNonNull("details") ? ": " + err.get("details").asText() : "");
                } catch (IOException ignored) {
                    // not JSON: report the raw output
                }
                throw new AttachException("Failed", "CNI plugin " + type + " " + command + " failed (exit " + p.exitValue() + "): " + msg.trim());
            }
            return command.equals("ADD") ? json.readTree(out) : null;
        } catch (IOException e) {
            throw new AttachException("Failed", "CNI plugin " + type + " " + command + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new AttachException("Failed", "interrupted while running CNI plugin " + type);
        }
    }
}
