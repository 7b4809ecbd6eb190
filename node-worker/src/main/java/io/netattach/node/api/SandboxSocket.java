package io.netattach.node.api;

import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.jboss.logging.Logger;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * The unix socket the CNI shim talks to: one request per connection, one line of JSON each way (see
 * {@link SandboxApi}). Each connection is served on a virtual thread, so an ADD that waits costs no platform thread.
 * Besides the file's mode (0600, root's), the peer's credentials (SO_PEERCRED) must name one of {@code peers} (the
 * container runtime's user), and a request must be read whole within {@code readTimeout}, so a stalled client
 * holds nothing.
 */
public final class SandboxSocket implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(SandboxSocket.class);
    /** The shim refuses configs over 1 MiB; the request adds the CNI environment around it. */
    static final int MAX_REQUEST = (1 << 20) + 64 * 1024;

    private final Path path;
    private final UnaryOperator<String> handler;
    private final Set<String> peers;
    private final Duration readTimeout;
    private final ScheduledExecutorService deadlines = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("netattach-sandbox-deadlines").daemon(true).factory());
    private final ServerSocketChannel server;
    private final Thread acceptor;
    private volatile boolean running = true;

    /** @param peers user names (or numeric uids) whose processes may ask; the runtime runs the shim as one of them */
    public SandboxSocket(Path path, UnaryOperator<String> handler, Set<String> peers, Duration readTimeout) throws IOException {
        this.path = path;
        this.handler = handler;
        this.peers = Set.copyOf(peers);
        this.readTimeout = readTimeout;
        Files.createDirectories(path.toAbsolutePath().getParent());
        Files.deleteIfExists(path); // a stale socket of a previous run
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        // A node may start hundreds of pods at once; the default backlog (50) refuses the rest with EAGAIN.
        server.bind(UnixDomainSocketAddress.of(path), 4096);
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        acceptor = Thread.ofPlatform().name("netattach-sandbox-socket").daemon(true).start(this::accept);
        LOG.infof("sandbox API listening on %s", path);
    }

    private void accept() {
        while (running) {
            try {
                SocketChannel c = server.accept();
                Thread.ofVirtual().name("sandbox-request").start(() -> serve(c));
            } catch (IOException e) {
                if (running) LOG.warnf("sandbox socket accept failed: %s", e.getMessage());
            }
        }
    }

    private void serve(SocketChannel c) {
        try (c) {
            // a client that stalls is cut off: the close ends the blocked read with AsynchronousCloseException
            ScheduledFuture<?> deadline = deadlines.schedule(() -> closeQuietly(c), readTimeout.toMillis(), TimeUnit.MILLISECONDS);
            String line;
            try {
                line = readLine(c);
            } finally {
                deadline.cancel(false);
            }
            // checked after the (bounded) read: closing with the request unread would reset the connection, and the
            // shim would print "not reachable" instead of the refusal
            String peer = peer(c);
            if (!peers.contains(peer)) {
                LOG.warnf("sandbox socket: a process of user %s asked; only %s may (netattach.node.socket-peers)", peer, peers);
                respond(c, "{\"exit\":1,\"stdout\":{\"cniVersion\":\"1.0.0\",\"code\":4,\"msg\":\"netattach: user " + peer.replaceAll("[^A-Za-z0-9._-]", "?")
                        + " may not use node-worker's sandbox socket\"}}");
                return;
            }
            respond(c, line == null
                    ? "{\"exit\":1,\"stdout\":{\"cniVersion\":\"1.0.0\",\"code\":4,\"msg\":\"netattach: empty or oversized request\"}}"
                    : handler.apply(line));
        } catch (java.nio.channels.AsynchronousCloseException e) {
            LOG.warnf("sandbox socket: no whole request within %d ms; connection closed", readTimeout.toMillis());
        } catch (IOException e) {
            LOG.warnf("sandbox socket request failed: %s", e.getMessage());
        } catch (RuntimeException e) {
            LOG.errorf(e, "sandbox socket request failed");
        }
    }

    /** The peer's user name (its uid when it has none), from SO_PEERCRED: what the kernel says, not what it claims. */
    private static String peer(SocketChannel c) throws IOException {
        UnixDomainPrincipal p = c.getOption(ExtendedSocketOptions.SO_PEERCRED);
        return p.user().getName();
    }

    private static void respond(SocketChannel c, String response) throws IOException {
        ByteBuffer out = ByteBuffer.wrap((response + "\n").getBytes(StandardCharsets.UTF_8));
        while (out.hasRemaining()) c.write(out);
    }

    private static void closeQuietly(SocketChannel c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing is all that was asked
        }
    }

    /** The request up to its line break, read in bounded steps: null if empty or longer than {@link #MAX_REQUEST}. */
    private static String readLine(SocketChannel c) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(4096);
        ByteBuffer buf = ByteBuffer.allocate(16 * 1024);
        while (true) {
            buf.clear();
            int n = c.read(buf);
            if (n < 0) break;
            for (int i = 0; i < n; i++) {
                byte b = buf.get(i);
                if (b == '\n') return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
                line.write(b);
            }
            if (line.size() > MAX_REQUEST) return null;
        }
        return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        running = false;
        deadlines.shutdownNow();
        try {
            server.close();
            acceptor.join(5_000);
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.warnf("closing sandbox socket %s: %s", path, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
