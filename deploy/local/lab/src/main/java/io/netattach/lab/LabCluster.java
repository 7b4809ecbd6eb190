package io.netattach.lab;

import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Stand-ins for what a cluster's control plane and kubelets do, against the lab API server:
 * a scheduler (sets spec.nodeName round-robin), the Deployment and StatefulSet controllers (pods from
 * templates; StatefulSet pods named -0, -1, ... and recreated under the same name with a new UID), a
 * garbage collector for their pods, and one {@link LabKubelet} per node. Level-triggered: every few seconds
 * each controller compares desired and observed and acts; informers just make it react sooner.
 */
final class LabCluster {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final KubernetesClient client;
    private final List<String> nodes;
    private final List<LabKubelet> kubelets = new ArrayList<>();
    private final AtomicInteger nextNode = new AtomicInteger();
    private SharedIndexInformer<Pod> pods;
    private SharedIndexInformer<Deployment> deployments;
    private SharedIndexInformer<StatefulSet> statefulSets;
    /** owner UID -> pods it created that the cache does not show yet (namespace/name -> when). */
    private final Map<String, Map<String, Long>> expected = new java.util.concurrent.ConcurrentHashMap<>();
    /** At most one reconcile waiting: a burst of watch events costs one pass, not one pass per event. */
    private final java.util.concurrent.atomic.AtomicBoolean queued = new java.util.concurrent.atomic.AtomicBoolean();
    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "lab-controllers");
        t.setDaemon(true);
        return t;
    });

    private LabCluster(KubernetesClient client, List<String> nodes) {
        this.client = client;
        this.nodes = nodes;
    }

    static void run(Lab.Options options) throws Exception {
        String api = options.get("api", "http://127.0.0.1:6443");
        List<String> nodes = List.of(options.get("nodes", "node1,node2").split(","));
        KubernetesClient client = Lab.client(api, 3);
        LabCluster cluster = new LabCluster(client, nodes);
        for (String node : nodes) {
            client.nodes().resource(new NodeBuilder().withNewMetadata().withName(node)
                    .addToLabels("kubernetes.io/hostname", node).endMetadata().build()).createOr(r -> r.update());
            cluster.kubelets.add(new LabKubelet(client, node, options));
        }
        cluster.start();
        System.out.println("lab cluster stand-ins running: scheduler, deployment and statefulset controllers, kubelets on " + nodes);
        new CountDownLatch(1).await();
    }

    private void start() {
        Runnable kick = () -> {
            if (queued.compareAndSet(false, true)) {
                loop.execute(() -> {
                    queued.set(false);
                    reconcileAll();
                });
            }
        };
        ResourceEventHandler<Object> any = new ResourceEventHandler<>() {
            @Override public void onAdd(Object o) { kick.run(); }
            @Override public void onUpdate(Object a, Object b) { kick.run(); }
            @Override public void onDelete(Object o, boolean unknown) { kick.run(); }
        };
        // One watch per kind for the whole process, as the controllers of a cluster read from informer caches:
        // listing every pod from the API server on every event was most of the lab's CPU under load.
        // Pod updates (netattach's status writes, mostly) change nothing the scheduler and the controllers act on:
        // only a pod's creation and deletion wake them (a pass is O(pods); the 2 s pass catches anything else).
        ResourceEventHandler<Pod> podsAddedOrDeleted = new ResourceEventHandler<>() {
            @Override public void onAdd(Pod p) { kick.run(); }
            @Override public void onUpdate(Pod a, Pod b) { }
            @Override public void onDelete(Pod p, boolean unknown) { kick.run(); }
        };
        pods = client.pods().inAnyNamespace().inform(podsAddedOrDeleted, 30_000);
        deployments = client.apps().deployments().inAnyNamespace().inform(cast(any), 30_000);
        statefulSets = client.apps().statefulSets().inAnyNamespace().inform(cast(any), 30_000);
        kubelets.forEach(k -> pods.addEventHandler(k.handler()));
        loop.scheduleWithFixedDelay(this::reconcileAll, 1, 2, TimeUnit.SECONDS);
    }

    @SuppressWarnings("unchecked")
    private static <T> ResourceEventHandler<T> cast(ResourceEventHandler<Object> h) {
        return (ResourceEventHandler<T>) (ResourceEventHandler<?>) h;
    }

    private void reconcileAll() {
        try {
            List<Pod> pods = this.pods.getStore().list();
            List<Deployment> deployments = this.deployments.getStore().list();
            List<StatefulSet> statefulSets = this.statefulSets.getStore().list();
            forgetSeen(pods);
            deployments.forEach(d -> reconcileDeployment(d, pods));
            statefulSets.forEach(s -> reconcileStatefulSet(s, pods));
            collectOrphans(pods, deployments, statefulSets);
            schedule(pods);
        } catch (RuntimeException e) {
            System.err.println("lab controllers: " + e.getMessage());
        }
    }

    /**
     * The cache may not show a pod created a moment ago: such pods count as owned until they appear (or for
     * 30 s), so a Deployment does not get a second replica for it (a controller's "expectations").
     */
    private void forgetSeen(List<Pod> pods) {
        var seen = new java.util.HashSet<String>();
        pods.forEach(p -> seen.add(p.getMetadata().getNamespace() + "/" + p.getMetadata().getName()));
        long now = System.nanoTime();
        expected.values().forEach(m -> m.entrySet().removeIf(e -> seen.contains(e.getKey()) || now - e.getValue() > TimeUnit.SECONDS.toNanos(30)));
        expected.values().removeIf(Map::isEmpty);
    }

    /** Scheduler: every pod without a node gets the next node, round-robin. */
    private void schedule(List<Pod> pods) {
        for (Pod pod : pods) {
            if (pod.getSpec() == null || pod.getSpec().getNodeName() != null || pod.getMetadata().getDeletionTimestamp() != null) {
                continue;
            }
            String node = nodes.get(Math.floorMod(nextNode.getAndIncrement(), nodes.size()));
            // edit reads the API server's pod: a pod the cache shows unbound may be bound already, and stays where it is
            boolean[] bound = {false};
            client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName()).edit(p -> {
                if (p.getSpec().getNodeName() != null) return p;
                bound[0] = true;
                return new PodBuilder(p).editSpec().withNodeName(node).endSpec().build();
            });
            if (bound[0]) {
                System.out.printf("scheduler: %s/%s -> %s%n", pod.getMetadata().getNamespace(), pod.getMetadata().getName(), node);
            }
        }
    }

    private void reconcileDeployment(Deployment d, List<Pod> pods) {
        String ns = d.getMetadata().getNamespace();
        int want = d.getSpec().getReplicas() == null ? 1 : d.getSpec().getReplicas();
        List<Pod> owned = ownedBy(pods, d.getMetadata().getUid());
        int pending = expected.getOrDefault(d.getMetadata().getUid(), Map.of()).size();
        for (int i = owned.size() + pending; i < want; i++) {
            String name = d.getMetadata().getName() + "-" + suffix(10) + "-" + suffix(5);
            create(ns, name, d.getSpec().getTemplate(), "Deployment", "apps/v1", d.getMetadata().getName(), d.getMetadata().getUid());
        }
        for (int i = want; i < owned.size(); i++) {
            client.resource(owned.get(i)).delete();
        }
    }

    private void reconcileStatefulSet(StatefulSet s, List<Pod> pods) {
        String ns = s.getMetadata().getNamespace();
        int want = s.getSpec().getReplicas() == null ? 1 : s.getSpec().getReplicas();
        List<Pod> owned = ownedBy(pods, s.getMetadata().getUid());
        for (int ordinal = 0; ordinal < want; ordinal++) {
            String name = s.getMetadata().getName() + "-" + ordinal;
            if (owned.stream().noneMatch(p -> p.getMetadata().getName().equals(name))
                    && !expected.getOrDefault(s.getMetadata().getUid(), Map.of()).containsKey(ns + "/" + name)) {
                create(ns, name, s.getSpec().getTemplate(), "StatefulSet", "apps/v1", s.getMetadata().getName(), s.getMetadata().getUid());
            }
        }
        for (Pod p : owned) {
            String name = p.getMetadata().getName();
            int ordinal = Integer.parseInt(name.substring(name.lastIndexOf('-') + 1));
            if (ordinal >= want) {
                client.resource(p).delete();
            }
        }
    }

    /** No garbage collector in the stand-in API server: delete pods whose owner is gone. */
    private void collectOrphans(List<Pod> pods, List<Deployment> deployments, List<StatefulSet> statefulSets) {
        var owners = new java.util.HashSet<String>();
        deployments.forEach(d -> owners.add(d.getMetadata().getUid()));
        statefulSets.forEach(s -> owners.add(s.getMetadata().getUid()));
        for (Pod p : pods) {
            var refs = p.getMetadata().getOwnerReferences();
            if (refs != null && !refs.isEmpty() && refs.stream().noneMatch(r -> owners.contains(r.getUid()))) {
                client.resource(p).delete();
            }
        }
    }

    private static List<Pod> ownedBy(List<Pod> pods, String uid) {
        return pods.stream().filter(p -> p.getMetadata().getOwnerReferences() != null
                && p.getMetadata().getOwnerReferences().stream().anyMatch(r -> uid.equals(r.getUid()))).toList();
    }

    private void create(String ns, String name, PodTemplateSpec template, String kind, String apiVersion, String owner, String ownerUid) {
        Map<String, String> labels = template.getMetadata() == null ? Map.of() : template.getMetadata().getLabels();
        Map<String, String> annotations = template.getMetadata() == null ? Map.of() : template.getMetadata().getAnnotations();
        Pod pod = new PodBuilder().withNewMetadata().withNamespace(ns).withName(name)
                .withLabels(labels).withAnnotations(annotations)
                .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion(apiVersion).withKind(kind).withName(owner)
                        .withUid(ownerUid).withController(true).build())
                .endMetadata().withSpec(template.getSpec()).build();
        expected.computeIfAbsent(ownerUid, k -> new java.util.concurrent.ConcurrentHashMap<>()).put(ns + "/" + name, System.nanoTime());
        client.resource(pod).create();
        System.out.printf("%s controller: created %s/%s%n", kind, ns, name);
    }

    private static String suffix(int length) {
        String alphabet = "bcdfghjklmnpqrstvwxz2456789";
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < length; i++) {
            sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
        }
        return sb.toString();
    }
}
