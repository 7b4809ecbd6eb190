package io.netattach.node.netlink.wire;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few libc calls netlink needs, as FFM downcalls. Every call captures errno in the same native call,
 * because any later JVM activity may overwrite it.
 */
public final class Libc {
    public static final int AF_NETLINK = 16;
    public static final int SOCK_RAW = 3;
    public static final int SOCK_CLOEXEC = 0x80000;
    public static final int NETLINK_ROUTE = 0;
    public static final int SOL_NETLINK = 270;
    public static final int NETLINK_CAP_ACK = 10;
    public static final int NETLINK_EXT_ACK = 11;
    public static final int SOL_SOCKET = 1;
    public static final int SO_RCVTIMEO = 20;
    public static final int O_RDONLY = 0;
    public static final int O_CLOEXEC = 0x80000;
    public static final int CLONE_NEWNET = 0x40000000;
    public static final int AT_FDCWD = -100, AT_EMPTY_PATH = 0x1000, STATX_INO = 0x100;
    /** struct statx (linux/stat.h, the same on every architecture): stx_ino, stx_dev_major, stx_dev_minor. */
    private static final int STATX_SIZE = 256, STX_INO = 32, STX_DEV_MAJOR = 136, STX_DEV_MINOR = 140;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private static final MethodHandle SOCKET = downcall("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle BIND = downcall("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SETSOCKOPT = downcall("setsockopt", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SENDTO = downcall("sendto", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle RECVFROM = downcall("recvfrom", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle GETSOCKNAME = downcall("getsockname", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle CLOSE = downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle SETNS = downcall("setns", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle STATX = downcall("statx", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));
    // open(2) is variadic; we never pass O_CREAT, so the fixed part is the whole call.
    private static final MethodHandle OPEN = LINKER.downcallHandle(LIBC.find("open").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));

    private Libc() {}

    private static MethodHandle downcall(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(() -> new IllegalStateException("libc has no " + name)),
                fd, Linker.Option.captureCallState("errno"));
    }

    /** A native call that returned -1: the errno and the call's name. */
    public static final class SyscallException extends RuntimeException {
        private final int errno;
        SyscallException(String call, int errno, String detail) {
            super(call + (detail == null ? "" : " " + detail) + ": " + Errno.name(errno) + " (" + Errno.text(errno) + ")");
            this.errno = errno;
        }
        public int errno() { return errno; }
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    public static int socket(int domain, int type, int protocol) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CALL_STATE);
            int fd = (int) SOCKET.invokeExact(st, domain, type, protocol);
            if (fd < 0) throw new SyscallException("socket", errno(st), null);
            return fd;
        } catch (SyscallException e) { throw e; } catch (Throwable t) { throw new IllegalStateException(t); }
    }

    public static void bind(int fd, MemorySegment addr) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CALL_STATE);
            int rc = (int) BIND.invokeExact(st, fd, addr, (int) addr.byteSize());
            if (rc < 0) throw new SyscallException("bind", errno(st), null);
        } catch (SyscallException e) { throw e; } catch (Throwable t) { throw new IllegalStateException(t); }
    }

    public static void setsockoptInt(int fd, int level, int name, int value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CALL_STATE);
            MemorySegment v = a.allocate(JAVA_INT);
            v.set(JAVA_INT, 0, value);
            int rc = (int) SETSOCKOPT.invokeExact(st, fd, level, name, v, 4);
            if (rc < 0) throw new SyscallException("setsockopt", errno(st), "level " + level + " option " + name);
        } catch (SyscallException e) { throw e; } catch (Throwable t) { throw new IllegalStateException(t); }
    }

    /** SO_RCVTIMEO as struct timeval, so a lost reply cannot hang a worker forever. */
    public static void setReceiveTimeout(int fd, long millis) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CALL_STATE);
            MemorySegment tv = a.allocate(16);
            tv.set(JAVA_LONG, 0, millis / 1000);
            tv.set(JAVA_LONG, 8, (millis % 1000) * 1000);
            int rc = (int) SETSOCKOPT.invokeExact(st, fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16);
            if (rc < 0) throw new SyscallException("setsockopt", errno(st), "SO_RCVTIMEO");
        } catch (SyscallException e) { throw e; } catch (Throwable t) { throw new IllegalStateException(t); }
    }

    public static long sendto(int fd, MemorySegment buf, long len, MemorySegment addr) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CALL_STATE);
            long n = (long) SENDTO.invokeExact(st, fd, buf, len, 0, addr, (int) addr.byteSize());
            if (n < 0) throw new SyscallException("sendto", errno(st), null);
            return n;
        } catch (SyscallException e) { throw e; } catch (Throwable t) { throw new IllegalStateException(t); }
    }

    /**
     * recvfrom, the sender's address written to {@code from} (a struct sockaddr_nl for a netlink socket); EINTR is
     * retried here, EAGAIN (receive timeout) surfaces as an exception.
     */
    public static long recv(int fd, MemorySegment buf, MemorySegment from) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CALL_STATE);
            MemorySegment fromLen = a.allocate(JAVA_INT);
            while (true) {
                fromLen.set(JAVA_INT, 0, (int) from.byteSize());
                long n = (long) RECVFROM.invokeExact(st, fd, buf, buf.byteSize(), 0, from, fromLen);
                if (n >= 0) return n;
                int e = errno(st);
                if (e != Errno.EINTR) throw new SyscallException("recvfrom", e, null);
            }
        } catch (SyscallException e) { throw e; } catch (Throwable t) { throw new IllegalStateException(t); }
    }

    /** getsockname: the socket's own address written to {@code addr}. */
    public static void getsockname(int fd, MemorySegment addr) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CALL_STATE);
            MemorySegment len = a.allocate(JAVA_INT);
            len.set(JAVA_INT, 0, (int) addr.byteSize());
            int rc = (int) GETSOCKNAME.invokeExact(st, fd, addr, len);
            if (rc < 0) throw new SyscallException("getsockname", errno(st), "fd " + fd);
        } catch (SyscallException e) { throw e; } catch (Throwable t) { throw new IllegalStateException(t); }
    }

    public static void close(int fd) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CALL_STATE);
            int rc = (int) CLOSE.invokeExact(st, fd);
            if (rc < 0) throw new SyscallException("close", errno(st), "fd " + fd);
        } catch (SyscallException e) { throw e; } catch (Throwable t) { throw new IllegalStateException(t); }
    }

    public static int open(String path, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CALL_STATE);
            int fd = (int) OPEN.invokeExact(st, a.allocateFrom(path), flags);
            if (fd < 0) throw new SyscallException("open", errno(st), "\"" + path + "\"");
            return fd;
        } catch (SyscallException e) { throw e; } catch (Throwable t) { throw new IllegalStateException(t); }
    }

    /** A file's identity: device and inode, as stat(2) reports them. */
    public record FileId(long dev, long ino) {}

    /** statx(2) of a path (following links), or of an open fd when {@code path} is null. */
    public static FileId fileId(int fd, String path) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CALL_STATE);
            MemorySegment buf = a.allocate(STATX_SIZE, 8);
            int rc = path == null
                    ? (int) STATX.invokeExact(st, fd, a.allocateFrom(""), AT_EMPTY_PATH, STATX_INO, buf)
                    : (int) STATX.invokeExact(st, AT_FDCWD, a.allocateFrom(path), 0, STATX_INO, buf);
            if (rc < 0) throw new SyscallException("statx", errno(st), path == null ? "fd " + fd : "\"" + path + "\"");
            long dev = ((long) buf.get(JAVA_INT, STX_DEV_MAJOR) << 32) | (buf.get(JAVA_INT, STX_DEV_MINOR) & 0xffffffffL);
            return new FileId(dev, buf.get(JAVA_LONG, STX_INO));
        } catch (SyscallException e) { throw e; } catch (Throwable t) { throw new IllegalStateException(t); }
    }

    /** setns(2) on the calling thread. Only {@code NamespaceThread} may call this. */
    public static void setns(int fd, int nstype) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(CALL_STATE);
            int rc = (int) SETNS.invokeExact(st, fd, nstype);
            if (rc < 0) throw new SyscallException("setns", errno(st), "fd " + fd);
        } catch (SyscallException e) { throw e; } catch (Throwable t) { throw new IllegalStateException(t); }
    }
}
