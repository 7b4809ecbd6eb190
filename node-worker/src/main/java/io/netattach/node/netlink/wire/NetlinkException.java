package io.netattach.node.netlink.wire;

/**
 * The kernel refused a netlink request: errno (as a positive number and its name) plus the kernel's
 * extended-ACK text when it gave one (e.g. "Unknown device type").
 */
public class NetlinkException extends RuntimeException {
    private final int errno;
    private final String kernelMessage;

    public NetlinkException(String operation, int errno, String kernelMessage) {
        super(operation + ": " + Errno.name(errno) + " (" + Errno.text(errno) + ")"
                + (kernelMessage == null || kernelMessage.isBlank() ? "" : ": " + kernelMessage));
        this.errno = errno;
        this.kernelMessage = kernelMessage;
    }

    public int errno() { return errno; }
    public String errnoName() { return Errno.name(errno); }
    /** The kernel's NLMSGERR_ATTR_MSG text, or null when the kernel gave none. */
    public String kernelMessage() { return kernelMessage; }
}
