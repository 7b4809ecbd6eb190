package io.netattach.attach.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.ReducedStateItemStore;
import io.netattach.attach.domain.InvalidDefinitionException;
import io.netattach.attach.domain.NetworkDefinition;
import io.netattach.attach.domain.NetworkDefinitionParser;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Informers on pods and NetworkAttachmentDefinitions (all namespaces), reduced to {@link PodView}s and
 * parsed {@link NetworkDefinition}s. Callers get told which pod UID or which NAD changed.
 */
@ApplicationScoped
public class ClusterView {
    private static final Logger LOG = Logger.getLogger(ClusterView.class);
    public static final String RESOURCE_NAME = "k8s.v1.cni.cncf.io/resourceName";
    public static final ResourceDefinitionContext NAD = new ResourceDefinitionContext.Builder()
            .withGroup("k8s.cni.cncf.io").withVersion("v1").withKind("NetworkAttachmentDefinition")
            .withPlural("network-attachment-definitions").withNamespaced(true).build();

    /** Parsed NAD, or why it cannot be used. */
    public sealed interface Definition permits Valid, Invalid {
    }

    public record Valid(NetworkDefinition definition) implements Definition {
    }

    public record Invalid(String reason) implements Definition {
    }

    @Inject KubernetesClient client;
    // off by default: in a cluster the pod garbage collector deletes the pods of a deleted node, and their
    // deletion releases the addresses; on, it needs nodes get/list/watch (see docs/attach.md)
    @org.eclipse.microprofile.config.inject.ConfigProperty(name = "netattach.attach.watch-nodes", defaultValue = "false") boolean watchNodes;

    private final Map<String, PodView> pods = new ConcurrentHashMap<>();
    private final java.util.Set<String> terminating = ConcurrentHashMap.newKeySet();
    private final java.util.Set<String> deleting = ConcurrentHashMap.newKeySet();
    private final Map<String, Definition> definitions = new ConcurrentHashMap<>();
    private SharedIndexInformer<Pod> podInformer;
    private SharedIndexInformer<GenericKubernetesResource> nadInformer;
    private SharedIndexInformer<io.fabric8.kubernetes.api.model.Node> nodeInformer;
    private volatile CompletableFuture<Void> definitionsListed = new CompletableFuture<>();
    private long podsTerm;

    public interface Listener {
        void podChanged(PodView now);

        void podDeleted(PodView last);

        void definitionChanged(String key);

        /** A Node object was deleted (present = false) or (re)appeared (present = true). */
        void nodeChanged(String node, boolean present);
    }

    /**
     * NADs: every replica watches them (explain and the REST API need them on standbys too). Does not wait
     * for the first list: an API server that cannot be reached yet makes the service not ready, not dead.
     */
    public void startDefinitions(Listener listener) {
        nadInformer = client.genericKubernetesResources(NAD).inAnyNamespace().runnableInformer(0);
        nadInformer.addEventHandler(new ResourceEventHandler<>() {
            public void onAdd(GenericKubernetesResource r) { nad(r, listener); }
            public void onUpdate(GenericKubernetesResource o, GenericKubernetesResource r) { nad(r, listener); }
            public void onDelete(GenericKubernetesResource r, boolean unknown) {
                String key = r.getMetadata().getNamespace() + "/" + r.getMetadata().getName();
                definitions.remove(key);
                listener.definitionChanged(key);
            }
        });
        definitionsListed = start(nadInformer, "NetworkAttachmentDefinitions");
    }

    /**
     * Starts an informer that never gives up: fabric8's default stops an informer for good on any error before
     * its first list (API server not reachable yet, RBAC not applied yet) and on watch errors other than 410
     * after it; a controller whose informer silently stopped would act on a frozen cache. Every error is
     * logged and retried with the client's backoff instead; readiness shows whether the caches are synced.
     */
    private static <T extends io.fabric8.kubernetes.api.model.HasMetadata> CompletableFuture<Void> start(SharedIndexInformer<T> informer, String what) {
        informer.exceptionHandler((started, t) -> {
            LOG.warnf("informer on %s: %s; retrying%s", what, t.getMessage() == null ? t.toString() : t.getMessage(),
                    started ? "" : " (not synced yet: not ready)");
            return true;
        });
        return informer.start().whenComplete((v, e) -> {
            if (e != null) LOG.errorf("informer on %s stopped: %s", what, e.getMessage());
            else LOG.infof("informer on %s synced", what);
        }).toCompletableFuture();
    }

    /** Empty when the caches this replica needs are synced; else what is not (for the readiness check). */
    public Optional<String> notSynced() {
        SharedIndexInformer<GenericKubernetesResource> nads = nadInformer;
        if (nads == null) return Optional.empty(); // controller off (netattach.attach.controller.enabled=false): no cache to wait for
        if (!nads.hasSynced()) return Optional.of("NetworkAttachmentDefinitions not listed yet");
        SharedIndexInformer<Pod> p = podInformer;
        if (p != null && !p.hasSynced()) return Optional.of("pods not listed yet");
        return Optional.empty();
    }

    /**
     * Pods of every namespace. The informer's own store keeps only uid, namespace, name and resourceVersion
     * per pod; the fields we act on live in {@link PodView}s, and only for pods that concern us, so memory
     * stays small at 100k pods. The fieldSelector spec.nodeName!= would filter on the server; we filter
     * here, so it works on every API server (the test mock ignores that selector).
     */
    public synchronized void startPods(Listener listener) {
        long term = ++podsTerm;
        // pods only once the NADs are known: a pod seen first would get a false NetworkNotFound
        definitionsListed.thenRun(() -> {
            synchronized (this) {
                if (term == podsTerm) informPods(listener);
            }
        });
    }

    private void informPods(Listener listener) {
        podInformer = client.pods().inAnyNamespace().runnableInformer(0);
        podInformer.itemStore(new ReducedStateItemStore<>(ReducedStateItemStore.UID_KEY_STATE, Pod.class,
                client.getKubernetesSerialization(), "metadata.namespace", "metadata.name"));
        podInformer.addEventHandler(new ResourceEventHandler<>() {
            public void onAdd(Pod p) { pod(p, listener); }
            public void onUpdate(Pod o, Pod p) { pod(p, listener); }
            public void onDelete(Pod p, boolean unknown) {
                String uid = p.getMetadata().getUid();
                deleting.add(uid); // before it leaves pods, until the listener has taken it over: see podUids
                try {
                    terminating.remove(uid);
                    PodView last = pods.remove(uid);
                    PodView view = PodView.of(p);
                    // the delete event may carry a reduced object: our last full view knows node and status
                    if (last != null) listener.podDeleted(view.nodeName() != null && view.networkStatus() != null ? view : last);
                    else if (view.concernsUs()) listener.podDeleted(view);
                } finally {
                    deleting.remove(uid);
                }
            }
        });
        start(podInformer, "pods");
        if (!watchNodes) return;
        nodeInformer = client.nodes().runnableInformer(0);
        nodeInformer.itemStore(new ReducedStateItemStore<>(ReducedStateItemStore.NAME_KEY_STATE, io.fabric8.kubernetes.api.model.Node.class,
                client.getKubernetesSerialization()));
        nodeInformer.addEventHandler(new ResourceEventHandler<>() {
            public void onAdd(io.fabric8.kubernetes.api.model.Node n) { listener.nodeChanged(n.getMetadata().getName(), true); }
            public void onUpdate(io.fabric8.kubernetes.api.model.Node o, io.fabric8.kubernetes.api.model.Node n) { }
            public void onDelete(io.fabric8.kubernetes.api.model.Node n, boolean unknown) { listener.nodeChanged(n.getMetadata().getName(), false); }
        });
        start(nodeInformer, "nodes");
    }

    public synchronized void stopPods() {
        podsTerm++;
        if (podInformer != null) podInformer.close();
        if (nodeInformer != null) nodeInformer.close();
        podInformer = null;
        nodeInformer = null;
        pods.clear();
        terminating.clear();
    }

    public void stop() {
        stopPods();
        if (nadInformer != null) nadInformer.close();
    }

    private void pod(Pod p, Listener listener) {
        PodView view = PodView.of(p);
        if (p.getMetadata().getDeletionTimestamp() != null) {
            // terminating (graceful deletion, finalizers): nothing more to attach; the delete event follows and tears down
            terminating.add(view.uid());
            return;
        }
        if (view.concernsUs()) {
            PodView before = pods.put(view.uid(), view);
            if (!view.sameAs(before)) listener.podChanged(view);
        } else if (pods.remove(view.uid()) != null) {
            listener.podChanged(view);
        }
    }

    @SuppressWarnings("unchecked")
    private void nad(GenericKubernetesResource r, Listener listener) {
        String ns = r.getMetadata().getNamespace();
        String name = r.getMetadata().getName();
        Object spec = r.getAdditionalProperties().get("spec");
        String config = spec instanceof Map<?, ?> m && m.get("config") instanceof String s ? s : null;
        String resourceName = r.getMetadata().getAnnotations() == null ? null : r.getMetadata().getAnnotations().get(RESOURCE_NAME);
        Definition d;
        try {
            d = new Valid(NetworkDefinitionParser.parse(ns, name, config, resourceName));
        } catch (InvalidDefinitionException e) {
            d = new Invalid(e.getMessage());
        }
        definitions.put(ns + "/" + name, d);
        listener.definitionChanged(ns + "/" + name);
    }

    /** True once the pod informer has listed every pod (its store is then the cluster's pods as of the list). */
    public boolean podsSynced() {
        SharedIndexInformer<Pod> i = podInformer;
        return i != null && i.hasSynced();
    }

    /**
     * UIDs of every pod in the informer's store, whether it concerns us or not, and of every pod that concerns
     * us whose delete event has not been through {@link Listener#podDeleted} yet. fabric8 drops a deleted pod
     * from its store before it calls the handlers; here a pod stays until podDeleted has returned (the sets are
     * read in the order a pod passes through them). So a caller that reads this, then what its listener took
     * over (the teardowns under way), never misses a pod that concerns us in between: the IPAM leak sweep
     * relies on that.
     */
    public java.util.Set<String> podUids() {
        SharedIndexInformer<Pod> i = podInformer;
        if (i == null) return java.util.Set.of();
        java.util.Set<String> out = new java.util.HashSet<>();
        for (Pod p : i.getStore().list()) {
            if (p.getMetadata() != null && p.getMetadata().getUid() != null) out.add(p.getMetadata().getUid());
        }
        out.addAll(pods.keySet());
        out.addAll(deleting);
        return out;
    }

    public Optional<PodView> pod(String uid) {
        return Optional.ofNullable(pods.get(uid));
    }

    /** The pod has a deletionTimestamp (it is going away: attach nothing more to it). */
    public boolean terminating(String uid) {
        return terminating.contains(uid);
    }

    public Iterable<PodView> pods() {
        return pods.values();
    }

    public Optional<Definition> definition(String key) {
        return Optional.ofNullable(definitions.get(key));
    }
}
