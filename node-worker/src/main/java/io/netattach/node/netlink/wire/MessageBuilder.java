package io.netattach.node.netlink.wire;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Builds one netlink message: the 16-byte header, a fixed family header (ifinfomsg, ifaddrmsg, rtmsg), then
 * attributes, each padded to 4 bytes; nested attributes are opened with {@link #nest} and closed with
 * {@link #end}, and their length covers their padded children (as iproute2 does). Little-endian host order.
 */
public final class MessageBuilder {
    private byte[] buf = new byte[256];
    private int len = Nl.HDRLEN;
    private final int type;
    private final int flags;

    public MessageBuilder(int type, int flags) {
        this.type = type;
        this.flags = flags;
    }

    public int type() { return type; }
    public int flags() { return flags; }

    private void ensure(int extra) {
        if (len + extra > buf.length) buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + extra + 64));
    }

    public MessageBuilder u8(int v) { ensure(1); buf[len++] = (byte) v; return this; }
    public MessageBuilder u16(int v) { ensure(2); putU16(len, v); len += 2; return this; }
    public MessageBuilder u32(int v) { ensure(4); putU32(len, v); len += 4; return this; }
    public MessageBuilder bytes(byte[] b) { ensure(b.length); System.arraycopy(b, 0, buf, len, b.length); len += b.length; return this; }

    private void pad() { int p = Nl.align(len) - len; ensure(p); len += p; }

    private void putU16(int at, int v) { buf[at] = (byte) v; buf[at + 1] = (byte) (v >>> 8); }
    private void putU32(int at, int v) { for (int i = 0; i < 4; i++) buf[at + i] = (byte) (v >>> (8 * i)); }

    public MessageBuilder attr(int attrType, byte[] payload) {
        pad();
        ensure(4 + payload.length);
        putU16(len, 4 + payload.length);
        putU16(len + 2, attrType);
        System.arraycopy(payload, 0, buf, len + 4, payload.length);
        len += 4 + payload.length;
        return this;
    }

    public MessageBuilder attrU8(int attrType, int v) { return attr(attrType, new byte[] {(byte) v}); }
    public MessageBuilder attrU16(int attrType, int v) { return attr(attrType, new byte[] {(byte) v, (byte) (v >>> 8)}); }
    public MessageBuilder attrU32(int attrType, int v) {
        return attr(attrType, new byte[] {(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)});
    }
    /** A NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND ...). */
    public MessageBuilder attrString(int attrType, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return attr(attrType, Arrays.copyOf(b, b.length + 1));
    }

    /** Opens a nested attribute; returns its position for {@link #end}. */
    public int nest(int attrType) {
        pad();
        ensure(4);
        int at = len;
        putU16(len + 2, attrType);
        len += 4;
        return at;
    }

    public MessageBuilder end(int nestAt) {
        pad();
        putU16(nestAt, len - nestAt);
        return this;
    }

    /** The finished message with this sequence number and port id. */
    public byte[] build(int seq, int pid) {
        return build(seq, pid, flags);
    }

    /** The finished message with the given header flags instead of the builder's. */
    public byte[] build(int seq, int pid, int headerFlags) {
        pad();
        byte[] out = Arrays.copyOf(buf, len);
        byte[] saved = buf;
        buf = out;
        putU32(0, len);
        putU16(4, type);
        putU16(6, headerFlags);
        putU32(8, seq);
        putU32(12, pid);
        buf = saved;
        return out;
    }
}
