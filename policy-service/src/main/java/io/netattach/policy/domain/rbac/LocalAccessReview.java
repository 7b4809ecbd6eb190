package io.netattach.policy.domain.rbac;

import io.netattach.policy.domain.AccessAnswer;
import io.netattach.policy.domain.AccessQuestion;
import io.netattach.policy.domain.AccessReview;

import java.util.List;
import java.util.Optional;

/**
 * Evaluates RBAC the way the API server's RBAC authorizer does, for service accounts: ClusterRoleBindings grant
 * everywhere, RoleBindings in the resource's namespace grant there (to a Role of that namespace or a ClusterRole).
 * A service account is also in the groups system:serviceaccounts, system:serviceaccounts:&lt;ns&gt; and
 * system:authenticated. Other authorizers (webhooks, Node) are not modelled: the SubjectAccessReview evaluator is
 * the authoritative one on a real cluster.
 */
public final class LocalAccessReview implements AccessReview {
    private final RbacSource source;

    public LocalAccessReview(RbacSource source) {
        this.source = source;
    }

    @Override
    public String name() {
        return "local";
    }

    @Override
    public long version() {
        return source.version();
    }

    @Override
    public AccessAnswer check(AccessQuestion q) {
        if (!source.ready()) return new AccessAnswer.Unknown("RBAC caches are not synced with the API server");
        for (Binding b : source.clusterRoleBindings()) {
            if (!"ClusterRole".equals(b.roleKind()) || !bindsServiceAccount(b, q)) continue;
            Optional<Role> role = source.clusterRole(b.roleName());
            if (role.isPresent() && permits(role.get().rules(), q)) {
                return new AccessAnswer.Granted("ClusterRoleBinding " + b.name() + " to ClusterRole " + b.roleName());
            }
        }
        for (Binding b : source.roleBindings(q.resourceNamespace())) {
            if (!bindsServiceAccount(b, q)) continue;
            Optional<Role> role = switch (b.roleKind()) {
                case "Role" -> source.role(b.namespace(), b.roleName());
                case "ClusterRole" -> source.clusterRole(b.roleName());
                default -> Optional.empty();
            };
            if (role.isPresent() && permits(role.get().rules(), q)) {
                return new AccessAnswer.Granted("RoleBinding " + b.namespace() + "/" + b.name() + " to " + b.roleKind() + " " + b.roleName());
            }
        }
        return new AccessAnswer.Refused("no Role or ClusterRole bound to it grants this");
    }

    private static boolean permits(List<RoleRule> rules, AccessQuestion q) {
        return rules.stream().anyMatch(r -> r.permits(q.verb(), q.group(), q.resource(), q.name()));
    }

    private static boolean bindsServiceAccount(Binding b, AccessQuestion q) {
        for (Subject s : b.subjects()) {
            boolean match = switch (s.kind() == null ? "" : s.kind()) {
                // A ServiceAccount subject without namespace means the binding's namespace.
                case "ServiceAccount" -> q.serviceAccount().equals(s.name())
                        && q.namespace().equals(s.namespace() == null || s.namespace().isEmpty() ? b.namespace() : s.namespace());
                case "User" -> q.user().equals(s.name());
                case "Group" -> "system:serviceaccounts".equals(s.name())
                        || ("system:serviceaccounts:" + q.namespace()).equals(s.name())
                        || "system:authenticated".equals(s.name());
                default -> false;
            };
            if (match) return true;
        }
        return false;
    }
}
