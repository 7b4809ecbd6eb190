package io.netattach.node.netlink.addr;

import inet.ipaddr.IPAddress;
import io.netattach.ip.IpLiterals;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** An address with a prefix length (10.1.2.3/24 or fd00::5/64), validated without any name lookup. */
public record IpPrefix(InetAddress address, int prefix) {
    public IpPrefix {
        int max = address instanceof Inet4Address ? 32 : 128;
        if (prefix < 0 || prefix > max) throw new IllegalArgumentException("prefix length " + prefix + " out of range for " + address.getHostAddress());
    }

    public int family() { return address instanceof Inet4Address ? 2 : 10; }
    public boolean v4() { return address instanceof Inet4Address; }

    /** Parses CIDR notation under the suite's rules (ipam-service/src/ip-literals/); {@code field} names the input in the error. */
    public static IpPrefix parse(String field, String cidr) {
        if (cidr == null) throw new IllegalArgumentException(field + " is missing");
        IPAddress a = IpLiterals.cidr(field, cidr);
        return new IpPrefix(inet(a), a.getNetworkPrefixLength());
    }

    /** Parses a literal IPv4 / IPv6 address only: never resolves a host name. */
    public static InetAddress parseAddress(String field, String s) {
        return inet(IpLiterals.address(field, s));
    }

    // The library keeps an IPv4-mapped address as an Inet6Address, where InetAddress.getByName would make it IPv4.
    private static InetAddress inet(IPAddress a) {
        return a.getLower().withoutPrefixLength().toInetAddress();
    }

    /** 4 or 16 address bytes; 16 stay IPv6 even when IPv4-mapped (InetAddress.getByAddress would make those IPv4). */
    public static InetAddress fromBytes(byte[] b) {
        try {
            return b.length == 16 ? Inet6Address.getByAddress(null, b, -1) : InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("an address has " + b.length + " bytes, not 4 or 16", e);
        }
    }

    /** The network of this prefix (host bits cleared). */
    public IpPrefix network() {
        byte[] b = address.getAddress();
        for (int i = 0; i < b.length; i++) {
            int keep = Math.max(0, Math.min(8, prefix - i * 8));
            b[i] &= (byte) (0xff << (8 - keep));
        }
        return new IpPrefix(fromBytes(b), prefix);
    }

    public boolean contains(InetAddress a) {
        if ((a instanceof Inet4Address) != v4()) return false;
        try {
            return new IpPrefix(a, prefix).network().equals(network());
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    @Override
    public String toString() { return text(address) + "/" + prefix; }

    /** An address as RFC 5952 writes it (IPv6: lower case, the longest run of two or more zero groups as ::). */
    public static String text(InetAddress a) {
        if (!(a instanceof java.net.Inet6Address)) return a.getHostAddress();
        byte[] b = a.getAddress();
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) g[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        int bestStart = -1, bestLen = 1;
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) { i++; continue; }
            int j = i;
            while (j < 8 && g[j] == 0) j++;
            if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
            i = j;
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                out.append("::");
                i += bestLen - 1;
                continue;
            }
            if (out.length() > 0 && out.charAt(out.length() - 1) != ':') out.append(':');
            out.append(Integer.toHexString(g[i]));
        }
        return out.toString();
    }
}
