package io.netattach.policy.domain;

/** May the service account {@code namespace/serviceAccount} do {@code verb} on {@code group/resource} named {@code name} in {@code resourceNamespace}? */
public record AccessQuestion(String namespace, String serviceAccount, String verb, String group, String resource,
                             String resourceNamespace, String name) {
    public static final String NAD_GROUP = "k8s.cni.cncf.io";
    public static final String NAD_RESOURCE = "network-attachment-definitions";

    public static AccessQuestion forNetwork(PodRef pod, Selection selection, String verb) {
        return new AccessQuestion(pod.namespace(), pod.serviceAccount(), verb, NAD_GROUP, NAD_RESOURCE,
                selection.namespace(), selection.name());
    }

    /** The user name Kubernetes gives a service account. */
    public String user() {
        return "system:serviceaccount:" + namespace + ":" + serviceAccount;
    }
}
