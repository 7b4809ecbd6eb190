package io.netattach.policy.domain;

import io.netattach.policy.domain.rbac.Binding;
import io.netattach.policy.domain.rbac.Role;
import io.netattach.policy.domain.rbac.RoleRule;
import io.netattach.policy.domain.rbac.Subject;

import java.util.List;
import java.util.Map;

final class Fixtures {
    private Fixtures() {}

    static PodRef pod(String ns, String name) {
        return new PodRef(ns, name, "uid-" + name, "app-sa", Map.of("app", name));
    }

    static Selection net(String ns, String name) {
        return new Selection(ns, name, "net1", null, null, null);
    }

    /** The seed's Role: get/list on network-attachment-definitions named macvlan-conf, in namespace default. */
    static Role seedRole() {
        return new Role("default", "network-user", List.of(new RoleRule(List.of("k8s.cni.cncf.io"),
                List.of("network-attachment-definitions"), List.of("get", "list"), List.of("macvlan-conf"))));
    }

    static Binding bindSa(String ns, String name, String roleKind, String roleName, String saNs, String sa) {
        return new Binding(ns, name, roleKind, roleName, List.of(new Subject("ServiceAccount", sa, saNs)));
    }
}
