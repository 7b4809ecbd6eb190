package io.netattach.lab;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The attach benchmark (deploy/local/bench-attach.sh): pods created already bound to a node (as if just
 * scheduled), latency measured from creation to the moment the pod carries its network-status, seen through
 * a watch. Phase A: steady arrivals (rate x seconds). Phase B: a burst created at once. Prints figures and
 * one JSON line. A benchmark, never a test: it asserts nothing.
 */
final class LabBench {
    private static final String STATUS = "k8s.v1.cni.cncf.io/network-status";

    private final KubernetesClient client;
    private final List<String> nodes;
    private final String network;
    private final Map<String, Long> created = new ConcurrentHashMap<>();
    private final Map<String, Long> done = new ConcurrentHashMap<>();

    private LabBench(KubernetesClient client, List<String> nodes, String network) {
        this.client = client;
        this.nodes = nodes;
        this.network = network;
    }

    static void run(Lab.Options o) throws Exception {
        String api = o.get("api", "http://127.0.0.1:6443");
        int rate = Integer.parseInt(o.get("rate", "50"));
        int seconds = Integer.parseInt(o.get("seconds", "10"));
        int burst = Integer.parseInt(o.get("burst", "500"));
        int timeout = Integer.parseInt(o.get("timeout", "600"));
        // Services that run for days are warm; a lab started a minute ago is not: measured per thread, the JIT
        // compiler threads took ~40% of all CPU over the first ~1,000 pods and still ~30% after 2,000, ~10% after 6,000
        // (docs/benchmarks.md, "Attach"). The warm-up runs that many pods through, in bursts, uncounted.
        int warmup = Integer.parseInt(o.get("warmup", "5000"));
        boolean onlyWarmup = Boolean.parseBoolean(o.get("only-warmup", "false"));
        try (KubernetesClient client = Lab.client(api)) {
            LabBench bench = new LabBench(client, List.of(o.get("nodes", "node1,node2").split(",")), o.get("network", "bench-net"));
            SharedIndexInformer<Pod> watch = bench.watch();
            try {
                for (int round = 0, left = warmup; left > 0; round++, left -= WARMUP_ROUND) {
                    Phase warm = bench.burst("w" + round, Math.min(WARMUP_ROUND, left), timeout);
                    bench.cleanUp("bench-w" + round + "-");
                    System.out.printf(Locale.ROOT, "warm-up round %d (not counted): %d pods at once, %.1f pods/s, incomplete %d%n",
                            round + 1, warm.count, warm.count * 1000.0 / warm.wallMs, warm.incomplete);
                }
                if (onlyWarmup) return;
                Phase steady = bench.steady("a", rate, seconds, timeout);
                bench.cleanUp("bench-a-");
                Phase burstPhase = bench.burst("b", burst, timeout);
                bench.cleanUp("bench-b-");
                System.out.printf(Locale.ROOT, "steady: %d pods at %d/s: p50 %.0f ms, p99 %.0f ms, max %.0f ms, incomplete %d%n",
                        steady.count, rate, steady.p50, steady.p99, steady.max, steady.incomplete);
                System.out.printf(Locale.ROOT, "burst: %d pods at once: last network-status after %.1f s, %.1f pods/s, p50 %.0f ms, p99 %.0f ms, incomplete %d%n",
                        burstPhase.count, burstPhase.wallMs / 1000.0, burstPhase.count * 1000.0 / burstPhase.wallMs,
                        burstPhase.p50, burstPhase.p99, burstPhase.incomplete);
                System.out.printf(Locale.ROOT,
                        "{\"steady\":{\"pods\":%d,\"rate\":%d,\"p50_ms\":%.1f,\"p99_ms\":%.1f,\"max_ms\":%.1f,\"incomplete\":%d},"
                                + "\"burst\":{\"pods\":%d,\"seconds\":%.2f,\"pods_per_s\":%.1f,\"p50_ms\":%.1f,\"p99_ms\":%.1f,\"incomplete\":%d}}%n",
                        steady.count, rate, steady.p50, steady.p99, steady.max, steady.incomplete,
                        burstPhase.count, burstPhase.wallMs / 1000.0, burstPhase.count * 1000.0 / burstPhase.wallMs,
                        burstPhase.p50, burstPhase.p99, burstPhase.incomplete);
            } finally {
                watch.close();
            }
        }
    }

    private static final int WARMUP_ROUND = 250;

    record Phase(int count, double p50, double p99, double max, long wallMs, int incomplete) {
    }

    private SharedIndexInformer<Pod> watch() {
        return client.pods().inNamespace("default").inform(new ResourceEventHandler<>() {
            @Override public void onAdd(Pod pod) { seen(pod); }
            @Override public void onUpdate(Pod old, Pod pod) { seen(pod); }
            @Override public void onDelete(Pod pod, boolean unknown) { }
        }, 0);
    }

    private void seen(Pod pod) {
        var annotations = pod.getMetadata().getAnnotations();
        String name = pod.getMetadata().getName();
        if (annotations != null && annotations.containsKey(STATUS) && created.containsKey(name)) {
            done.putIfAbsent(name, System.nanoTime());
        }
    }

    private Phase steady(String tag, int rate, int seconds, int timeout) throws InterruptedException {
        int total = rate * seconds;
        List<String> names = new ArrayList<>();
        ScheduledExecutorService timer = Executors.newScheduledThreadPool(4);
        long start = System.nanoTime();
        for (int i = 0; i < total; i++) {
            String name = "bench-" + tag + "-" + i;
            int index = i;
            names.add(name);
            long at = i * 1_000_000_000L / rate;
            timer.schedule(() -> create(name, index), Math.max(0, at - (System.nanoTime() - start)), TimeUnit.NANOSECONDS);
        }
        timer.shutdown();
        timer.awaitTermination(seconds + 60L, TimeUnit.SECONDS);
        return await(names, start, timeout);
    }

    private Phase burst(String tag, int count, int timeout) throws InterruptedException {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            names.add("bench-" + tag + "-" + i);
        }
        long start = System.nanoTime();
        var pool = Executors.newFixedThreadPool(16);
        for (int i = 0; i < count; i++) {
            int index = i;
            pool.execute(() -> create(names.get(index), index));
        }
        pool.shutdown();
        pool.awaitTermination(120, TimeUnit.SECONDS);
        return await(names, start, timeout);
    }

    private void create(String name, int index) {
        created.put(name, System.nanoTime());
        Pod pod = new PodBuilder().withNewMetadata().withName(name).withNamespace("default")
                .addToLabels("netattach-bench", "true")
                .addToAnnotations("k8s.v1.cni.cncf.io/networks", network).endMetadata()
                .withNewSpec().withNodeName(nodes.get(index % nodes.size()))
                .addNewContainer().withName("app").withImage("bench").endContainer().endSpec().build();
        try {
            client.resource(pod).create();
        } catch (RuntimeException e) {
            System.err.println("bench: cannot create " + name + ": " + e.getMessage());
        }
    }

    private Phase await(List<String> names, long start, int timeoutSeconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (System.nanoTime() < deadline && !names.stream().allMatch(done::containsKey)) {
            Thread.sleep(50);
        }
        List<Double> latencies = new ArrayList<>();
        long last = start;
        for (String n : names) {
            Long d = done.get(n);
            Long c = created.get(n);
            if (d != null && c != null) {
                latencies.add((d - c) / 1e6);
                last = Math.max(last, d);
            }
        }
        Collections.sort(latencies);
        int incomplete = names.size() - latencies.size();
        return new Phase(names.size(), pct(latencies, 0.50), pct(latencies, 0.99),
                latencies.isEmpty() ? Double.NaN : latencies.getLast(), (last - start) / 1_000_000, incomplete);
    }

    private static double pct(List<Double> sorted, double q) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(q * sorted.size()) - 1));
    }

    /** Deletes the phase's pods and waits until they are gone and their sandboxes torn down, so phases do not overlap. */
    private void cleanUp(String prefix) throws InterruptedException {
        client.pods().inNamespace("default").withLabel("netattach-bench", "true").delete();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline
                && client.pods().inNamespace("default").withLabel("netattach-bench", "true").list().getItems().stream()
                .anyMatch(p -> p.getMetadata().getName().startsWith(prefix))) {
            Thread.sleep(200);
        }
        while (System.nanoTime() < deadline && podSandboxes() > 0) {
            Thread.sleep(200);
        }
    }

    /** Pod network namespaces the lab's kubelets still hold (LabKubelet.netnsName: na-p-...). */
    private static long podSandboxes() {
        try (var names = java.nio.file.Files.list(java.nio.file.Path.of("/var/run/netns"))) {
            return names.filter(p -> p.getFileName().toString().startsWith("na-p-")).count();
        } catch (java.io.IOException e) {
            return 0;
        }
    }
}
