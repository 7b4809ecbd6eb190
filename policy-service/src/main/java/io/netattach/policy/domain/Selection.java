package io.netattach.policy.domain;

import java.util.List;

/** One requested network of the pod's annotation, already resolved to the NAD's namespace and name by attach-service. */
public record Selection(String namespace, String name, String interfaceName, List<String> ips, String mac, List<String> defaultRoute) {
    public Selection {
        ips = ips == null ? List.of() : List.copyOf(ips);
        defaultRoute = defaultRoute == null ? List.of() : List.copyOf(defaultRoute);
    }

    /** namespace/name of the NAD. */
    public String network() {
        return namespace + "/" + name;
    }

    public boolean claimsStaticIps() {
        return !ips.isEmpty();
    }

    public boolean claimsMac() {
        return mac != null && !mac.isBlank();
    }

    public boolean takesDefaultRoute() {
        return !defaultRoute.isEmpty();
    }
}
