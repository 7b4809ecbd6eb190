package io.netattach.node.netlink.ns;

import io.netattach.node.netlink.wire.Libc;
import io.netattach.node.netlink.wire.NetlinkSocket;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;

/**
 * The one platform thread that ever calls setns. A network namespace is a per-thread property in Linux: a
 * virtual thread (or a pool thread) that entered another namespace would carry it into unrelated work. So
 * this thread enters a namespace only to open a netlink socket there (sockets stay bound to the namespace
 * they were made in) or to write a /proc/sys file of that namespace (sysctls resolve against the opener's
 * namespace), and returns to its home namespace before doing anything else. If it cannot return, it is
 * replaced: nothing else ever runs on a thread stuck in a foreign namespace.
 */
public final class NamespaceThread implements AutoCloseable {
    private final Path procSys;
    private ExecutorService executor;
    private Netns home;

    public NamespaceThread() {
        this(Path.of("/proc/sys"));
    }

    /**
     * @param procSys where the sysctl tree is: /proc/sys, or in a container whose /proc/sys is read-only, a
     *                writable bind mount of the node's /proc/sys/net (a net sysctl file still resolves against
     *                the network namespace of the thread that opens it).
     */
    public NamespaceThread(Path procSys) {
        this.procSys = procSys;
        start();
    }

    private synchronized void start() {
        executor = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("netattach-netns").daemon(true).factory());
        home = call(() -> Netns.open("/proc/thread-self/ns/net"));
    }

    /** A NETLINK_ROUTE socket inside {@code ns}. */
    public NetlinkSocket openSocket(Netns ns) {
        return openSocketLater(ns).get();
    }

    /**
     * Starts opening a NETLINK_ROUTE socket inside {@code ns} and returns at once, so the caller can do other
     * work (plan, node-side look-ups) while this thread wakes up and enters the namespace. The caller must
     * {@link PendingSocket#close()} the result even if it never needed the socket.
     */
    public PendingSocket openSocketLater(Netns ns) {
        return new PendingSocket(submit(() -> inside0(ns, () -> NetlinkSocket.open(ns.path()))));
    }

    /** A socket being opened on the namespace thread. */
    public static final class PendingSocket implements AutoCloseable {
        private final Future<NetlinkSocket> future;
        private NetlinkSocket socket;

        private PendingSocket(Future<NetlinkSocket> future) { this.future = future; }

        /** The socket, waiting for it if needed; the opening's failure is thrown here. */
        public NetlinkSocket get() {
            if (socket == null) socket = await(future);
            return socket;
        }

        @Override
        public void close() {
            try {
                get().close();
            } catch (RuntimeException e) {
                // never opened: nothing to close (get() already reported the failure to whoever needed it)
            }
        }
    }

    /**
     * Writes a sysctl of {@code ns}, e.g. {@code net/ipv4/conf/net1/arp_notify}. Returns false if the file
     * does not exist there (IPv6 disabled, say).
     */
    public boolean writeSysctl(Netns ns, String key, String value) {
        return writeSysctls(ns, java.util.Map.of(key, value)) == 1;
    }

    /** Writes several sysctls of {@code ns} in one visit; returns how many existed. */
    public int writeSysctls(Netns ns, java.util.Map<String, String> values) {
        for (String key : values.keySet()) {
            if (key.contains("..")) throw new IllegalArgumentException("sysctl key \"" + key + "\" contains '..'");
        }
        return inside(ns, () -> {
            int written = 0;
            for (var e : values.entrySet()) {
                try {
                    Files.writeString(procSys.resolve(e.getKey()), e.getValue(), StandardCharsets.US_ASCII);
                    written++;
                } catch (NoSuchFileException missing) {
                    // e.g. IPv6 disabled in that namespace
                } catch (java.io.IOException io) {
                    throw new IllegalStateException("cannot write sysctl " + e.getKey() + "=" + e.getValue() + " in " + ns + ": " + io.getMessage(), io);
                }
            }
            return written;
        });
    }

    /**
     * Starts a process inside {@code ns}: a child inherits the network namespace of the thread that forks it,
     * so the CNI plugin binaries we delegate to run in the node's namespace even when it is not ours.
     */
    public Process spawn(Netns ns, ProcessBuilder pb) {
        return inside(ns, () -> {
            try {
                return pb.start();
            } catch (java.io.IOException e) {
                throw new IllegalStateException("cannot execute " + pb.command().getFirst() + ": " + e.getMessage(), e);
            }
        });
    }

    private <T> T inside(Netns ns, Supplier<T> work) {
        return call(() -> inside0(ns, work));
    }

    /** Runs on the namespace thread itself: enter {@code ns}, work, return home. */
    private <T> T inside0(Netns ns, Supplier<T> work) {
        Libc.setns(ns.fd(), Libc.CLONE_NEWNET);
        try {
            return work.get();
        } finally {
            try {
                Libc.setns(home.fd(), Libc.CLONE_NEWNET);
            } catch (RuntimeException e) {
                // Never let this thread run anything else in a foreign namespace.
                replaceThread();
                throw new IllegalStateException("could not return to the home network namespace after " + ns + ": " + e.getMessage(), e);
            }
        }
    }

    private void replaceThread() {
        ExecutorService stuck = executor;
        Thread.ofPlatform().start(() -> {
            stuck.shutdownNow();
            synchronized (this) {
                executor = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("netattach-netns").daemon(true).factory());
            }
        });
    }

    private <T> T call(java.util.concurrent.Callable<T> task) {
        return await(submit(task));
    }

    private synchronized <T> Future<T> submit(java.util.concurrent.Callable<T> task) {
        return executor.submit(task);
    }

    /**
     * A hand-off to this thread is answered in tens of microseconds; parking the caller and waking it again
     * would add a second thread wake-up (on a busy VM, more than the work itself). So the caller spins for a
     * short while first, then blocks.
     */
    private static final long SPIN_NANOS = 150_000;

    private static <T> T await(Future<T> f) {
        long deadline = System.nanoTime() + SPIN_NANOS;
        while (!f.isDone() && System.nanoTime() < deadline) Thread.onSpinWait();
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the netns thread", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new IllegalStateException(e.getCause());
        }
    }

    @Override
    public synchronized void close() {
        executor.shutdown();
        home.close();
    }
}
