package io.netattach.node.netlink.wire;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A NETLINK_ROUTE socket. It stays bound to the network namespace it was created in, whatever thread uses it
 * later. Requests are serialised per socket; each carries a fresh sequence number, and replies with another
 * sequence (stale answers of an earlier timed-out request) are dropped. Only the kernel's datagrams (sender port
 * id 0) are read: in a pod's namespace a process with CAP_NET_ADMIN can send to this socket's port id, and a
 * forged ACK or error would otherwise pass for the kernel's answer.
 */
public final class NetlinkSocket implements AutoCloseable {
    private static final AtomicInteger SEQ = new AtomicInteger((int) (System.nanoTime() & 0x3fffffff));
    // The kernel sizes dump datagrams to at most 32 KiB (and to the reader's buffer, which it learns).
    private static final int BUFFER = 32 * 1024;
    private static final int DUMP_RETRIES = 5;

    private final int fd;
    private final String where;
    private boolean closed;
    /** Datagrams from another sender than the kernel, dropped unread. */
    private long foreign;

    private NetlinkSocket(int fd, String where) {
        this.fd = fd;
        this.where = where;
    }

    /** Opens a socket in the calling thread's network namespace. */
    public static NetlinkSocket open(String where) {
        int fd = Libc.socket(Libc.AF_NETLINK, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, Libc.NETLINK_ROUTE);
        try {
            Libc.setsockoptInt(fd, Libc.SOL_NETLINK, Libc.NETLINK_EXT_ACK, 1);
            Libc.setsockoptInt(fd, Libc.SOL_NETLINK, Libc.NETLINK_CAP_ACK, 1);
            Libc.setReceiveTimeout(fd, 10_000);
            try (Arena a = Arena.ofConfined()) {
                Libc.bind(fd, sockaddrNl(a)); // port id 0: the kernel assigns one
            }
            return new NetlinkSocket(fd, where);
        } catch (RuntimeException e) {
            Libc.close(fd);
            throw e;
        }
    }

    /** This socket's netlink port id (the address a reply is sent to). */
    int portId() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment local = sockaddrNl(a);
            Libc.getsockname(fd, local);
            return local.get(ValueLayout.JAVA_INT, 4);
        }
    }

    /** How many datagrams from another sender than the kernel were dropped. */
    synchronized long foreignDropped() { return foreign; }

    /** The sequence number the next request will get (tests forge replies for it). */
    static int nextSeq() { return (SEQ.get() + 1) & 0x7fffffff; }

    /** A struct sockaddr_nl {family AF_NETLINK, pad, port id 0 (at offset 4), groups 0}. */
    static MemorySegment sockaddrNl(Arena a) {
        MemorySegment addr = a.allocate(12, 4);
        addr.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_NETLINK);
        return addr;
    }

    /** Where this socket lives (a netns path), for messages. */
    public String where() { return where; }

    /** Sends a change request and waits for its ACK; a negative ACK becomes a {@link NetlinkException}. */
    public synchronized void execute(String operation, MessageBuilder msg) {
        exchange(List.of(Request.change(operation, msg)));
    }

    /** Sends a GET (single object, with ACK) and returns the replies. */
    public synchronized List<Wire> query(String operation, MessageBuilder msg) {
        return exchange(List.of(Request.change(operation, msg))).getFirst();
    }

    /** Sends a dump request and returns every part up to NLMSG_DONE; an interrupted dump is restarted. */
    public synchronized List<Wire> dump(String operation, MessageBuilder msg) {
        for (int attempt = 0; ; attempt++) {
            List<Wire> parts = exchange(List.of(Request.dumpOf(operation, msg))).getFirst();
            if (!interrupted(parts) || attempt >= DUMP_RETRIES) return parts;
        }
    }

    private static boolean interrupted(List<Wire> parts) {
        return parts.stream().anyMatch(w -> (w.flags() & Nl.NLM_F_DUMP_INTR) != 0);
    }

    /**
     * One request of a {@link #pipeline}: a change (answered by an ACK), a single GET (its reply, then an ACK) or
     * a dump (its parts up to NLMSG_DONE).
     */
    public record Request(String operation, MessageBuilder msg, boolean dump) {
        public static Request change(String operation, MessageBuilder msg) { return new Request(operation, msg, false); }
        public static Request dumpOf(String operation, MessageBuilder msg) { return new Request(operation, msg, true); }
    }

    /**
     * Sends every request back to back (each with its own sequence number; changes and GETs with NLM_F_ACK),
     * then reads all the answers: one round of waiting instead of one per request. The kernel handles each
     * request as it arrives, in order, whatever happened to the ones before, so a caller whose later requests
     * depend on earlier ones succeeding must undo the whole batch on failure. Returns each request's replies
     * (empty for a change); if any was refused, throws the {@link NetlinkException} of the first refused one
     * in request order, after every answer was read (the socket stays clean for the next exchange).
     */
    public synchronized List<List<Wire>> pipeline(List<Request> requests) {
        List<List<Wire>> replies = exchange(requests);
        for (int i = 0; i < requests.size(); i++) {
            Request r = requests.get(i);
            // A dump that raced with a change is asked again on its own (dump() restarts it until whole).
            if (r.dump() && interrupted(replies.get(i))) replies.set(i, dump(r.operation(), r.msg()));
        }
        return replies;
    }

    /**
     * Sends the requests back to back and reads every answer (see {@link #pipeline}); a single request is a batch
     * of one. Replies with another sequence number (stale answers of an earlier timed-out request) are dropped.
     */
    private List<List<Wire>> exchange(List<Request> requests) {
        if (closed) throw new IllegalStateException("netlink socket for " + where + " is closed");
        int count = requests.size();
        int first = (SEQ.getAndAdd(count) + 1) & 0x7fffffff;
        byte[][] messages = new byte[count][];
        int longest = 0;
        for (int i = 0; i < count; i++) {
            Request r = requests.get(i);
            int flags = r.msg().flags() | Nl.NLM_F_REQUEST | (r.dump() ? Nl.NLM_F_DUMP : Nl.NLM_F_ACK);
            messages[i] = r.msg().build((first + i) & 0x7fffffff, 0, flags);
            longest = Math.max(longest, messages[i].length);
        }
        List<List<Wire>> replies = new ArrayList<>(count);
        NetlinkException[] errors = new NetlinkException[count];
        boolean[] done = new boolean[count];
        // Native buffers live for one exchange in a confined arena: a socket is used from several threads over
        // its life, and closing a shared arena costs a handshake with every thread.
        try (Arena a = Arena.ofConfined()) {
            MemorySegment kernel = sockaddrNl(a); // port id 0: the kernel
            MemorySegment tx = a.allocate(longest, 8);
            for (int i = 0; i < count; i++) {
                MemorySegment.copy(messages[i], 0, tx, ValueLayout.JAVA_BYTE, 0, messages[i].length);
                Libc.sendto(fd, tx, messages[i].length, kernel);
                replies.add(new ArrayList<>());
            }
            MemorySegment rx = a.allocate(BUFFER, 8);
            MemorySegment from = sockaddrNl(a);
            int open = count;
            while (open > 0) {
                long n;
                try {
                    n = Libc.recv(fd, rx, from);
                } catch (Libc.SyscallException e) {
                    for (int i = 0; i < count; i++) {
                        if (!done[i]) throw new NetlinkException(requests.get(i).operation() + " in " + where + " (no reply)", e.errno(), null);
                    }
                    throw e;
                }
                if (from.get(ValueLayout.JAVA_INT, 4) != 0) { // sockaddr_nl.nl_pid: not the kernel's
                    foreign++;
                    continue;
                }
                byte[] d = rx.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
                for (Wire w : Wire.split(d, (int) n)) {
                    int i = (w.seq() - first) & 0x7fffffff;
                    if (i >= count || done[i]) continue;
                    switch (w.type()) {
                        case Nl.NLMSG_ERROR -> {
                            int errno = w.errorCode();
                            if (errno != 0) errors[i] = new NetlinkException(requests.get(i).operation(), errno, w.extAckMessage());
                            done[i] = true;
                            open--;
                        }
                        case Nl.NLMSG_DONE -> {
                            // A failed dump reports its error as a negative int in DONE's payload.
                            if (w.len() >= Nl.HDRLEN + 4 && w.i32(0) < 0) {
                                errors[i] = new NetlinkException(requests.get(i).operation(), -w.i32(0), w.extAckMessage());
                            }
                            done[i] = true;
                            open--;
                        }
                        case Nl.NLMSG_NOOP -> { }
                        case Nl.NLMSG_OVERRUN -> throw new NetlinkException(requests.get(i).operation() + " (overrun)", Errno.ENOBUFS_FALLBACK, null);
                        default -> replies.get(i).add(w);
                    }
                }
            }
        }
        for (NetlinkException e : errors) if (e != null) throw e;
        return replies;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        Libc.close(fd);
    }
}
