package io.netattach.policy.domain.rbac;

import java.util.List;
import java.util.Optional;

/** The RBAC objects a local evaluation reads: in the service, informer caches. */
public interface RbacSource {
    /** False until every cache has listed once; an unsynced cache would read as "nothing granted". */
    boolean ready();

    /** Grows on every change of any RBAC object. */
    long version();

    List<Binding> roleBindings(String namespace);

    List<Binding> clusterRoleBindings();

    Optional<Role> role(String namespace, String name);

    Optional<Role> clusterRole(String name);
}
