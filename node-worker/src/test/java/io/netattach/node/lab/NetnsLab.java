package io.netattach.node.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;

/**
 * Test-only: builds and tears down network namespaces (all named na-...) with iproute2, and reads state back
 * with `ip -d -j` to check what the product code made. The product code itself never runs `ip`.
 */
public final class NetnsLab implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String tag = HexFormat.of().formatHex(randomBytes());
    private final List<String> namespaces = new ArrayList<>();

    private static byte[] randomBytes() {
        byte[] b = new byte[3];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    /** Creates namespace na-<tag>-<role> and returns its name. */
    public String netns(String role) {
        String name = "na-" + tag + "-" + role;
        run("ip", "netns", "add", name);
        namespaces.add(name);
        run("ip", "-n", name, "link", "set", "lo", "up");
        return name;
    }

    public static String path(String ns) { return "/var/run/netns/" + ns; }

    /** A node namespace whose uplink eth1 is a veth into {@code lanNs}, enslaved there to bridge br0. */
    public String node(String role, String lanNs, String uplinkCidr, String defaultGw) {
        String ns = netns(role);
        String peer = "u" + role;
        run("ip", "-n", ns, "link", "add", "eth1", "type", "veth", "peer", "name", peer, "netns", lanNs);
        run("ip", "-n", lanNs, "link", "set", peer, "master", "br0");
        run("ip", "-n", lanNs, "link", "set", peer, "up");
        run("ip", "-n", ns, "link", "set", "eth1", "up");
        run("ip", "-n", ns, "addr", "add", uplinkCidr, "dev", "eth1");
        run("ip", "-n", ns, "route", "add", "default", "via", defaultGw);
        return ns;
    }

    public String lan(String role) {
        String ns = netns(role);
        run("ip", "-n", ns, "link", "add", "br0", "type", "bridge");
        run("ip", "-n", ns, "link", "set", "br0", "up");
        return ns;
    }

    public static String run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static boolean succeeds(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** `ip -d -j -n ns <args>` parsed. */
    public static JsonNode ipJson(String ns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "-d", "-j", "-n", ns));
        cmd.addAll(List.of(args));
        try {
            String out = run(cmd.toArray(String[]::new)).trim();
            return JSON.readTree(out.isEmpty() ? "[]" : out);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Link names in a namespace. */
    public static List<String> linkNames(String ns) {
        List<String> out = new ArrayList<>();
        ipJson(ns, "link", "show").forEach(l -> out.add(l.get("ifname").asText()));
        return out;
    }

    /** ping -c1 -W1 from inside {@code ns}, retried until {@code within} passes (ARP / DAD may need a moment). */
    public static boolean pings(String ns, String address, Duration within) {
        if (!java.nio.file.Files.isExecutable(java.nio.file.Path.of("/usr/bin/ping")) && !java.nio.file.Files.isExecutable(java.nio.file.Path.of("/bin/ping"))) {
            throw new IllegalStateException("ping is not installed (apt-get install iputils-ping): the ping checks cannot run");
        }
        return until(within, () -> succeeds("ip", "netns", "exec", ns, "ping", "-c1", "-W1", address));
    }

    public static boolean until(Duration within, BooleanSupplier condition) {
        long deadline = System.nanoTime() + within.toNanos();
        do {
            if (condition.getAsBoolean()) return true;
            Thread.onSpinWait();
        } while (System.nanoTime() < deadline);
        return false;
    }

    @Override
    public void close() {
        for (int i = namespaces.size() - 1; i >= 0; i--) succeeds("ip", "netns", "del", namespaces.get(i));
        namespaces.clear();
    }
}
