package io.netattach.node.netlink.link;

/**
 * A link as the kernel reports it. {@code kind} is null for devices without IFLA_LINKINFO (physical NICs,
 * loopback); {@code macvlanMode} is set for macvlan/macvtap only; {@code alias} is IFLA_IFALIAS.
 */
public record Link(int index, String name, String kind, int mtu, Mac mac, int flags, int parentIndex, int masterIndex,
                   LinkSpec.MacvlanMode macvlanMode, String alias) {
    public static final int IFF_UP = 0x1, IFF_PROMISC = 0x100;

    public boolean up() { return (flags & IFF_UP) != 0; }
    public boolean promisc() { return (flags & IFF_PROMISC) != 0; }
}
