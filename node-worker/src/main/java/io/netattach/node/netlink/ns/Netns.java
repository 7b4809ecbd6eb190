package io.netattach.node.netlink.ns;

import io.netattach.node.netlink.wire.Libc;


/**
 * A handle on a network namespace: an open fd of {@code /var/run/netns/X}, {@code /proc/<pid>/ns/net} or the
 * runtime's netns path. Holding the fd keeps the namespace alive while we work in it.
 */
public final class Netns implements AutoCloseable {
    private final int fd;
    private final String path;
    private boolean closed;

    private Netns(int fd, String path) {
        this.fd = fd;
        this.path = path;
    }

    /** Opens a namespace path; a missing path is a {@link Libc.SyscallException} with ENOENT. */
    public static Netns open(String path) {
        return new Netns(Libc.open(path, Libc.O_RDONLY | Libc.O_CLOEXEC), path);
    }

    public int fd() {
        if (closed) throw new IllegalStateException("netns handle " + path + " is closed");
        return fd;
    }

    public String path() { return path; }

    /**
     * Whether {@link #path()} still names the namespace we hold. False once the runtime has deleted it (the
     * bind mount is gone) or put another namespace there; our fd alone then keeps an orphan alive. Two statx calls, no Java file-attribute machinery.
     */
    public boolean stillAt() {
        try {
            return Libc.fileId(-1, path).equals(Libc.fileId(fd(), null));
        } catch (Libc.SyscallException e) {
            return false;
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Libc.close(fd);
        }
    }

    @Override
    public String toString() { return path; }
}
