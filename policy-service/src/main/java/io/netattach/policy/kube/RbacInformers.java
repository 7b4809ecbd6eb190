package io.netattach.policy.kube;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleRef;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.netattach.policy.domain.rbac.Binding;
import io.netattach.policy.domain.rbac.RbacSource;
import io.netattach.policy.domain.rbac.Role;
import io.netattach.policy.domain.rbac.RoleRule;
import io.netattach.policy.domain.rbac.Subject;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/** Informer caches of Roles, ClusterRoles, RoleBindings and ClusterRoleBindings, read by the local RBAC evaluator. */
public class RbacInformers implements RbacSource, AutoCloseable {
    private final KubernetesClient client;
    private final AtomicLong version = new AtomicLong();
    private SharedIndexInformer<io.fabric8.kubernetes.api.model.rbac.Role> roles;
    private SharedIndexInformer<ClusterRole> clusterRoles;
    private SharedIndexInformer<RoleBinding> roleBindings;
    private SharedIndexInformer<ClusterRoleBinding> clusterRoleBindings;

    public RbacInformers(KubernetesClient client) {
        this.client = client;
    }

    /** Starts the informers without waiting: until they have listed once, {@link #ready()} is false and decisions fail closed. */
    public synchronized void start() {
        if (roles != null) return;
        roles = watch(client.rbac().roles().inAnyNamespace().runnableInformer(0), "Roles");
        clusterRoles = watch(client.rbac().clusterRoles().runnableInformer(0), "ClusterRoles");
        roleBindings = watch(client.rbac().roleBindings().inAnyNamespace().runnableInformer(0), "RoleBindings");
        clusterRoleBindings = watch(client.rbac().clusterRoleBindings().runnableInformer(0), "ClusterRoleBindings");
    }

    private <T extends HasMetadata> SharedIndexInformer<T> watch(SharedIndexInformer<T> informer, String what) {
        informer.addEventHandler(new ResourceEventHandler<>() {
            @Override public void onAdd(T obj) { version.incrementAndGet(); }
            @Override public void onUpdate(T oldObj, T newObj) { version.incrementAndGet(); }
            @Override public void onDelete(T obj, boolean unknown) { version.incrementAndGet(); }
        });
        return Informers.start(informer, what, "RBAC");
    }

    @Override
    public boolean ready() {
        return roles != null && roles.hasSynced() && clusterRoles.hasSynced() && roleBindings.hasSynced() && clusterRoleBindings.hasSynced()
                && roles.isRunning() && clusterRoles.isRunning() && roleBindings.isRunning() && clusterRoleBindings.isRunning();
    }

    @Override
    public long version() {
        return version.get();
    }

    @Override
    public List<Binding> roleBindings(String namespace) {
        return roleBindings.getIndexer().byIndex(Cache.NAMESPACE_INDEX, namespace).stream()
                .map(b -> binding(b.getMetadata().getNamespace(), b.getMetadata().getName(), b.getRoleRef(), b.getSubjects())).toList();
    }

    @Override
    public List<Binding> clusterRoleBindings() {
        return clusterRoleBindings.getStore().list().stream()
                .map(b -> binding(null, b.getMetadata().getName(), b.getRoleRef(), b.getSubjects())).toList();
    }

    @Override
    public Optional<Role> role(String namespace, String name) {
        return Optional.ofNullable(roles.getStore().getByKey(namespace + "/" + name))
                .map(r -> new Role(namespace, name, rules(r.getRules())));
    }

    @Override
    public Optional<Role> clusterRole(String name) {
        return Optional.ofNullable(clusterRoles.getStore().getByKey(name)).map(r -> new Role(null, name, rules(r.getRules())));
    }

    private static Binding binding(String ns, String name, RoleRef ref, List<io.fabric8.kubernetes.api.model.rbac.Subject> subjects) {
        List<Subject> mapped = subjects == null ? List.of()
                : subjects.stream().map(s -> new Subject(s.getKind(), s.getName(), s.getNamespace())).toList();
        return new Binding(ns, name, ref == null ? "" : ref.getKind(), ref == null ? "" : ref.getName(), mapped);
    }

    private static List<RoleRule> rules(List<PolicyRule> rules) {
        if (rules == null) return List.of();
        return rules.stream().map(r -> new RoleRule(r.getApiGroups(), r.getResources(), r.getVerbs(), r.getResourceNames())).toList();
    }

    @Override
    public synchronized void close() {
        for (var i : new SharedIndexInformer<?>[] {roles, clusterRoles, roleBindings, clusterRoleBindings}) if (i != null) i.close();
    }
}
