package io.netattach.node.kube;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.netattach.node.domain.InterfaceReport;
import io.netattach.node.domain.PodDirectory;
import io.netattach.node.domain.PodRef;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The pod of a sandbox, from a cache of this node's pods (as the Multus thick daemon keeps one), else read from the
 * API server: the cache answers only for the sandbox's own UID, so a pod it has not seen yet, or another
 * incarnation of it, is always the API server's current object.
 */
public final class KubePodDirectory implements PodDirectory, AutoCloseable {
    /** The networks annotation Multus users write on pods. */
    static final String NETWORKS = "k8s.v1.cni.cncf.io/networks";
    /** Set by the kubelet on the API's copy of a static pod; that copy has a UID of its own. */
    static final String MIRROR = "kubernetes.io/config.mirror";
    /** Written by attach-service once the interfaces are made (as Multus writes it within the ADD). */
    static final String NETWORK_STATUS = "k8s.v1.cni.cncf.io/network-status";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = Logger.getLogger(KubePodDirectory.class);

    private final KubernetesClient client;
    private final SharedIndexInformer<Pod> nodePods;
    /** pod UID -> the ADDs waiting for its network-status, each completed by the watch's update that lists its interfaces. */
    private final Map<String, Set<Waiter>> waiters = new ConcurrentHashMap<>();

    private record Waiter(Map<String, String> made, CompletableFuture<Void> listed) {}

    /**
     * Watches the pods bound to this node, as the kubelet does (a field selector on spec.nodeName): an ADD whose
     * pod is in that cache under the sandbox's UID is answered from memory, with no API request in the pod's start
     * path (docs/benchmarks.md, "CNI"); any other ADD reads the pod from the API server. Starts without waiting.
     */
    public KubePodDirectory(KubernetesClient client, String nodeName) {
        this(client, client.pods().inAnyNamespace().withField("spec.nodeName", nodeName).runnableInformer(0), "node " + nodeName + "'s pods");
    }

    /** With the pods {@code watched} (not started yet) as the cache; the tests' mock API server has no field selectors. */
    KubePodDirectory(KubernetesClient client, SharedIndexInformer<Pod> watched, String what) {
        this.client = client;
        this.nodePods = watched;
        nodePods.addEventHandler(new ResourceEventHandler<>() {
            @Override public void onAdd(Pod pod) { statusSeen(pod); }
            @Override public void onUpdate(Pod old, Pod pod) { statusSeen(pod); }
            @Override public void onDelete(Pod pod, boolean unknownFinalState) { }
        });
        nodePods.start().whenComplete((v, t) -> {
            if (t != null) LOG.warnf("the watch of %s did not start (%s): every ADD reads its pod from the API server", what, t.getMessage());
        });
    }

    @Override
    public Answer lookup(PodRef ref) {
        Pod cached = nodePods.getStore().getByKey(ref.namespace() + "/" + ref.name());
        if (cached != null && ref.uid().equals(cached.getMetadata().getUid())) return answer(ref, cached);
        Pod pod;
        try {
            pod = client.pods().inNamespace(ref.namespace()).withName(ref.name()).get();
        } catch (KubernetesClientException e) {
            throw new LookupFailed("reading pod " + ref.subject() + " from the API server: " + e.getMessage(), e);
        }
        return answer(ref, pod);
    }

    @Override
    public boolean awaitListed(PodRef ref, List<InterfaceReport> made, Duration bound) throws InterruptedException {
        Map<String, String> wanted = new HashMap<>(); // interface -> MAC, "" where none was made
        for (InterfaceReport r : made) {
            if (!r.skipped()) wanted.put(r.iface(), r.mac() == null ? "" : r.mac());
        }
        if (wanted.isEmpty() || bound.isZero() || bound.isNegative()) return wanted.isEmpty();
        Waiter w = new Waiter(wanted, new CompletableFuture<>());
        waiters.computeIfAbsent(ref.uid(), k -> ConcurrentHashMap.newKeySet()).add(w);
        try {
            // registered first, then the cache read: an update between the two completes it through the handler
            Pod cached = nodePods.getStore().getByKey(ref.namespace() + "/" + ref.name());
            if (cached != null && ref.uid().equals(cached.getMetadata().getUid()) && lists(cached, wanted)) return true;
            w.listed().get(bound.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        } finally {
            waiters.computeIfPresent(ref.uid(), (k, set) -> {
                set.remove(w);
                return set.isEmpty() ? null : set;
            });
        }
    }

    private void statusSeen(Pod pod) {
        Set<Waiter> waiting = waiters.get(pod.getMetadata().getUid());
        if (waiting == null) return;
        for (Waiter w : waiting) {
            if (lists(pod, w.made())) w.listed().complete(null);
        }
    }

    /** Whether the pod's network-status has an entry per interface, with its MAC where one is expected. */
    static boolean lists(Pod pod, Map<String, String> made) {
        String status = pod.getMetadata().getAnnotations() == null ? null : pod.getMetadata().getAnnotations().get(NETWORK_STATUS);
        if (status == null) return false;
        Map<String, String> listed = new HashMap<>();
        try {
            for (JsonNode e : JSON.readTree(status)) {
                if (e.hasNonNull("interface")) listed.put(e.get("interface").asText(), e.path("mac").asText(""));
            }
        } catch (Exception e) {
            return false; // not ours to judge; attach-service writes it afresh
        }
        for (Map.Entry<String, String> m : made.entrySet()) {
            String mac = listed.get(m.getKey());
            if (mac == null || !(m.getValue().isEmpty() || m.getValue().equalsIgnoreCase(mac))) return false;
        }
        return true;
    }

    @Override
    public void close() {
        nodePods.close();
    }

    static Answer answer(PodRef ref, Pod pod) {
        if (pod == null) return new NotInCluster();
        Map<String, String> annotations = pod.getMetadata().getAnnotations() == null ? Map.of() : pod.getMetadata().getAnnotations();
        String uid = pod.getMetadata().getUid();
        if (!ref.uid().equals(uid) && !annotations.containsKey(MIRROR)) return new OtherIncarnation(uid);
        if (pod.getMetadata().getDeletionTimestamp() != null) return new Terminating();
        return wantsNetworks(annotations.get(NETWORKS)) ? new WantsNetworks(uid) : new NoNetworks();
    }

    /** Absent, blank or an empty JSON list: none. Anything else, even malformed, is for attach-service to judge. */
    static boolean wantsNetworks(String annotation) {
        if (annotation == null) return false;
        String s = annotation.strip();
        return !s.isEmpty() && !s.replaceAll("\\s", "").equals("[]");
    }
}
