package io.netattach.node.netlink.link;

import io.netattach.node.netlink.wire.Attrs;
import io.netattach.node.netlink.wire.Errno;
import io.netattach.node.netlink.wire.MessageBuilder;
import io.netattach.node.netlink.wire.NetlinkException;
import io.netattach.node.netlink.wire.NetlinkSocket;
import io.netattach.node.netlink.wire.Nl;
import io.netattach.node.netlink.wire.Wire;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Link verbs (RTM_*LINK) on one netlink socket, i.e. in that socket's namespace. */
public final class Links {
    public static final int AF_UNSPEC = 0, AF_INET = 2, AF_BRIDGE = 7;
    /** IFLA_INET_CONF in AF_INET's IFLA_AF_SPEC entry; IPV4_DEVCONF_ARP_NOTIFY from linux/ip.h. */
    public static final int IFLA_INET_CONF = 1, IPV4_DEVCONF_ARP_NOTIFY = 22;
    public static final int IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_LINK = 5, IFLA_MASTER = 10,
            IFLA_PROTINFO = 12, IFLA_LINKINFO = 18, IFLA_IFALIAS = 20, IFLA_AF_SPEC = 26, IFLA_NET_NS_FD = 28, IFLA_EXT_MASK = 29;
    public static final int IFLA_INFO_KIND = 1, IFLA_INFO_DATA = 2;
    public static final int IFLA_BRPORT_MODE = 4;
    public static final int IFLA_BRIDGE_VLAN_INFO = 2;
    public static final int BRIDGE_VLAN_INFO_PVID = 2, BRIDGE_VLAN_INFO_UNTAGGED = 4;
    private static final int IFINFOMSG_LEN = 16;

    private final NetlinkSocket socket;

    public Links(NetlinkSocket socket) { this.socket = socket; }

    private static MessageBuilder ifinfo(int type, int flags, int family, int index, int ifFlags, int change) {
        return new MessageBuilder(type, flags).u8(family).u8(0).u16(0).u32(index).u32(ifFlags).u32(change);
    }

    /**
     * The RTM_NEWLINK request for {@code spec}, attribute order as iproute2 sends it (MTU, ADDRESS, LINK,
     * IFNAME, LINKINFO), so its bytes can be compared with iproute2's.
     */
    public static MessageBuilder addRequest(LinkSpec spec) {
        LinkAttrs a = spec.attrs();
        MessageBuilder b = ifinfo(Nl.RTM_NEWLINK, Nl.NLM_F_REQUEST | Nl.NLM_F_ACK | Nl.NLM_F_EXCL | Nl.NLM_F_CREATE, AF_UNSPEC, 0, 0, 0);
        if (a.mtu() > 0) b.attrU32(IFLA_MTU, a.mtu());
        if (a.mac() != null) b.attr(IFLA_ADDRESS, a.mac().bytes());
        if (a.parentIndex() > 0) b.attrU32(IFLA_LINK, a.parentIndex());
        b.attrString(IFLA_IFNAME, a.name());
        if (a.netnsFd() >= 0) b.attrU32(IFLA_NET_NS_FD, a.netnsFd());
        int info = b.nest(IFLA_LINKINFO);
        // iproute2 sends the kind without a trailing NUL; the kernel compares with nla_strcmp either way.
        b.attr(IFLA_INFO_KIND, spec.kind().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        if (spec.hasInfoData()) {
            int data = b.nest(IFLA_INFO_DATA);
            spec.writeInfoData(b);
            b.end(data);
        }
        b.end(info);
        return b;
    }

    public Link add(LinkSpec spec) {
        socket.execute("create " + spec.kind() + " \"" + spec.attrs().name() + "\" in " + socket.where(), addRequest(spec));
        return get(spec.attrs().name()).orElseThrow(() -> new IllegalStateException(
                "created " + spec.attrs().name() + " in " + socket.where() + " but cannot find it"));
    }

    /** Creates a link that the kernel places in another namespace (attrs().netnsFd()); nothing is looked up here. */
    public void addElsewhere(LinkSpec spec, String target) {
        socket.execute("create " + spec.kind() + " \"" + spec.attrs().name() + "\" in " + target, addRequest(spec));
    }

    private void set(String what, MessageBuilder b) { socket.execute(what, b); }

    private MessageBuilder setRequest(int index) {
        return ifinfo(Nl.RTM_NEWLINK, 0, AF_UNSPEC, index, 0, 0);
    }

    public void setUp(Link l, boolean up) {
        NetlinkSocket.Request r = upRequest(l, up);
        set(r.operation(), r.msg());
    }

    /** The request {@link #setUp} sends, for a {@link NetlinkSocket#pipeline}. */
    public NetlinkSocket.Request upRequest(Link l, boolean up) {
        return NetlinkSocket.Request.change((up ? "set up " : "set down ") + l.name() + " in " + socket.where(),
                ifinfo(Nl.RTM_NEWLINK, 0, AF_UNSPEC, l.index(), up ? Link.IFF_UP : 0, Link.IFF_UP));
    }

    public void setPromisc(Link l, boolean on) {
        set("set promisc " + l.name(), ifinfo(Nl.RTM_NEWLINK, 0, AF_UNSPEC, l.index(), on ? Link.IFF_PROMISC : 0, Link.IFF_PROMISC));
    }

    public void setMtu(Link l, int mtu) {
        NetlinkSocket.Request r = mtuRequest(l, mtu);
        set(r.operation(), r.msg());
    }

    public NetlinkSocket.Request mtuRequest(Link l, int mtu) {
        return NetlinkSocket.Request.change("set MTU " + mtu + " on " + l.name() + " in " + socket.where(), setRequest(l.index()).attrU32(IFLA_MTU, mtu));
    }

    public void setMac(Link l, Mac mac) {
        NetlinkSocket.Request r = macRequest(l, mac);
        set(r.operation(), r.msg());
    }

    public NetlinkSocket.Request macRequest(Link l, Mac mac) {
        return NetlinkSocket.Request.change("set MAC " + mac + " on " + l.name() + " in " + socket.where(), setRequest(l.index()).attr(IFLA_ADDRESS, mac.bytes()));
    }

    /** Renames (the link must be down) and, if {@code alias} is not null, sets IFLA_IFALIAS in the same request. */
    public void setName(Link l, String name, String alias) {
        InterfaceName.validate("name", name);
        MessageBuilder b = setRequest(l.index()).attrString(IFLA_IFNAME, name);
        if (alias != null) b.attrString(IFLA_IFALIAS, alias);
        set("rename " + l.name() + " to " + name + " in " + socket.where(), b);
    }

    /**
     * One request for a link just made: our alias, and IPv4 arp_notify = 1 through IFLA_AF_SPEC / AF_INET /
     * IFLA_INET_CONF (the kernel's own devconf setter), so no /proc/sys write through the namespace thread.
     */
    public void setAliasAndArpNotify(Link l, String alias) {
        NetlinkSocket.Request r = aliasAndArpNotifyRequest(l, alias);
        set(r.operation(), r.msg());
    }

    /** The request {@link #setAliasAndArpNotify} sends, for a {@link NetlinkSocket#pipeline}. */
    public NetlinkSocket.Request aliasAndArpNotifyRequest(Link l, String alias) {
        MessageBuilder b = setRequest(l.index()).attrString(IFLA_IFALIAS, alias);
        int spec = b.nest(IFLA_AF_SPEC);
        int inet = b.nest(AF_INET);
        int conf = b.nest(IFLA_INET_CONF);
        b.attrU32(IPV4_DEVCONF_ARP_NOTIFY, 1);
        b.end(conf);
        b.end(inet);
        b.end(spec);
        return NetlinkSocket.Request.change("set alias and arp_notify on " + l.name() + " in " + socket.where(), b);
    }

    public void setAlias(Link l, String alias) {
        set("set alias on " + l.name(), setRequest(l.index()).attrString(IFLA_IFALIAS, alias));
    }

    /** Moves the link into the namespace of {@code netnsFd}. */
    public void setNetns(Link l, int netnsFd, String target) {
        set("move " + l.name() + " from " + socket.where() + " to " + target, setRequest(l.index()).attrU32(IFLA_NET_NS_FD, netnsFd));
    }

    /** Enslaves to a bridge (masterIndex > 0) or releases (0). */
    public void setMaster(Link l, int masterIndex) {
        set("set master of " + l.name() + " to index " + masterIndex, setRequest(l.index()).attrU32(IFLA_MASTER, masterIndex));
    }

    /** Bridge port hairpin mode (IFLA_PROTINFO / IFLA_BRPORT_MODE), as netlink.LinkSetHairpin does. */
    public void setHairpin(Link port, boolean on) {
        MessageBuilder b = ifinfo(Nl.RTM_SETLINK, 0, AF_BRIDGE, port.index(), 0, 0);
        int p = b.nest(IFLA_PROTINFO | Nl.NLA_F_NESTED);
        b.attrU8(IFLA_BRPORT_MODE, on ? 1 : 0);
        b.end(p);
        set("set hairpin " + on + " on bridge port " + port.name(), b);
    }

    /** Bridge port VLAN: {@code vid} as PVID and untagged on the port, as the bridge plugin's "vlan" does. */
    public void addPortVlan(Link port, int vid) {
        set("add vlan " + vid + " on bridge port " + port.name(), portVlanRequest(port.index(), vid));
    }

    /** The request `bridge vlan add dev <port> vid <vid> pvid untagged` sends. */
    public static MessageBuilder portVlanRequest(int portIndex, int vid) {
        MessageBuilder b = ifinfo(Nl.RTM_SETLINK, Nl.NLM_F_REQUEST | Nl.NLM_F_ACK, AF_BRIDGE, portIndex, 0, 0);
        int spec = b.nest(IFLA_AF_SPEC);
        b.attr(IFLA_BRIDGE_VLAN_INFO, new byte[] {(byte) (BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED), 0, (byte) vid, (byte) (vid >>> 8)});
        b.end(spec);
        return b;
    }

    public void delete(Link l) {
        socket.execute("delete " + l.name() + " in " + socket.where(), ifinfo(Nl.RTM_DELLINK, 0, AF_UNSPEC, l.index(), 0, 0));
    }

    /** Deletes by name; a missing link is not an error (delete is idempotent). Returns whether it existed. */
    public boolean deleteIfPresent(String name) {
        Optional<Link> l = get(name);
        if (l.isEmpty()) return false;
        try {
            delete(l.get());
            return true;
        } catch (NetlinkException e) {
            if (e.errno() == Errno.ENODEV) return false;
            throw e;
        }
    }

    public Optional<Link> get(String name) {
        MessageBuilder b = ifinfo(Nl.RTM_GETLINK, 0, AF_UNSPEC, 0, 0, 0).attrU32(IFLA_EXT_MASK, 1).attrString(IFLA_IFNAME, name);
        try {
            return socket.query("get link " + name + " in " + socket.where(), b).stream().filter(w -> w.type() == Nl.RTM_NEWLINK).map(Links::parse).findFirst();
        } catch (NetlinkException e) {
            if (e.errno() == Errno.ENODEV) return Optional.empty();
            throw e;
        }
    }

    public Optional<Link> get(int index) {
        MessageBuilder b = ifinfo(Nl.RTM_GETLINK, 0, AF_UNSPEC, index, 0, 0).attrU32(IFLA_EXT_MASK, 1);
        try {
            return socket.query("get link #" + index + " in " + socket.where(), b).stream().filter(w -> w.type() == Nl.RTM_NEWLINK).map(Links::parse).findFirst();
        } catch (NetlinkException e) {
            if (e.errno() == Errno.ENODEV) return Optional.empty();
            throw e;
        }
    }

    public List<Link> dump() {
        List<Link> out = new ArrayList<>();
        for (Wire w : socket.dump("dump links in " + socket.where(), ifinfo(Nl.RTM_GETLINK, 0, AF_UNSPEC, 0, 0, 0).attrU32(IFLA_EXT_MASK, 1))) {
            if (w.type() == Nl.RTM_NEWLINK) out.add(parse(w));
        }
        return out;
    }

    static Link parse(Wire w) {
        int index = w.i32(4);
        int flags = w.i32(8);
        Attrs a = w.attrs(IFINFOMSG_LEN);
        String kind = null;
        LinkSpec.MacvlanMode mode = null;
        Attrs.Attr info = a.get(IFLA_LINKINFO);
        if (info != null) {
            Attrs ia = info.nested();
            kind = ia.string(IFLA_INFO_KIND);
            Attrs.Attr data = ia.get(IFLA_INFO_DATA);
            if (data != null && ("macvlan".equals(kind) || "macvtap".equals(kind))) {
                Attrs.Attr m = data.nested().get(LinkSpec.IFLA_MACVLAN_MODE);
                if (m != null) mode = LinkSpec.MacvlanMode.of(m.u32());
            }
        }
        Attrs.Attr addr = a.get(IFLA_ADDRESS);
        Mac mac = addr != null && addr.len() == 6 ? new Mac(addr.bytes()) : null;
        return new Link(index, a.string(IFLA_IFNAME), kind, a.u32(IFLA_MTU, 0), mac, flags,
                a.u32(IFLA_LINK, 0), a.u32(IFLA_MASTER, 0), mode, a.string(IFLA_IFALIAS));
    }
}
