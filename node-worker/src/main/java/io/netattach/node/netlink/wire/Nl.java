package io.netattach.node.netlink.wire;

/** Netlink header constants (linux/netlink.h, linux/rtnetlink.h). */
public final class Nl {
    public static final int HDRLEN = 16;
    public static final int NLM_F_REQUEST = 0x1, NLM_F_MULTI = 0x2, NLM_F_ACK = 0x4, NLM_F_DUMP_INTR = 0x10;
    public static final int NLM_F_ROOT = 0x100, NLM_F_MATCH = 0x200, NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
    public static final int NLM_F_REPLACE = 0x100, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400;
    /** Flags on an ACK: the echoed request was capped / TLVs (extended ACK) follow. */
    public static final int NLM_F_CAPPED = 0x100, NLM_F_ACK_TLVS = 0x200;
    public static final int NLMSG_NOOP = 1, NLMSG_ERROR = 2, NLMSG_DONE = 3, NLMSG_OVERRUN = 4;
    public static final int NLMSGERR_ATTR_MSG = 1;
    public static final int NLA_F_NESTED = 0x8000, NLA_TYPE_MASK = 0x3fff;

    public static final int RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_GETLINK = 18, RTM_SETLINK = 19;
    public static final int RTM_NEWADDR = 20, RTM_DELADDR = 21, RTM_GETADDR = 22;
    public static final int RTM_NEWROUTE = 24, RTM_DELROUTE = 25, RTM_GETROUTE = 26;

    private Nl() {}

    public static int align(int n) { return (n + 3) & ~3; }
}
