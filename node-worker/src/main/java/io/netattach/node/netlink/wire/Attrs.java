package io.netattach.node.netlink.wire;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The attributes of one message region, parsed: type (flags masked), and a view of the payload. */
public final class Attrs {
    public record Attr(int type, byte[] data, int off, int len) {
        public int u8() { return data[off] & 0xff; }
        public int u16() { return (data[off] & 0xff) | (data[off + 1] & 0xff) << 8; }
        public int u32() { return Wire.u32(data, off); }
        public byte[] bytes() { return Arrays.copyOfRange(data, off, off + len); }
        public String string() {
            int end = off;
            while (end < off + len && data[end] != 0) end++;
            return new String(data, off, end - off, StandardCharsets.UTF_8);
        }
        public Attrs nested() { return Attrs.parse(data, off, off + len); }
    }

    private final List<Attr> list;

    private Attrs(List<Attr> list) { this.list = list; }

    public static Attrs parse(byte[] data, int from, int to) {
        List<Attr> out = new ArrayList<>();
        int p = from;
        while (p + 4 <= to) {
            int len = (data[p] & 0xff) | (data[p + 1] & 0xff) << 8;
            int type = ((data[p + 2] & 0xff) | (data[p + 3] & 0xff) << 8) & Nl.NLA_TYPE_MASK;
            if (len < 4 || p + len > to) break;
            out.add(new Attr(type, data, p + 4, len - 4));
            p += Nl.align(len);
        }
        return new Attrs(out);
    }

    public List<Attr> all() { return list; }

    public Attr get(int type) {
        for (Attr a : list) if (a.type == type) return a;
        return null;
    }

    public boolean has(int type) { return get(type) != null; }

    public String string(int type) { Attr a = get(type); return a == null ? null : a.string(); }
    public int u32(int type, int dflt) { Attr a = get(type); return a == null ? dflt : a.u32(); }
}
