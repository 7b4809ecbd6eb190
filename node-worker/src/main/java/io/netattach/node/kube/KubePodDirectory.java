package io.netattach.node.kube;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.netattach.node.domain.PodDirectory;
import io.netattach.node.domain.PodRef;

import java.util.Map;

/**
 * Reads the pod of a sandbox from the API server, one GET per CNI ADD (as Multus's thin plugin does): always the
 * current object, whatever this node saw before, and only the pods of sandboxes this node really starts.
 */
public final class KubePodDirectory implements PodDirectory {
    /** The networks annotation Multus users write on pods. */
    static final String NETWORKS = "k8s.v1.cni.cncf.io/networks";
    /** Set by the kubelet on the API's copy of a static pod; that copy has a UID of its own. */
    static final String MIRROR = "kubernetes.io/config.mirror";

    private final KubernetesClient client;

    public KubePodDirectory(KubernetesClient client) {
        this.client = client;
    }

    @Override
    public Answer lookup(PodRef ref) {
        Pod pod;
        try {
            pod = client.pods().inNamespace(ref.namespace()).withName(ref.name()).get();
        } catch (KubernetesClientException e) {
            throw new LookupFailed("reading pod " + ref.subject() + " from the API server: " + e.getMessage(), e);
        }
        return answer(ref, pod);
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
