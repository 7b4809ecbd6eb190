package io.netattach.node.netlink.route;

import io.netattach.node.netlink.addr.IpPrefix;
import io.netattach.node.netlink.wire.Attrs;
import io.netattach.node.netlink.wire.MessageBuilder;
import io.netattach.node.netlink.wire.NetlinkSocket;
import io.netattach.node.netlink.wire.Nl;
import io.netattach.node.netlink.wire.Wire;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/** Route verbs (RTM_*ROUTE) on the main table of one netlink socket's namespace. */
public final class Routes {
    public static final int RTA_DST = 1, RTA_OIF = 4, RTA_GATEWAY = 5, RTA_TABLE = 15;
    public static final int RT_TABLE_MAIN = 254, RTPROT_BOOT = 3, RT_SCOPE_UNIVERSE = 0, RT_SCOPE_LINK = 253, RTN_UNICAST = 1;
    private static final int RTMSG_LEN = 12;

    private final NetlinkSocket socket;

    public Routes(NetlinkSocket socket) { this.socket = socket; }

    static MessageBuilder request(int type, int flags, Route r) {
        IpPrefix dst = r.dst().network();
        int scope = r.gateway() == null ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
        MessageBuilder b = new MessageBuilder(type, flags)
                .u8(dst.family()).u8(dst.prefix()).u8(0).u8(0)
                .u8(RT_TABLE_MAIN).u8(RTPROT_BOOT).u8(scope).u8(RTN_UNICAST).u32(0);
        if (dst.prefix() > 0) b.attr(RTA_DST, dst.address().getAddress());
        if (r.gateway() != null) b.attr(RTA_GATEWAY, r.gateway().getAddress());
        b.attrU32(RTA_OIF, r.linkIndex());
        return b;
    }

    public void add(Route r) {
        NetlinkSocket.Request req = addRequest(r);
        socket.execute(req.operation(), req.msg());
    }

    /** The request {@link #add} sends, for a {@link NetlinkSocket#pipeline}. */
    public NetlinkSocket.Request addRequest(Route r) {
        return NetlinkSocket.Request.change("add route " + describe(r) + " in " + socket.where(), request(Nl.RTM_NEWROUTE, Nl.NLM_F_CREATE | Nl.NLM_F_EXCL, r));
    }

    /** Adds or replaces the route for the same destination (used for the default route). */
    public void replace(Route r) {
        socket.execute("replace route " + describe(r) + " in " + socket.where(), request(Nl.RTM_NEWROUTE, Nl.NLM_F_CREATE | Nl.NLM_F_REPLACE, r));
    }

    public void delete(Route r) {
        socket.execute("delete route " + describe(r) + " in " + socket.where(), request(Nl.RTM_DELROUTE, 0, r));
    }

    private static String describe(Route r) {
        return r.dst().network() + (r.gateway() == null ? "" : " via " + r.gateway().getHostAddress()) + " dev #" + r.linkIndex();
    }

    /** Main-table unicast routes of one family (2 = IPv4, 10 = IPv6). */
    public List<Route> dump(int family) {
        List<Route> out = new ArrayList<>();
        MessageBuilder req = new MessageBuilder(Nl.RTM_GETROUTE, 0).u8(family).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0).u32(0);
        for (Wire w : socket.dump("dump routes in " + socket.where(), req)) {
            if (w.type() != Nl.RTM_NEWROUTE) continue;
            Attrs a = w.attrs(RTMSG_LEN);
            int table = a.u32(RTA_TABLE, w.u8(4));
            if (table != RT_TABLE_MAIN || w.u8(7) != RTN_UNICAST) continue;
            int fam = w.u8(0);
            InetAddress dstAddr = IpPrefix.fromBytes(a.has(RTA_DST) ? a.get(RTA_DST).bytes() : new byte[fam == 2 ? 4 : 16]);
            InetAddress gw = a.has(RTA_GATEWAY) ? IpPrefix.fromBytes(a.get(RTA_GATEWAY).bytes()) : null;
            out.add(new Route(new IpPrefix(dstAddr, w.u8(1)), gw, a.u32(RTA_OIF, 0)));
        }
        return out;
    }
}
