package io.netattach.policy.domain;

import java.util.Set;

/**
 * Multus's namespaceIsolation: a pod may use NADs of its own namespace and of the global namespaces only.
 * Unlike Multus (off by default, globalNamespaces empty), netattach ships it on; the global list stays empty
 * unless the operator names namespaces, so no namespace is shared by accident.
 */
public record NamespaceIsolation(boolean enabled, Set<String> globalNamespaces) {
    public NamespaceIsolation {
        globalNamespaces = Set.copyOf(globalNamespaces);
    }

    public Verdict evaluate(PodRef pod, Selection selection) {
        if (!enabled) return new Verdict.Abstain("namespace isolation is off");
        if (selection.namespace().equals(pod.namespace())) {
            return new Verdict.Pass(Decision.NAMESPACE_ISOLATION, "network is in the pod's namespace " + pod.namespace());
        }
        if (globalNamespaces.contains(selection.namespace())) {
            return new Verdict.Pass(Decision.NAMESPACE_ISOLATION, "namespace " + selection.namespace() + " is global");
        }
        return new Verdict.Deny(Decision.NAMESPACE_ISOLATION, "pod in namespace " + pod.namespace() + " may not use network "
                + selection.network() + ": namespace isolation allows only the pod's namespace and the global namespaces "
                + globalNamespaces.stream().sorted().toList());
    }
}
