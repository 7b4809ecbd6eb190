package io.netattach.policy.domain;

import io.netattach.policy.domain.rbac.Binding;
import io.netattach.policy.domain.rbac.RbacSource;
import io.netattach.policy.domain.rbac.Role;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** RBAC objects held in lists, for domain tests. */
public final class InMemoryRbac implements RbacSource {
    public final List<Role> roles = new ArrayList<>();
    public final List<Binding> bindings = new ArrayList<>();
    public boolean ready = true;
    public long version = 1;

    @Override public boolean ready() { return ready; }
    @Override public long version() { return version; }

    @Override
    public List<Binding> roleBindings(String namespace) {
        return bindings.stream().filter(b -> namespace.equals(b.namespace())).toList();
    }

    @Override
    public List<Binding> clusterRoleBindings() {
        return bindings.stream().filter(b -> b.namespace() == null).toList();
    }

    @Override
    public Optional<Role> role(String namespace, String name) {
        return roles.stream().filter(r -> namespace.equals(r.namespace()) && r.name().equals(name)).findFirst();
    }

    @Override
    public Optional<Role> clusterRole(String name) {
        return roles.stream().filter(r -> r.namespace() == null && Objects.equals(r.name(), name)).findFirst();
    }
}
