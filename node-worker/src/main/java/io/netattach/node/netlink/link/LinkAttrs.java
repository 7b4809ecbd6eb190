package io.netattach.node.netlink.link;

/**
 * What every link kind shares: the name to create it under, MTU (0 = kernel default / inherit from the
 * parent), MAC (null = kernel chooses), the parent link's index (0 = none; macvlan, ipvlan, vlan need one)
 * and the fd of the namespace to create it in (-1 = the socket's own).
 */
public record LinkAttrs(String name, int mtu, Mac mac, int parentIndex, int netnsFd) {
    public LinkAttrs {
        InterfaceName.validate("name", name);
    }

    public LinkAttrs(String name, int mtu, Mac mac, int parentIndex) { this(name, mtu, mac, parentIndex, -1); }

    /** The same link, created straight inside the namespace of {@code fd} (IFLA_NET_NS_FD), as the reference plugins do. */
    public LinkAttrs in(int fd) { return new LinkAttrs(name, mtu, mac, parentIndex, fd); }

    public static LinkAttrs named(String name) { return new LinkAttrs(name, 0, null, 0); }
}
