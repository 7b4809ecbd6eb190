package io.netattach.node.domain;

import java.util.List;
import java.util.Map;

/**
 * The pod's cluster network as the chain's earlier plugins made it (the CNI prevResult the shim forwards): the
 * first entry of network-status, {@code "default": true}, as Multus writes it. {@code dns} is the result's dns
 * object as given (nameservers, domain, search, options), or empty.
 */
public record PrimaryNetwork(String name, String iface, String mac, List<String> ips, Map<String, Object> dns) {
    public PrimaryNetwork {
        ips = ips == null ? List.of() : List.copyOf(ips);
        dns = dns == null ? Map.of() : Map.copyOf(dns);
    }
}
