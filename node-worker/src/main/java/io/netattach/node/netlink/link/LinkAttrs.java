package io.netattach.node.netlink.link;

/**
 * What every link kind shares: the name to create it under, MTU (0 = kernel default / inherit from the
 * parent), MAC (null = kernel chooses) and the parent link's index (0 = none; macvlan, ipvlan, vlan need one).
 */
public record LinkAttrs(String name, int mtu, Mac mac, int parentIndex) {
    public LinkAttrs {
        InterfaceName.validate("name", name);
    }

    public static LinkAttrs named(String name) { return new LinkAttrs(name, 0, null, 0); }
}
