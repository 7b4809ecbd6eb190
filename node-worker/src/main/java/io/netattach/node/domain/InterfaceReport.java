package io.netattach.node.domain;

import java.util.List;

/** What a node really made (or failed to make) for one attachment. */
public record InterfaceReport(String network, String iface, String mac, Integer mtu, List<String> ips, String sandbox, String error) {
    public static InterfaceReport failed(String network, String iface, String sandbox, String error) {
        return new InterfaceReport(network, iface, null, null, List.of(), sandbox, error);
    }

    public boolean ok() { return error == null; }
}
