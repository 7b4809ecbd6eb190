package io.netattach.node.netlink.wire;

/** A received netlink message: header fields and the whole message bytes. */
public record Wire(int type, int flags, int seq, int pid, byte[] data, int off, int len) {
    /** Offset of the payload (after the 16-byte header). */
    public int payload() { return off + Nl.HDRLEN; }
    public int end() { return off + len; }

    /** Attributes after a fixed family header of {@code fixedLen} bytes. */
    public Attrs attrs(int fixedLen) { return Attrs.parse(data, payload() + Nl.align(fixedLen), end()); }

    public int u8(int at) { return data[payload() + at] & 0xff; }
    public int u16(int at) { int p = payload() + at; return (data[p] & 0xff) | (data[p + 1] & 0xff) << 8; }
    public int i32(int at) { return u32(data, payload() + at); }

    static int u32(byte[] d, int p) {
        return (d[p] & 0xff) | (d[p + 1] & 0xff) << 8 | (d[p + 2] & 0xff) << 16 | (d[p + 3] & 0xff) << 24;
    }

    /** Splits a datagram into its messages. */
    public static java.util.List<Wire> split(byte[] d, int n) {
        java.util.List<Wire> out = new java.util.ArrayList<>();
        int p = 0;
        while (p + Nl.HDRLEN <= n) {
            int len = u32(d, p);
            if (len < Nl.HDRLEN || p + len > n) break;
            int type = (d[p + 4] & 0xff) | (d[p + 5] & 0xff) << 8;
            int flags = (d[p + 6] & 0xff) | (d[p + 7] & 0xff) << 8;
            out.add(new Wire(type, flags, u32(d, p + 8), u32(d, p + 12), d, p, len));
            p += Nl.align(len);
        }
        return out;
    }

    /**
     * For an NLMSG_ERROR: the errno (positive; 0 = ACK) and the extended-ACK text if any.
     * Layout: int error; struct nlmsghdr of the request; [request payload unless CAPPED]; [TLVs if ACK_TLVS].
     */
    public int errorCode() { return -i32(0); }

    public String extAckMessage() {
        if ((flags & Nl.NLM_F_ACK_TLVS) == 0) return null;
        int reqLen = u32(data, payload() + 4);
        int tlvStart = payload() + 4 + ((flags & Nl.NLM_F_CAPPED) != 0 ? Nl.HDRLEN : Nl.align(reqLen));
        if (tlvStart > end()) return null;
        return Attrs.parse(data, tlvStart, end()).string(Nl.NLMSGERR_ATTR_MSG);
    }
}
