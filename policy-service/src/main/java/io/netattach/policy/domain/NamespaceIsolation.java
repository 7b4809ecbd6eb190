package io.netattach.policy.domain;

import java.util.List;
import java.util.Set;

/**
 * Multus's namespaceIsolation: a pod may use NADs of its own namespace and of the global namespaces only. netattach
 * ships it on with {@code default} global, which is what Multus does for a NAD referenced without a namespace and
 * what Multus YAMLs expect; operators narrow or widen the global list.
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
        List<String> global = globalNamespaces.stream().sorted().toList();
        return new Verdict.Deny(Decision.NAMESPACE_ISOLATION, "pod in namespace " + pod.namespace() + " may not use network "
                + selection.network() + ": namespace isolation allows only the pod's namespace and the global namespaces "
                + (global.isEmpty() ? "(none)" : global.toString()) + "; to allow it, set " + Setting.GLOBAL_NAMESPACES
                + " to include \"" + selection.namespace() + "\", or turn namespace isolation off (" + Setting.NAMESPACE_ISOLATION.key() + "=false)");
    }
}
