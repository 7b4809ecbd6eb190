package io.netattach.policy.domain.rbac;

import java.util.List;

/** One PolicyRule of a Role or ClusterRole. Empty resourceNames = every name. */
public record RoleRule(List<String> apiGroups, List<String> resources, List<String> verbs, List<String> resourceNames) {
    public RoleRule {
        apiGroups = apiGroups == null ? List.of() : List.copyOf(apiGroups);
        resources = resources == null ? List.of() : List.copyOf(resources);
        verbs = verbs == null ? List.of() : List.copyOf(verbs);
        resourceNames = resourceNames == null ? List.of() : List.copyOf(resourceNames);
    }

    /** Kubernetes RBAC matching: "*" matches all in apiGroups, resources and verbs; resourceNames has no wildcard. */
    public boolean permits(String verb, String group, String resource, String name) {
        return matches(verbs, verb) && matches(apiGroups, group) && matches(resources, resource)
                && (resourceNames.isEmpty() || resourceNames.contains(name));
    }

    private static boolean matches(List<String> allowed, String value) {
        return allowed.contains("*") || allowed.contains(value);
    }
}
