package io.netattach.node.netlink.link;

import io.netattach.node.netlink.wire.MessageBuilder;

/**
 * A link to create. The shared base ({@link LinkAttrs}: name, MTU, MAC, parent) is written by {@link Links};
 * each kind only adds its IFLA_INFO_KIND and IFLA_INFO_DATA.
 */
public sealed interface LinkSpec permits LinkSpec.Macvlan, LinkSpec.Macvtap, LinkSpec.Veth, LinkSpec.Bridge,
        LinkSpec.Ipvlan, LinkSpec.Vlan {

    LinkAttrs attrs();

    String kind();

    /** Writes the kind's attributes inside IFLA_INFO_DATA (nothing if it has none). */
    default void writeInfoData(MessageBuilder b) {}

    default boolean hasInfoData() { return false; }

    int IFLA_MACVLAN_MODE = 1;
    int IFLA_IPVLAN_MODE = 1, IFLA_IPVLAN_FLAGS = 2;
    int IFLA_VLAN_ID = 1;
    int IFLA_BR_VLAN_FILTERING = 7;
    int VETH_INFO_PEER = 1;

    enum MacvlanMode {
        PRIVATE(1), VEPA(2), BRIDGE(4), PASSTHRU(8), SOURCE(16);
        public final int value;
        MacvlanMode(int v) { value = v; }
        public static MacvlanMode of(int v) {
            for (MacvlanMode m : values()) if (m.value == v) return m;
            throw new IllegalArgumentException("unknown macvlan mode " + v);
        }
        /** The config spelling used by the reference plugin: bridge, private, vepa, passthru. */
        public static MacvlanMode parse(String s) {
            return switch (s) {
                case "bridge" -> BRIDGE;
                case "private" -> PRIVATE;
                case "vepa" -> VEPA;
                case "passthru" -> PASSTHRU;
                default -> throw new IllegalArgumentException("cniConfig.mode \"" + s + "\": expected bridge, private, vepa or passthru");
            };
        }
    }

    enum IpvlanMode {
        L2(0), L3(1), L3S(2);
        public final int value;
        IpvlanMode(int v) { value = v; }
        public static IpvlanMode parse(String s) {
            return switch (s) {
                case "l2" -> L2;
                case "l3" -> L3;
                case "l3s" -> L3S;
                default -> throw new IllegalArgumentException("cniConfig.mode \"" + s + "\": expected l2, l3 or l3s");
            };
        }
    }

    /** ipvlan flags: bridge (default, 0), private (1), vepa (2). */
    enum IpvlanFlag {
        BRIDGE(0), PRIVATE(1), VEPA(2);
        public final int value;
        IpvlanFlag(int v) { value = v; }
    }

    record Macvlan(LinkAttrs attrs, MacvlanMode mode) implements LinkSpec {
        public String kind() { return "macvlan"; }
        public boolean hasInfoData() { return true; }
        public void writeInfoData(MessageBuilder b) { b.attrU32(IFLA_MACVLAN_MODE, mode.value); }
    }

    record Macvtap(LinkAttrs attrs, MacvlanMode mode) implements LinkSpec {
        public String kind() { return "macvtap"; }
        public boolean hasInfoData() { return true; }
        public void writeInfoData(MessageBuilder b) { b.attrU32(IFLA_MACVLAN_MODE, mode.value); }
    }

    /** A veth pair; the peer is created under {@code peerName}, in the namespace of {@code peerNetnsFd} (-1 = the same). */
    record Veth(LinkAttrs attrs, String peerName, int peerNetnsFd) implements LinkSpec {
        public Veth(LinkAttrs attrs, String peerName) { this(attrs, peerName, -1); }

        public String kind() { return "veth"; }
        public boolean hasInfoData() { return true; }
        public void writeInfoData(MessageBuilder b) {
            int peer = b.nest(VETH_INFO_PEER);
            b.u8(0).u8(0).u16(0).u32(0).u32(0).u32(0); // struct ifinfomsg of the peer
            b.attrString(Links.IFLA_IFNAME, peerName);
            if (attrs.mtu() > 0) b.attrU32(Links.IFLA_MTU, attrs.mtu());
            if (peerNetnsFd >= 0) b.attrU32(Links.IFLA_NET_NS_FD, peerNetnsFd);
            b.end(peer);
        }
    }

    record Bridge(LinkAttrs attrs, boolean vlanFiltering) implements LinkSpec {
        public String kind() { return "bridge"; }
        public boolean hasInfoData() { return vlanFiltering; }
        public void writeInfoData(MessageBuilder b) { if (vlanFiltering) b.attrU8(IFLA_BR_VLAN_FILTERING, 1); }
    }

    record Ipvlan(LinkAttrs attrs, IpvlanMode mode, IpvlanFlag flag) implements LinkSpec {
        public String kind() { return "ipvlan"; }
        public boolean hasInfoData() { return true; }
        public void writeInfoData(MessageBuilder b) {
            b.attrU16(IFLA_IPVLAN_MODE, mode.value);
            b.attrU16(IFLA_IPVLAN_FLAGS, flag.value);
        }
    }

    record Vlan(LinkAttrs attrs, int id) implements LinkSpec {
        public Vlan {
            if (id < 0 || id > 4094) throw new IllegalArgumentException("vlanId " + id + ": expected 0..4094");
        }
        public String kind() { return "vlan"; }
        public boolean hasInfoData() { return true; }
        public void writeInfoData(MessageBuilder b) { b.attrU16(IFLA_VLAN_ID, id); }
    }
}
