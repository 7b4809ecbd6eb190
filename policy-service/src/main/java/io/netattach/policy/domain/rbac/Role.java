package io.netattach.policy.domain.rbac;

import java.util.List;

/** A Role (namespace set) or ClusterRole (namespace null). */
public record Role(String namespace, String name, List<RoleRule> rules) {
    public Role {
        rules = rules == null ? List.of() : List.copyOf(rules);
    }
}
