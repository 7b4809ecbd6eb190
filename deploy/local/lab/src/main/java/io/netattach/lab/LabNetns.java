package io.netattach.lab;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;

/**
 * Network namespaces for the lab's kubelet stand-in, made the way a container runtime makes them (unshare on
 * a thread, bind-mount of the thread's namespace under /var/run/netns, loopback up), through the FFM API
 * instead of an `ip` process per step: on 2 cores, a process per step was most of the lab's cost per pod.
 *
 * Every call here changes or relies on the calling thread's network namespace, so the kubelet calls them
 * only from its own platform threads, each of which first {@link #enter}s its node's namespace for good:
 * the processes those threads start (the CNI plugins) then run in the node's namespace, as on a node.
 */
final class LabNetns {
    private static final int CLONE_NEWNET = 0x40000000;
    private static final int O_RDONLY = 0, O_CREAT = 0100, O_EXCL = 0200, O_CLOEXEC = 02000000;
    private static final long MS_BIND = 4096;
    private static final int MNT_DETACH = 2;
    private static final int AF_INET = 2, SOCK_DGRAM = 2;
    private static final long SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914;
    private static final short IFF_UP = 1;
    /** struct ifreq: 16 bytes of name, then a union whose first member here is short ifr_flags; 40 bytes in all. */
    private static final long IFREQ_SIZE = 40, IFR_FLAGS = 16;
    private static final Path RUN_NETNS = Path.of("/var/run/netns");

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle OPEN = fn("open", ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
    private static final MethodHandle CLOSE = fn("close", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
    private static final MethodHandle SETNS = fn("setns", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
    private static final MethodHandle UNSHARE = fn("unshare", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
    private static final MethodHandle MOUNT = fn("mount", ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS);
    private static final MethodHandle UMOUNT2 = fn("umount2", ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT);
    private static final MethodHandle UNLINK = fn("unlink", ValueLayout.JAVA_INT, ValueLayout.ADDRESS);
    private static final MethodHandle SOCKET = fn("socket", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
    private static final MethodHandle IOCTL = fn("ioctl", ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS);
    private static final MethodHandle STRERROR = LINKER.downcallHandle(LINKER.defaultLookup().find("strerror").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.ADDRESS.withTargetLayout(MemoryLayout.sequenceLayout(256, ValueLayout.JAVA_BYTE)), ValueLayout.JAVA_INT));

    private LabNetns() {}

    private static MethodHandle fn(String name, ValueLayout ret, ValueLayout... args) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), FunctionDescriptor.of(ret, args),
                Linker.Option.captureCallState("errno"));
    }

    /** Moves the calling (platform) thread into the namespace at {@code path}, for the rest of its life. */
    static void enter(Path path) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = open(arena, state, path.toString(), O_RDONLY | O_CLOEXEC, 0);
            try {
                check(state, (int) SETNS.invokeExact(state, fd, CLONE_NEWNET), "setns " + path);
            } finally {
                int ignored = (int) CLOSE.invokeExact(state, fd);
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    /**
     * Creates the namespace /var/run/netns/{name} with its loopback up, as `ip netns add` and `ip link set lo up`
     * do. The calling thread is back in its own namespace afterwards, whatever happened; on failure nothing is left.
     */
    static void create(String name) throws IOException {
        Path target = RUN_NETNS.resolve(name);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int home = open(arena, state, "/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC, 0);
            boolean created = false, mounted = false, moved = false;
            try {
                int f = open(arena, state, target.toString(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
                created = true;
                int ignored = (int) CLOSE.invokeExact(state, f);
                check(state, (int) UNSHARE.invokeExact(state, CLONE_NEWNET), "unshare(CLONE_NEWNET)");
                moved = true;
                check(state, (int) MOUNT.invokeExact(state, arena.allocateFrom("/proc/thread-self/ns/net"),
                        arena.allocateFrom(target.toString()), arena.allocateFrom("none"), MS_BIND, MemorySegment.NULL),
                        "bind mount of the new namespace on " + target);
                mounted = true;
                loopbackUp(arena, state);
                check(state, (int) SETNS.invokeExact(state, home, CLONE_NEWNET), "setns back to the node");
                moved = false;
            } catch (IOException | RuntimeException e) {
                if (moved) {
                    // Without a way back the thread would run the node's plugins in the wrong namespace.
                    if ((int) SETNS.invokeExact(state, home, CLONE_NEWNET) != 0) {
                        throw new IllegalStateException("cannot return to the node's namespace after: " + e.getMessage(), e);
                    }
                }
                if (mounted) {
                    int ignored = (int) UMOUNT2.invokeExact(state, arena.allocateFrom(target.toString()), MNT_DETACH);
                }
                if (created) {
                    int ignored = (int) UNLINK.invokeExact(state, arena.allocateFrom(target.toString()));
                }
                throw e;
            } finally {
                int ignored = (int) CLOSE.invokeExact(state, home);
            }
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    /** Removes /var/run/netns/{name} as `ip netns delete` does (lazy unmount, then unlink); missing is fine. */
    static void delete(String name) throws IOException {
        Path target = RUN_NETNS.resolve(name);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment path = arena.allocateFrom(target.toString());
            int ignored = (int) UMOUNT2.invokeExact(state, path, MNT_DETACH);
            if ((int) UNLINK.invokeExact(state, path) != 0 && errno(state) != 2 /* ENOENT */) {
                throw new IOException("unlink " + target + ": " + strerror(errno(state)));
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException(t);
        }
    }

    private static void loopbackUp(Arena arena, MemorySegment state) throws Throwable {
        int sock = (int) SOCKET.invokeExact(state, AF_INET, SOCK_DGRAM, 0);
        check(state, sock, "socket for the loopback");
        try {
            MemorySegment ifreq = arena.allocate(IFREQ_SIZE);
            ifreq.setString(0, "lo");
            check(state, (int) IOCTL.invokeExact(state, sock, SIOCGIFFLAGS, ifreq), "SIOCGIFFLAGS lo");
            short flags = ifreq.get(ValueLayout.JAVA_SHORT, IFR_FLAGS);
            ifreq.set(ValueLayout.JAVA_SHORT, IFR_FLAGS, (short) (flags | IFF_UP));
            check(state, (int) IOCTL.invokeExact(state, sock, SIOCSIFFLAGS, ifreq), "SIOCSIFFLAGS lo up");
        } finally {
            int ignored = (int) CLOSE.invokeExact(state, sock);
        }
    }

    private static int open(Arena arena, MemorySegment state, String path, int flags, int mode) throws Throwable {
        int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path), flags, mode);
        check(state, fd, "open " + path);
        return fd;
    }

    private static void check(MemorySegment state, int rc, String what) throws IOException {
        if (rc < 0) {
            throw new IOException(what + ": " + strerror(errno(state)));
        }
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static String strerror(int errno) {
        try {
            return ((MemorySegment) STRERROR.invokeExact(errno)).getString(0) + " (errno " + errno + ")";
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }
}
