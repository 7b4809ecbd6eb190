package io.netattach.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The CNI benchmark (deploy/local/bench-cni.sh): what the netattach shim adds to the CNI ADD of a pod that asks
 * for no secondary network, the pod of almost every cluster. Per sandbox, as a runtime: a new network namespace,
 * the node's primary plugin ADD (the chain without netattach), then the shim ADD with its prevResult (what
 * netattach adds: the exec, the socket, node-worker's pod read from the API server), then DEL of both and the
 * namespace. The pods exist in the API server (no networks asked), bound to the node, whose kubelet stand-in is
 * not running (bench-cni.sh): this loop is the node's runtime. Prints figures and one JSON line; a benchmark, it
 * asserts nothing.
 */
final class LabCniBench {
    private static final ObjectMapper JSON = new ObjectMapper();

    private LabCniBench() {
    }

    static void run(Lab.Options o) throws Exception {
        String api = o.get("api", "http://127.0.0.1:6443");
        String node = o.get("node", "node1");
        int count = Integer.parseInt(o.get("count", "500"));
        int warmup = Integer.parseInt(o.get("warmup", "100"));
        Path conflist = o.path("cni-conf-dir").resolve(node + ".conflist");
        List<Path> cniPath = Arrays.stream(o.get("cni-path", "/usr/lib/cni").split(":")).map(Path::of).toList();
        JsonNode list = JSON.readTree(Files.readString(conflist));
        List<JsonNode> plugins = new ArrayList<>();
        list.path("plugins").forEach(plugins::add);
        if (plugins.size() != 2 || !"netattach-shim".equals(plugins.get(1).path("type").asText())) {
            throw new IllegalStateException(conflist + ": expected a primary plugin then netattach-shim (lab.sh up --primary-cni bridge)");
        }
        Path nodeNetns = Path.of("/var/run/netns", o.get("node-netns-prefix", "na-lab-") + node);
        String ns = "bench-cni";
        try (KubernetesClient client = Lab.client(api)) {
            client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
                    .createOr(NonDeletingOperation::update);
            List<Pod> pods = new ArrayList<>();
            for (int i = 0; i < warmup + count; i++) {
                pods.add(client.pods().inNamespace(ns).resource(new PodBuilder().withNewMetadata().withName("plain-" + i).withNamespace(ns).endMetadata()
                        .withNewSpec().withNodeName(node).addNewContainer().withName("app").withImage("nicolaka/netshoot").endContainer()
                        .endSpec().build()).createOr(NonDeletingOperation::update));
            }
            Sandboxes run = new Sandboxes(list, plugins, cniPath, ns, warmup, count);
            // Plugins run in the node's network namespace, as the node's runtime runs them: from a thread of its own
            // that enters it (the API client's threads stay in this process's namespace, where the API server is).
            Thread loop = new Thread(() -> run.all(nodeNetns, pods), "bench-cni");
            loop.start();
            loop.join();
            client.namespaces().withName(ns).delete();
            if (run.failure != null) throw new IllegalStateException("the benchmark loop failed: " + run.failure, run.failure);
            long[] primary = run.primary, shim = run.shim, with = new long[count];
            for (int i = 0; i < count; i++) with[i] = primary[i] + shim[i];
            String primaryType = plugins.get(0).path("type").asText();
            System.out.printf(Locale.ROOT, "%d sandboxes of pods without networks (after %d warm-up), node %s, primary %s%n", count, warmup, node, primaryType);
            System.out.printf(Locale.ROOT, "  shim ADD (what netattach adds)   p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms%n", ms(shim, 50), ms(shim, 99), ms(shim, 100));
            System.out.printf(Locale.ROOT, "  of which the exec alone          p50 %6.2f ms  p99 %6.2f ms  (the shim answering VERSION itself)%n",
                    ms(run.floor, 50), ms(run.floor, 99));
            System.out.printf(Locale.ROOT, "  chain without the shim           p50 %6.2f ms  p99 %6.2f ms%n", ms(primary, 50), ms(primary, 99));
            System.out.printf(Locale.ROOT, "  chain with the shim              p50 %6.2f ms  p99 %6.2f ms%n", ms(with, 50), ms(with, 99));
            System.out.printf(Locale.ROOT, "  shim results that are not the primary's result passed through: %d%n", run.mismatches);
            ObjectNode j = JSON.createObjectNode().put("bench", "cni").put("sandboxes", count).put("warmup", warmup).put("primary", primaryType)
                    .put("shim_add_p50_ms", round(ms(shim, 50))).put("shim_add_p99_ms", round(ms(shim, 99))).put("shim_add_max_ms", round(ms(shim, 100)))
                    .put("shim_exec_floor_p50_ms", round(ms(run.floor, 50))).put("shim_exec_floor_p99_ms", round(ms(run.floor, 99)))
                    .put("chain_without_p50_ms", round(ms(primary, 50))).put("chain_without_p99_ms", round(ms(primary, 99)))
                    .put("chain_with_p50_ms", round(ms(with, 50))).put("chain_with_p99_ms", round(ms(with, 99)))
                    .put("passthrough_mismatches", run.mismatches);
            System.out.println(j);
        }
    }

    /** The measured loop, one sandbox after another, on a thread in the node's network namespace. */
    private static final class Sandboxes {
        final JsonNode list;
        final List<JsonNode> plugins;
        final List<Path> cniPath;
        final String ns;
        final int warmup;
        final long[] primary, shim, floor;
        int mismatches;
        Throwable failure;

        Sandboxes(JsonNode list, List<JsonNode> plugins, List<Path> cniPath, String ns, int warmup, int count) {
            this.list = list;
            this.plugins = plugins;
            this.cniPath = cniPath;
            this.ns = ns;
            this.warmup = warmup;
            this.primary = new long[count];
            this.shim = new long[count];
            this.floor = new long[count];
        }

        void all(Path nodeNetns, List<Pod> pods) {
            try {
                LabNetns.enter(nodeNetns);
                String type = plugins.get(0).path("type").asText();
                for (int i = 0; i < pods.size(); i++) {
                    Pod p = pods.get(i);
                    String netns = "na-bcni-" + i;
                    LabNetns.create(netns);
                    CniExec.Target t = new CniExec.Target("bcni" + p.getMetadata().getUid().replace("-", ""), Path.of("/var/run/netns", netns), "eth0",
                            ns, p.getMetadata().getName(), p.getMetadata().getUid());
                    try {
                        long t0 = System.nanoTime();
                        JsonNode prev = CniExec.exec(cniPath, type, "ADD", t, conf(list, plugins.get(0), null));
                        long t1 = System.nanoTime();
                        JsonNode out = CniExec.exec(cniPath, "netattach-shim", "ADD", t, conf(list, plugins.get(1), prev));
                        long t2 = System.nanoTime();
                        if (!out.path("interfaces").equals(prev.path("interfaces")) || !out.path("ips").equals(prev.path("ips"))) mismatches++;
                        // the same binary answering VERSION by itself: the exec alone, without node-worker
                        CniExec.exec(cniPath, "netattach-shim", "VERSION", t, conf(list, plugins.get(1), null));
                        long t3 = System.nanoTime();
                        if (i >= warmup) {
                            primary[i - warmup] = t1 - t0;
                            shim[i - warmup] = t2 - t1;
                            floor[i - warmup] = t3 - t2;
                        }
                        CniExec.exec(cniPath, "netattach-shim", "DEL", t, conf(list, plugins.get(1), null));
                        CniExec.exec(cniPath, type, "DEL", t, conf(list, plugins.get(0), null));
                    } finally {
                        LabNetns.delete(netns);
                    }
                }
            } catch (Throwable e) {
                failure = e;
            }
        }
    }

    private static JsonNode conf(JsonNode list, JsonNode plugin, JsonNode prev) {
        ObjectNode c = ((ObjectNode) plugin.deepCopy()).put("cniVersion", list.path("cniVersion").asText("1.0.0")).put("name", list.path("name").asText("lab"));
        if (prev != null) c.set("prevResult", prev);
        return c;
    }

    /** Nearest-rank percentile in ms; 100 = the maximum. */
    private static double ms(long[] nanos, int percentile) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        int rank = Math.max(1, (int) Math.ceil(percentile / 100.0 * s.length));
        return s[rank - 1] / 1e6;
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
