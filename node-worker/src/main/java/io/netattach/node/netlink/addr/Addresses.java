package io.netattach.node.netlink.addr;

import io.netattach.node.netlink.wire.Attrs;
import io.netattach.node.netlink.wire.Errno;
import io.netattach.node.netlink.wire.MessageBuilder;
import io.netattach.node.netlink.wire.NetlinkException;
import io.netattach.node.netlink.wire.NetlinkSocket;
import io.netattach.node.netlink.wire.Nl;
import io.netattach.node.netlink.wire.Wire;

import java.util.ArrayList;
import java.util.List;

/** Address verbs (RTM_*ADDR) on one netlink socket. */
public final class Addresses {
    public static final int IFA_ADDRESS = 1, IFA_LOCAL = 2;
    private static final int IFADDRMSG_LEN = 8;

    private final NetlinkSocket socket;

    public Addresses(NetlinkSocket socket) { this.socket = socket; }

    static MessageBuilder request(int type, int flags, int linkIndex, IpPrefix p) {
        MessageBuilder b = new MessageBuilder(type, flags).u8(p.family()).u8(p.prefix()).u8(0).u8(0).u32(linkIndex);
        byte[] raw = p.address().getAddress();
        // IPv4: IFA_LOCAL is the address, IFA_ADDRESS the peer (same for non point-to-point), as iproute2 sends.
        if (p.v4()) b.attr(IFA_LOCAL, raw);
        b.attr(IFA_ADDRESS, raw);
        return b;
    }

    public void add(int linkIndex, IpPrefix p) {
        NetlinkSocket.Request r = addRequest(linkIndex, p);
        socket.execute(r.operation(), r.msg());
    }

    /** The request {@link #add} sends, for a {@link NetlinkSocket#pipeline}. */
    public NetlinkSocket.Request addRequest(int linkIndex, IpPrefix p) {
        return NetlinkSocket.Request.change("add address " + p + " to link #" + linkIndex + " in " + socket.where(),
                request(Nl.RTM_NEWADDR, Nl.NLM_F_CREATE | Nl.NLM_F_EXCL, linkIndex, p));
    }

    /** Adds unless present: returns false if the address was already there. */
    public boolean ensure(int linkIndex, IpPrefix p) {
        try {
            add(linkIndex, p);
            return true;
        } catch (NetlinkException e) {
            if (e.errno() == Errno.EEXIST) return false;
            throw e;
        }
    }

    public void delete(int linkIndex, IpPrefix p) {
        socket.execute("delete address " + p + " from link #" + linkIndex + " in " + socket.where(), request(Nl.RTM_DELADDR, 0, linkIndex, p));
    }

    /** Every address in the namespace (family 0 = both), or of one link if {@code linkIndex} > 0. */
    public List<Address> dump(int linkIndex) {
        NetlinkSocket.Request r = dumpRequest();
        return parse(socket.dump(r.operation(), r.msg()), linkIndex);
    }

    /** The request {@link #dump} sends, for a {@link NetlinkSocket#pipeline}; {@link #parse} reads its replies. */
    public NetlinkSocket.Request dumpRequest() {
        return NetlinkSocket.Request.dumpOf("dump addresses in " + socket.where(), new MessageBuilder(Nl.RTM_GETADDR, 0).u8(0).u8(0).u8(0).u8(0).u32(0));
    }

    /** The addresses in a dump's replies, of one link if {@code linkIndex} > 0. */
    public static List<Address> parse(List<Wire> replies, int linkIndex) {
        List<Address> out = new ArrayList<>();
        for (Wire w : replies) {
            if (w.type() != Nl.RTM_NEWADDR) continue;
            int idx = w.i32(4);
            if (linkIndex > 0 && idx != linkIndex) continue;
            Attrs a = w.attrs(IFADDRMSG_LEN);
            Attrs.Attr addr = a.has(IFA_LOCAL) ? a.get(IFA_LOCAL) : a.get(IFA_ADDRESS);
            if (addr == null) continue;
            out.add(new Address(idx, new IpPrefix(IpPrefix.fromBytes(addr.bytes()), w.u8(1)), w.u8(3)));
        }
        return out;
    }
}
