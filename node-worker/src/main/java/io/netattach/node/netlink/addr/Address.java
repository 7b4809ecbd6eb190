package io.netattach.node.netlink.addr;

/** An address on a link, as the kernel reports it. */
public record Address(int linkIndex, IpPrefix prefix, int scope) {}
