package io.netattach.attach.kube;

import io.fabric8.kubernetes.api.model.Pod;

import java.util.Map;

/**
 * The few fields of a pod attach-service needs, kept instead of the whole object so memory stays small at
 * 100k pods.
 */
public record PodView(String uid, String namespace, String name, String nodeName, String serviceAccount,
                      Map<String, String> labels, String networks, String networkStatus, String skippedNetworks,
                      String resourceVersion) {
    public static final String NETWORKS = "k8s.v1.cni.cncf.io/networks";
    public static final String NETWORK_STATUS = "k8s.v1.cni.cncf.io/network-status";
    /** Written by attach-service: networks left out because the node's kernel lacks their kind (see SkippedNetwork). */
    public static final String SKIPPED_NETWORKS = "netattach.io/skipped-networks";

    public PodView(String uid, String namespace, String name, String nodeName, String serviceAccount,
                   Map<String, String> labels, String networks, String networkStatus) {
        this(uid, namespace, name, nodeName, serviceAccount, labels, networks, networkStatus, null, null);
    }

    /** Equal in everything the controller acts on (the resourceVersion changes with every write of the pod). */
    public boolean sameAs(PodView other) {
        return other != null && equals(new PodView(other.uid, other.namespace, other.name, other.nodeName, other.serviceAccount,
                other.labels, other.networks, other.networkStatus, other.skippedNetworks, resourceVersion));
    }

    public static PodView of(Pod pod) {
        var meta = pod.getMetadata();
        Map<String, String> annotations = meta.getAnnotations() == null ? Map.of() : meta.getAnnotations();
        var spec = pod.getSpec();
        return new PodView(meta.getUid(), meta.getNamespace(), meta.getName(),
                spec == null ? null : spec.getNodeName(),
                spec == null ? null : spec.getServiceAccountName(),
                meta.getLabels() == null ? Map.of() : Map.copyOf(meta.getLabels()),
                annotations.get(NETWORKS), annotations.get(NETWORK_STATUS), annotations.get(SKIPPED_NETWORKS), meta.getResourceVersion());
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /**
     * Only pods bound to a node that ask for networks, or that still carry secondary entries in
     * network-status (to be detached), concern us; a status with only the cluster network's entry does not.
     */
    public boolean concernsUs() {
        if (nodeName == null || nodeName.isEmpty()) return false;
        if (networks != null && !networks.isBlank()) return true;
        return networkStatus != null && PodWriter.readStatus(JSON, networkStatus).stream().anyMatch(io.netattach.attach.domain.NetworkStatus::isSecondary);
    }

    public String ref() {
        return namespace + "/" + name;
    }
}
