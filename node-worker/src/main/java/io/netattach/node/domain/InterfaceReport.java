package io.netattach.node.domain;

import java.util.List;

/**
 * What a node really made (or failed to make) for one attachment. {@code skipped}: not made because the
 * kernel cannot make its kind, and the command asked to go ahead without it ({@code error} says why).
 */
public record InterfaceReport(String network, String iface, String mac, Integer mtu, List<String> ips, String sandbox, String error,
                              boolean skipped) {
    public InterfaceReport(String network, String iface, String mac, Integer mtu, List<String> ips, String sandbox, String error) {
        this(network, iface, mac, mtu, ips, sandbox, error, false);
    }

    public static InterfaceReport failed(String network, String iface, String sandbox, String error) {
        return new InterfaceReport(network, iface, null, null, List.of(), sandbox, error);
    }

    public static InterfaceReport skipped(String network, String iface, String sandbox, String error) {
        return new InterfaceReport(network, iface, null, null, List.of(), sandbox, error, true);
    }

    public boolean ok() { return error == null; }
}
