package io.netattach.policy.domain.rbac;

import java.util.List;

/**
 * A RoleBinding (namespace set) or ClusterRoleBinding (namespace null). roleKind is "Role" or "ClusterRole";
 * a RoleBinding to a ClusterRole grants that ClusterRole's rules inside the binding's namespace only.
 */
public record Binding(String namespace, String name, String roleKind, String roleName, List<Subject> subjects) {
    public Binding {
        subjects = subjects == null ? List.of() : List.copyOf(subjects);
    }
}
