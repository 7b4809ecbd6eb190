package io.netattach.node.netlink.route;

import io.netattach.node.netlink.addr.IpPrefix;

import java.net.InetAddress;

/** A route in the main table: destination, optional gateway, output link. */
public record Route(IpPrefix dst, InetAddress gateway, int linkIndex) {
    public boolean isDefault() { return dst.prefix() == 0; }
}
