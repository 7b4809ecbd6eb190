package io.netattach.lab;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;

import java.io.FileInputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * The lab's Kubernetes API: fabric8's mock server in CRUD mode on plain HTTP, wrapped by
 * {@link DiscoveryDispatcher} so kubectl can talk to it. A stand-in, labelled as such in /version.
 */
final class LabApiServer {
    private static final java.util.logging.Logger MOCK_LOG = java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

    private LabApiServer() {
    }

    static void run(Lab.Options options) throws Exception {
        int port = Integer.parseInt(options.get("port", "6443"));
        String host = options.get("host", "127.0.0.1");
        Path kubeconfig = options.path("kubeconfig");

        // The mock logs every request at INFO (tens of thousands in a bench run); --request-log true keeps that log.
        // Kept in a field: java.util.logging holds its loggers weakly, so a level set on a dropped logger is lost.
        if (!Boolean.parseBoolean(options.get("request-log", "false"))) {
            MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
        }
        randomUids();
        var podStore = new KubernetesCrudDispatcher(List.of());
        PodFieldSelectors.install(podStore);
        var dispatcher = new DiscoveryDispatcher(new KubernetesCrudDispatcher(List.of()), podStore,
                new KubernetesCrudDispatcher(List.of()), host + ":" + port);
        var server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
        server.init(InetAddress.getByName(host), port);
        String url = "http://" + host + ":" + port;
        writeKubeconfig(kubeconfig, url);

        try (KubernetesClient client = Lab.client(url)) {
            // What a new cluster has, plus the namespace netattach is installed in; users create their own.
            for (String ns : List.of("default", "kube-system", "kube-public", "kube-node-lease", "netattach-system")) {
                client.namespaces().resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder()
                        .withNewMetadata().withName(ns).endMetadata().build()).createOr(r -> r.update());
            }
            for (String file : options.all("apply")) {
                try (var in = new FileInputStream(file)) {
                    client.load(in).createOrReplace();
                } catch (Exception e) {
                    System.err.println("lab API server: cannot apply " + file + ": " + e.getMessage());
                    server.destroy();
                    System.exit(1);
                }
            }
        }
        System.out.println("lab API server (fabric8 mock, CRUD mode; a stand-in, not a real API server) on " + url
                + "; kubeconfig " + kubeconfig);
        expireEvents(url, java.time.Duration.parse("PT" + options.get("event-ttl", "60s").toUpperCase()),
                Integer.parseInt(options.get("max-events", "500")));
        Runtime.getRuntime().addShutdownHook(new Thread(server::destroy));
        new CountDownLatch(1).await();
    }

    /**
     * Events expire, as on a real API server (kube-apiserver --event-ttl, 1 h by default), here after {@code ttl},
     * and beyond the newest {@code max}: the mock scans every object of a store on every request, so a store that
     * only grows (an AddedInterface Event per attached pod) made each request slower: after 6,000 pods the stand-in
     * spent 17 ms of CPU per pod, more than all of netattach's services together (docs/benchmarks.md, "Attach").
     * Events now have their own store (DiscoveryDispatcher), so they no longer slow pod requests either.
     */
    private static void expireEvents(String url, java.time.Duration ttl, int max) {
        KubernetesClient client = Lab.client(url);
        var timer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "event-ttl");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(() -> {
            try {
                java.time.Instant limit = java.time.Instant.now().minus(ttl);
                List<io.fabric8.kubernetes.api.model.Event> events = new java.util.ArrayList<>(client.v1().events().inAnyNamespace().list().getItems());
                events.sort(java.util.Comparator.comparing(LabApiServer::lastSeen));
                int over = events.size() - max;
                for (var e : events) {
                    if (over-- > 0 || lastSeen(e).isBefore(limit)) client.resource(e).delete();
                }
            } catch (RuntimeException ex) {
                System.err.println("lab API server: event expiry: " + ex.getMessage());
            }
        }, 2, 2, java.util.concurrent.TimeUnit.SECONDS);
    }

    private static java.time.Instant lastSeen(io.fabric8.kubernetes.api.model.Event e) {
        String at = e.getLastTimestamp() != null ? e.getLastTimestamp() : e.getMetadata().getCreationTimestamp();
        try {
            return java.time.Instant.parse(at);
        } catch (RuntimeException x) {
            return java.time.Instant.now(); // no readable time: kept (only the count limit applies to it)
        }
    }

    private static void writeKubeconfig(Path file, String url) throws Exception {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, """
                apiVersion: v1
                kind: Config
                clusters:
                - name: netattach-lab
                  cluster:
                    server: %s
                contexts:
                - name: netattach-lab
                  context:
                    cluster: netattach-lab
                    user: lab-admin
                    namespace: default
                current-context: netattach-lab
                users:
                - name: lab-admin
                  user:
                    token: %s
                """.formatted(url, Lab.TOKEN));
    }

    /**
     * The mock numbers UIDs from 1 (fabric8's Utils.generateId); a real API server's are random. Two lab API
     * servers (a hub and a member cluster) would give their pods the same UIDs: the count starts at a random
     * point of this process instead, far from any other's.
     */
    private static void randomUids() {
        try {
            java.lang.reflect.Field f = io.fabric8.kubernetes.client.utils.Utils.class.getDeclaredField("leastSigBits");
            f.setAccessible(true);
            ((java.util.concurrent.atomic.AtomicLong) f.get(null)).set(new java.security.SecureRandom().nextLong() & 0x7fff_ffff_0000_0000L);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot start the mock's UIDs at a random point", e);
        }
    }
}
