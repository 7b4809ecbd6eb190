package io.netattach.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The kubelet and container runtime of one lab node, as far as networking goes: for each pod bound to the
 * node it creates the pod's network namespace and runs the node's CNI chain exactly as a runtime does
 * (CNI_* environment, the plugin config on stdin, prevResult threaded through the chain, DEL in reverse
 * order on delete), then reports the pod Running and Ready. The chain is the node's conflist
 * ({@code <cni-conf-dir>/<node>.conflist}).
 * <p>
 * As a kubelet and runtime, a failed ADD is a Warning Event {@code FailedCreatePodSandBox}, the sandbox is torn
 * down (DEL, its namespace deleted) and a new one is tried after a backoff, under a new container id; a sandbox
 * whose network namespace disappears (a runtime restart, a reboot) is torn down and made again the same way.
 */
final class LabKubelet {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern UID = Pattern.compile("[0-9a-fA-F-]{8,64}");

    private final KubernetesClient client;
    private final String node;
    private final Path conflist;
    private final List<Path> cniPath;
    /** The node's own network namespace: plugins run inside it, as they would on that node. */
    private final String nodeNetns;
    /** pod UID -> the sandbox it runs in. */
    private final Map<String, Sandbox> sandboxes = new ConcurrentHashMap<>();
    private final ExecutorService work;
    /** API writes (pod status, Events): off the worker threads, whose network namespace is the node's. */
    private final ExecutorService api = Executors.newVirtualThreadPerTaskExecutor();

    /** One sandbox of a pod; each new one (after a failed ADD, or a lost namespace) has the next generation. */
    record Sandbox(String uid, String namespace, String name, String netnsName, int generation) {
        Path netns() {
            return Path.of("/var/run/netns", netnsName);
        }

        /** A runtime gives every sandbox its own id. */
        String containerId() {
            return "lab" + uid.replace("-", "") + (generation == 0 ? "" : "-" + generation);
        }

        Sandbox next() {
            return new Sandbox(uid, namespace, name, netnsName, generation + 1);
        }
    }

    /** Sandboxes whose ADD succeeded: the ones checked for a lost network namespace. */
    private final Set<Sandbox> running = ConcurrentHashMap.newKeySet();
    /** Failed ADDs in a row per pod UID, for the backoff. */
    private final Map<String, Integer> failures = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kubelet-timer");
        t.setDaemon(true);
        return t;
    });
    private final Duration backoff;
    private final Duration backoffMax;

    LabKubelet(KubernetesClient client, String node, Lab.Options options) {
        this.client = client;
        this.node = node;
        this.conflist = Path.of(options.get("cni-conf-dir", "/tmp")).resolve(node + ".conflist");
        this.nodeNetns = options.get("node-netns-prefix", "na-lab-") + node;
        this.cniPath = List.of(options.get("cni-path", "/usr/lib/cni").split(":")).stream().map(Path::of).toList();
        // A kubelet runs each pod's sandbox on its own worker, and the runtime runs CNI calls in parallel: a
        // pod whose ADD waits (its attach not there yet) must not hold back the pods behind it. Bounded so a
        // burst cannot fork without limit.
        // Each worker thread lives in the node's network namespace (LabNetns.enter), so the plugins it starts run
        // there, as on a node, without an `ip netns exec` wrapper per call. API calls go to other threads.
        int workers = Integer.parseInt(options.get("kubelet-workers", "64"));
        Path nodeNetnsPath = Path.of("/var/run/netns", nodeNetns);
        java.util.concurrent.ThreadPoolExecutor pool = new java.util.concurrent.ThreadPoolExecutor(workers, workers,
                30, TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(() -> {
                        try {
                            LabNetns.enter(nodeNetnsPath);
                        } catch (IOException e) {
                            // Running plugins from here would make the pod's network in the machine's own namespace.
                            System.err.printf("kubelet %s: cannot enter %s, stopping the lab cluster: %s%n", node, nodeNetnsPath, e.getMessage());
                            System.exit(2);
                        }
                        r.run();
                    }, "kubelet-" + node);
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        this.work = pool;
        // A kubelet retries a pod whose sandbox failed after ~10 s; the lab starts lower so tests need not wait.
        this.backoff = Duration.parse(options.get("sandbox-backoff", "PT1S"));
        this.backoffMax = Duration.parse(options.get("sandbox-backoff-max", "PT10S"));
        timer.scheduleWithFixedDelay(this::checkNamespaces, 1, 1, TimeUnit.SECONDS);
    }

    /** What this kubelet does with pod events; the lab's one pod informer calls it for every pod (LabCluster). */
    ResourceEventHandler<Pod> handler() {
        return new ResourceEventHandler<>() {
            @Override public void onAdd(Pod pod) { consider(pod); }
            @Override public void onUpdate(Pod old, Pod pod) { consider(pod); }
            @Override public void onDelete(Pod pod, boolean unknown) {
                Sandbox sb = sandboxes.remove(pod.getMetadata().getUid());
                failures.remove(pod.getMetadata().getUid());
                if (sb != null) {
                    running.remove(sb);
                    work.execute(() -> teardown(sb));
                }
            }
        };
    }

    private void consider(Pod pod) {
        String uid = pod.getMetadata().getUid();
        if (!node.equals(pod.getSpec().getNodeName()) || uid == null || !UID.matcher(uid).matches()) {
            return;
        }
        String netnsName = netnsName(uid);
        Sandbox sb = new Sandbox(uid, pod.getMetadata().getNamespace(), pod.getMetadata().getName(), netnsName, 0);
        if (sandboxes.putIfAbsent(uid, sb) == null) {
            work.execute(() -> setup(sb));
        }
    }

    /** The pod's network namespace name: the tail of its UID (the stand-in API server counts UIDs up from a random point). */
    static String netnsName(String uid) {
        String hex = uid.replace("-", "");
        return "na-p-" + hex.substring(Math.max(0, hex.length() - 16));
    }

    private void setup(Sandbox sb) {
        try {
            long start = System.nanoTime();
            if (!Files.exists(sb.netns())) {
                LabNetns.create(sb.netnsName());
            }
            long netns = System.nanoTime();
            Map<String, Long> steps = new java.util.LinkedHashMap<>();
            JsonNode result = chain("ADD", sb, steps);
            StringBuilder took = new StringBuilder("netns ").append((netns - start) / 1_000_000).append(" ms");
            steps.forEach((plugin, nanos) -> took.append(", ").append(plugin).append(' ').append(nanos / 1_000_000).append(" ms"));
            System.out.printf("%s kubelet %s: %s/%s sandbox %s ready (%s): %s%n", Instant.now(), node, sb.namespace(), sb.name(),
                    sb.netns(), took, result);
        } catch (IllegalStateException e) {
            // This thread could not return to the node's namespace: let the pool replace it.
            sandboxes.remove(sb.uid());
            throw e;
        } catch (Exception e) {
            System.err.printf("kubelet %s: %s/%s: CNI ADD failed: %s%n", node, sb.namespace(), sb.name(), e.getMessage());
            api.execute(() -> event(sb, "FailedCreatePodSandBox", "Failed to create pod sandbox: plugin type=\"netattach-shim\" "
                    + "failed (add): " + e.getMessage()));
            destroy(sb);
            int failed = failures.merge(sb.uid(), 1, Integer::sum);
            long delay = Math.min(backoffMax.toMillis(), backoff.toMillis() << Math.min(failed - 1, 20));
            timer.schedule(() -> replace(sb), delay, TimeUnit.MILLISECONDS);
            return;
        }
        failures.remove(sb.uid());
        running.add(sb);
        api.execute(() -> markReady(sb));
    }

    /** A runtime's teardown of a failed or lost sandbox: DEL (best effort), then its network namespace. */
    private void destroy(Sandbox sb) {
        try {
            chain("DEL", sb);
        } catch (Exception e) {
            System.err.printf("kubelet %s: %s/%s: CNI DEL of sandbox %s failed: %s%n", node, sb.namespace(), sb.name(), sb.containerId(), e.getMessage());
        }
        try {
            LabNetns.delete(sb.netnsName());
        } catch (Exception e) {
            System.err.printf("kubelet %s: cannot delete netns %s: %s%n", node, sb.netnsName(), e.getMessage());
        }
    }

    /** A new sandbox for the pod, unless it was deleted (or given another sandbox) meanwhile. */
    private void replace(Sandbox old) {
        Sandbox next = old.next();
        if (sandboxes.replace(old.uid(), old, next)) {
            work.execute(() -> setup(next));
        }
    }

    /** Sandboxes whose network namespace is gone are torn down and made again, as a runtime does for a dead sandbox. */
    private void checkNamespaces() {
        for (Sandbox sb : running) {
            if (!sb.equals(sandboxes.get(sb.uid()))) {
                running.remove(sb); // the pod was deleted: its teardown removes the namespace
                continue;
            }
            if (Files.exists(sb.netns()) || !running.remove(sb)) {
                continue;
            }
            System.out.printf("%s kubelet %s: %s/%s sandbox %s lost its network namespace %s: making a new one%n", Instant.now(), node,
                    sb.namespace(), sb.name(), sb.containerId(), sb.netns());
            work.execute(() -> {
                destroy(sb);
                replace(sb);
            });
        }
    }

    private void teardown(Sandbox sb) {
        try {
            chain("DEL", sb);
        } catch (Exception e) {
            System.err.printf("kubelet %s: %s/%s: CNI DEL failed: %s%n", node, sb.namespace(), sb.name(), e.getMessage());
        }
        try {
            LabNetns.delete(sb.netnsName());
        } catch (Exception e) {
            System.err.printf("kubelet %s: cannot delete netns %s: %s%n", node, sb.netnsName(), e.getMessage());
        }
        System.out.printf("kubelet %s: %s/%s sandbox removed%n", node, sb.namespace(), sb.name());
    }

    private JsonNode chain(String command, Sandbox sb) throws IOException, InterruptedException {
        return chain(command, sb, new java.util.HashMap<>());
    }

    /** Runs the node's conflist: ADD in order with prevResult, DEL in reverse. Returns the last result. */
    private JsonNode chain(String command, Sandbox sb, Map<String, Long> nanosPerPlugin) throws IOException, InterruptedException {
        JsonNode list = JSON.readTree(Files.readString(conflist));
        List<JsonNode> plugins = new ArrayList<>();
        list.path("plugins").forEach(plugins::add);
        if (command.equals("DEL")) {
            java.util.Collections.reverse(plugins);
        }
        JsonNode prev = null;
        for (JsonNode plugin : plugins) {
            ObjectNode conf = ((ObjectNode) plugin.deepCopy()).put("cniVersion", list.path("cniVersion").asText("1.0.0"))
                    .put("name", list.path("name").asText("lab"));
            if (prev != null && command.equals("ADD")) {
                conf.set("prevResult", prev);
            }
            long start = System.nanoTime();
            JsonNode out = exec(plugin.path("type").asText(), command, sb, conf);
            nanosPerPlugin.put(plugin.path("type").asText(), System.nanoTime() - start);
            if (command.equals("ADD")) {
                prev = out;
            }
        }
        return prev;
    }

    private JsonNode exec(String type, String command, Sandbox sb, JsonNode conf) throws IOException, InterruptedException {
        // This thread is in the node's namespace, and so is the plugin it starts (no shell; pod data only in the environment).
        return CniExec.exec(cniPath, type, command, new CniExec.Target(sb.containerId(), sb.netns(), "eth0", sb.namespace(), sb.name(), sb.uid()), conf);
    }

    /**
     * Marks the pod Running and Ready with one JSON merge patch of its status, as a kubelet does from its own
     * view, in one API request (fabric8's editStatus read the pod and wrote it back: two requests, and ~44 % of this
     * process's sampled CPU in the attach benchmark). The patch carries the sandbox's pod UID, which a real API
     * server checks as a precondition; the stand-in ignores it, so a pod deleted meanwhile is skipped here.
     */
    private void markReady(Sandbox sb) {
        if (!sandboxes.containsKey(sb.uid())) {
            return; // deleted (and maybe recreated under the same name) since its sandbox was made
        }
        String now = Instant.now().toString();
        ObjectNode patch = JSON.createObjectNode();
        patch.putObject("metadata").put("uid", sb.uid());
        ObjectNode status = patch.putObject("status").put("phase", "Running").put("startTime", now);
        status.putArray("conditions").addObject().put("type", "Ready").put("status", "True").put("lastTransitionTime", now);
        try {
            // resource(pod), not withName(name): fabric8's patch(String) on a name GETs the pod first to learn where to send it
            client.pods().resource(new io.fabric8.kubernetes.api.model.PodBuilder().withNewMetadata().withNamespace(sb.namespace())
                    .withName(sb.name()).endMetadata().build()).subresource("status")
                    .patch(io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE), patch.toString());
        } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
            if (e.getCode() != 404) {
                System.err.printf("kubelet %s: cannot mark %s/%s ready: %s%n", node, sb.namespace(), sb.name(), e.getMessage());
            }
        }
    }

    private void event(Sandbox sb, String reason, String message) {
        try {
            client.v1().events().inNamespace(sb.namespace()).resource(new EventBuilder()
                    .withNewMetadata().withGenerateName(sb.name() + ".").withNamespace(sb.namespace()).endMetadata()
                    .withInvolvedObject(new ObjectReferenceBuilder().withKind("Pod").withNamespace(sb.namespace())
                            .withName(sb.name()).withUid(sb.uid()).build())
                    .withReason(reason).withMessage(message).withType("Warning")
                    .withNewSource().withComponent("lab-kubelet").withHost(node).endSource()
                    .withLastTimestamp(Instant.now().toString()).build()).create();
        } catch (RuntimeException e) {
            System.err.println("kubelet " + node + ": cannot record event: " + e.getMessage());
        }
    }
}
