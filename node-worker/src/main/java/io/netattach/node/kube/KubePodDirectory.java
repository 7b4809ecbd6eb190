package io.netattach.node.kube;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.netattach.node.domain.PodDirectory;
import io.netattach.node.domain.PodRef;
import org.jboss.logging.Logger;

import java.util.Map;

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
    private static final Logger LOG = Logger.getLogger(KubePodDirectory.class);

    private final KubernetesClient client;
    private final SharedIndexInformer<Pod> nodePods;

    /**
     * Watches the pods bound to this node, as the kubelet does (a field selector on spec.nodeName): an ADD whose
     * pod is in that cache under the sandbox's UID is answered from memory, with no API request in the pod's start
     * path (docs/benchmarks.md, "CNI"); any other ADD reads the pod from the API server. Starts without waiting.
     */
    public KubePodDirectory(KubernetesClient client, String nodeName) {
        this.client = client;
        this.nodePods = client.pods().inAnyNamespace().withField("spec.nodeName", nodeName).runnableInformer(0);
        nodePods.start().whenComplete((v, t) -> {
            if (t != null) LOG.warnf("the watch of node %s's pods did not start (%s): every ADD reads its pod from the API server", nodeName, t.getMessage());
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
