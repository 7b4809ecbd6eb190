package io.netattach.node.domain;

import io.netattach.node.domain.Commands.Attach;
import io.netattach.node.domain.Commands.Detach;
import io.netattach.node.domain.Commands.Result;
import io.netattach.node.domain.Commands.Sandbox;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The pods of this node: which sandboxes (pod network namespaces) the CNI shim registered, which attach
 * commands wait for their sandbox, and the execution of attach / detach against the {@link InterfaceBackend}.
 * Work on one pod is serialised; different pods proceed in parallel.
 */
public final class PodNetworks {
    /** Where results and sandbox events go (Kafka in production). */
    public interface Events {
        void result(Result result);
        void sandbox(Sandbox sandbox, String event);
    }

    /** The reason of an {@link AttachException} for a kind this node's kernel cannot make at all. */
    public static final String UNSUPPORTED = "Unsupported";

    private record Pending(Attach command, Instant since) {}

    private final InterfaceBackend backend;
    private final Events events;
    private final Clock clock;
    private final Map<String, Sandbox> sandboxes = new ConcurrentHashMap<>();
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<Result>> settled = new ConcurrentHashMap<>();
    private final Map<String, Object> podLocks = new ConcurrentHashMap<>();

    public PodNetworks(InterfaceBackend backend, Events events, Clock clock) {
        this.backend = backend;
        this.events = events;
        this.clock = clock;
    }

    private Object lock(String podUid) { return podLocks.computeIfAbsent(podUid, k -> new Object()); }

    private CompletableFuture<Result> settledFuture(String podUid) {
        return settled.computeIfAbsent(podUid, k -> new CompletableFuture<>());
    }

    /** Executes now if the pod's sandbox is known; otherwise keeps the command and answers pending. */
    public Result attach(Attach c) {
        synchronized (lock(c.pod().uid())) {
            Sandbox sb = sandboxes.get(c.pod().uid());
            if (sb == null) {
                pending.put(c.pod().uid(), new Pending(c, clock.instant()));
                return Result.pending(c);
            }
            pending.remove(c.pod().uid());
            Result r = execute(c, sb);
            settledFuture(c.pod().uid()).complete(r);
            return r;
        }
    }

    public boolean isPending(String podUid) { return pending.containsKey(podUid); }

    private Result execute(Attach c, Sandbox sb) {
        List<InterfaceReport> reports = new ArrayList<>();
        List<String> made = new ArrayList<>();
        AttachException failure = null;
        for (AttachmentRequest a : c.attachments()) {
            if (failure != null) {
                reports.add(InterfaceReport.failed(a.network(), a.iface(), sb.netns(), "not attempted: an earlier interface of this pod failed"));
                continue;
            }
            try {
                reports.add(backend.attach(sb.netns(), c.pod(), a));
                made.add(a.iface());
            } catch (AttachException e) {
                if (a.skipIfUnsupported() && UNSUPPORTED.equals(e.reason())) {
                    // the kernel cannot make this kind at all: asked to go ahead without it (nothing of it was made)
                    reports.add(InterfaceReport.skipped(a.network(), a.iface(), sb.netns(), e.getMessage()));
                    continue;
                }
                failure = e;
                reports.add(InterfaceReport.failed(a.network(), a.iface(), sb.netns(), e.getMessage()));
            } catch (RuntimeException e) {
                failure = new AttachException("Failed", "network " + a.network() + " interface " + a.iface() + ": " + e.getMessage(), e);
                reports.add(InterfaceReport.failed(a.network(), a.iface(), sb.netns(), failure.getMessage()));
            }
        }
        if (failure == null) return new Result(c.requestId(), c.pod(), true, false, sb.netns(), reports, null, null);
        // All or nothing per command: what this command made is removed again, so a retry starts clean.
        if (!made.isEmpty()) {
            try {
                backend.detach(sb.netns(), c.pod(), made);
            } catch (RuntimeException e) {
                failure.addSuppressed(e);
            }
            List<InterfaceReport> rolledBack = new ArrayList<>();
            for (InterfaceReport r : reports) {
                rolledBack.add(r.ok() ? InterfaceReport.failed(r.network(), r.iface(), sb.netns(), "rolled back: " + failure.getMessage()) : r);
            }
            reports = rolledBack;
        }
        return new Result(c.requestId(), c.pod(), false, false, sb.netns(), reports, failure.reason(), failure.getMessage());
    }

    public Result detach(Detach c) {
        synchronized (lock(c.pod().uid())) {
            if (c.interfaces() == null) pending.remove(c.pod().uid());
            Sandbox sb = sandboxes.get(c.pod().uid());
            if (sb == null) return new Result(c.requestId(), c.pod(), true, false, null, List.of(), null, null);
            try {
                List<String> removed = backend.detach(sb.netns(), c.pod(), c.interfaces());
                List<InterfaceReport> reports = removed.stream()
                        .map(n -> new InterfaceReport(null, n, null, null, List.of(), sb.netns(), null)).toList();
                return new Result(c.requestId(), c.pod(), true, false, sb.netns(), reports, null, null);
            } catch (AttachException e) {
                return new Result(c.requestId(), c.pod(), false, false, sb.netns(), List.of(), e.reason(), e.getMessage());
            } catch (RuntimeException e) {
                return new Result(c.requestId(), c.pod(), false, false, sb.netns(), List.of(), "Failed", e.getMessage());
            }
        }
    }

    /**
     * The CNI shim's ADD: remember the sandbox, announce it, and run the pod's pending attach if there is one.
     * A new sandbox of a known pod (different container id) replaces the old one.
     */
    public Optional<Result> register(Sandbox sb) {
        Result executed = null;
        synchronized (lock(sb.pod().uid())) {
            Sandbox before = sandboxes.put(sb.pod().uid(), sb);
            if (before == null || !before.equals(sb)) {
                settled.remove(sb.pod().uid());
                events.sandbox(sb, "added");
            }
            Pending p = pending.remove(sb.pod().uid());
            if (p != null) {
                executed = execute(p.command(), sb);
                settledFuture(sb.pod().uid()).complete(executed);
            }
        }
        if (executed != null) events.result(executed);
        return Optional.ofNullable(executed);
    }

    /** Waits, bounded, until an attach for the pod has run (or returns empty on timeout). */
    public Optional<Result> awaitAttachments(String podUid, Duration timeout) {
        try {
            return Optional.of(settledFuture(podUid).get(timeout.toMillis(), TimeUnit.MILLISECONDS));
        } catch (TimeoutException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /** The CNI shim's DEL: remove what netattach made in the sandbox and forget it. Idempotent. */
    public List<String> unregister(PodRef pod, String containerId, String netns) {
        synchronized (lock(pod.uid())) {
            Sandbox sb = sandboxes.get(pod.uid());
            String path = netns != null && !netns.isBlank() ? netns : sb == null ? null : sb.netns();
            List<String> removed = path == null ? List.of() : backend.detach(path, pod, null);
            if (sb != null && (containerId == null || containerId.equals(sb.containerId()))) {
                sandboxes.remove(pod.uid());
                settled.remove(pod.uid());
                events.sandbox(sb, "removed");
            }
            return removed;
        }
    }

    /** Re-learns a sandbox after a restart (from the worker's state file), without announcing it again. */
    public void restore(Sandbox sb) { sandboxes.putIfAbsent(sb.pod().uid(), sb); }

    public Optional<Sandbox> sandbox(String podUid) { return Optional.ofNullable(sandboxes.get(podUid)); }

    public List<Sandbox> sandboxes() { return List.copyOf(sandboxes.values()); }

    public List<InterfaceReport> inspect(Sandbox sb) { return backend.inspect(sb.netns(), sb.pod()); }

    /** Drops attach commands whose sandbox did not appear within {@code ttl}; each gets a Timeout result. */
    public List<Result> expirePending(Duration ttl) {
        Instant limit = clock.instant().minus(ttl);
        List<Result> out = new ArrayList<>();
        for (Map.Entry<String, Pending> e : pending.entrySet()) {
            if (e.getValue().since().isBefore(limit) && pending.remove(e.getKey(), e.getValue())) {
                Attach c = e.getValue().command();
                out.add(new Result(c.requestId(), c.pod(), false, false, null, List.of(), "Timeout",
                        "the sandbox of pod " + c.pod().subject() + " did not register on node " + c.node() + " within " + ttl));
            }
        }
        return out;
    }
}
