package io.netattach.node.domain;

import io.netattach.node.domain.Commands.Attach;
import io.netattach.node.domain.Commands.Blocked;
import io.netattach.node.domain.Commands.Detach;
import io.netattach.node.domain.Commands.Result;
import io.netattach.node.domain.Commands.Sandbox;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The pods of this node: their sandboxes (pod network namespaces, registered by the CNI shim), attach commands
 * that wait for a sandbox, what was made in each sandbox, attach-service's reason when it will not attach, and
 * the CNI ADDs that wait until a pod's interfaces are in place. Work on one pod is serialised; pods proceed in
 * parallel.
 */
public final class PodNetworks {
    /** Where results and sandbox events go (Kafka in production, asynchronously), and when to persist. */
    public interface Events {
        void result(Result result);

        /** Diagnostics: a sandbox added or removed. */
        void sandbox(Sandbox sandbox, String event);

        /** A sandbox of a pod that asks for networks waits with none of them in it: attach-service should attach. */
        void waiting(Sandbox sandbox);

        /** The sandboxes or what was made in them changed. */
        void changed();

        /** Runs the batch of an attach that waited for its sandbox (now come), e.g. within its command's trace. */
        default Result deferred(Attach command, java.util.function.Supplier<Result> batch) {
            return batch.get();
        }
    }

    /** The reason of an {@link AttachException} for a kind this node's kernel cannot make at all. */
    public static final String UNSUPPORTED = "Unsupported";
    /** A refused pod's ADDs remind attach-service at most this often (the kubelet retries a failed sandbox). */
    private static final Duration NUDGE_INTERVAL = Duration.ofSeconds(5);

    /** A sandbox and what netattach made in it, as persisted across restarts. */
    public record Saved(Sandbox sandbox, List<InterfaceReport> attached) {
        public Saved {
            attached = List.copyOf(attached);
        }
    }

    /** One pod's state; guarded by its own monitor. */
    private static final class Pod {
        Sandbox sandbox;
        Attach pending;
        Instant pendingSince;
        /** Interfaces made in the current sandbox, by name (skipped and failed ones are not here). */
        final Map<String, InterfaceReport> attached = new LinkedHashMap<>();
        /** An attach succeeded in the current sandbox (possibly with nothing to make). */
        boolean settled;
        /** An attach succeeded for this pod in an earlier sandbox: a new one has lost those interfaces. */
        boolean attachedBefore;
        Blocked blocked;
        CompletableFuture<AddOutcome> waiter;
        Instant waitingSince;
        boolean nudged;
        Instant lastNudge;
        boolean removed;

        boolean isEmpty() {
            return sandbox == null && pending == null && blocked == null && !attachedBefore && waiter == null;
        }
    }

    private final InterfaceBackend backend;
    private final Events events;
    private final Clock clock;
    private final Map<String, Pod> pods = new ConcurrentHashMap<>();

    public PodNetworks(InterfaceBackend backend, Events events, Clock clock) {
        this.backend = backend;
        this.events = events;
        this.clock = clock;
    }

    /** Runs work under the pod's monitor; a pod left with no state is forgotten. */
    private <T> T withPod(String uid, Function<Pod, T> work) {
        while (true) {
            Pod p = pods.computeIfAbsent(uid, k -> new Pod());
            synchronized (p) {
                if (p.removed) continue; // forgotten by another thread meanwhile: take the new one
                try {
                    return work.apply(p);
                } finally {
                    if (p.isEmpty()) {
                        p.removed = true;
                        pods.remove(uid, p);
                    }
                }
            }
        }
    }

    // ---- commands from attach-service -------------------------------------------------------------------

    /** Executes now if the pod's sandbox is known; otherwise keeps the command and answers pending. */
    public Result attach(Attach c) {
        return withPod(c.pod().uid(), p -> {
            p.blocked = null;
            if (p.sandbox == null) {
                p.pending = c;
                p.pendingSince = clock.instant();
                return Result.pending(c);
            }
            p.pending = null;
            Result r = execute(c, p.sandbox);
            settle(p, r);
            return r;
        });
    }

    public Result detach(Detach c) {
        return withPod(c.pod().uid(), p -> {
            boolean teardown = c.interfaces() == null;
            if (teardown) {
                p.pending = null;
                p.blocked = null;
                p.attachedBefore = false;
                release(p, new AddOutcome.Abandoned("pod " + c.pod().subject() + " was deleted"));
            }
            Sandbox sb = p.sandbox;
            if (sb == null) return new Result(c.requestId(), c.pod(), true, false, null, List.of(), null, null);
            try {
                List<String> removed = backend.detach(sb.netns(), c.pod(), c.interfaces());
                removed.forEach(p.attached::remove);
                if (teardown) forgetSandbox(p);
                events.changed();
                List<InterfaceReport> reports = removed.stream()
                        .map(n -> new InterfaceReport(null, n, null, null, List.of(), sb.netns(), null)).toList();
                return Result.in(sb, c.requestId(), true, reports, null, null);
            } catch (AttachException e) {
                return new Result(c.requestId(), c.pod(), false, false, sb.netns(), List.of(), e.reason(), e.getMessage());
            } catch (RuntimeException e) {
                return new Result(c.requestId(), c.pod(), false, false, sb.netns(), List.of(), "Failed", e.getMessage());
            }
        });
    }

    /** attach-service will not attach the pod for now: a definitive reason fails the waiting ADD at once. */
    public void block(Blocked b) {
        withPod(b.pod().uid(), p -> {
            p.blocked = b;
            if (b.definitive()) {
                p.pending = null; // no attach is coming: an earlier one still waiting for a sandbox is void
                release(p, new AddOutcome.Refused(b));
            }
            return null;
        });
    }

    public boolean isPending(String podUid) {
        Pod p = pods.get(podUid);
        if (p == null) return false;
        synchronized (p) {
            return p.pending != null;
        }
    }

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
        if (failure == null) return Result.in(sb, c.requestId(), true, reports, null, null);
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
        return Result.in(sb, c.requestId(), false, reports, failure.reason(), failure.getMessage());
    }

    /** Records what an attach made in the current sandbox and ends the ADD waiting for it. */
    private void settle(Pod p, Result r) {
        if (r.ok()) {
            for (InterfaceReport i : r.interfaces()) if (i.ok()) p.attached.put(i.iface(), i);
            p.settled = true;
            p.attachedBefore = true;
            release(p, new AddOutcome.Attached(withEverythingAttached(p, r)));
        } else {
            release(p, new AddOutcome.Failed(r));
        }
        events.changed();
    }

    /** The result an ADD prints: every interface made in this sandbox, not only those of the last command. */
    private static Result withEverythingAttached(Pod p, Result r) {
        List<InterfaceReport> all = new ArrayList<>(p.attached.values());
        return Result.in(p.sandbox, r.requestId(), true, all, null, null);
    }

    private static void release(Pod p, AddOutcome outcome) {
        if (p.waiter != null) {
            p.waiter.complete(outcome);
            p.waiter = null;
        }
    }

    // ---- the CNI shim ------------------------------------------------------------------------------------

    /**
     * The ADD of a pod that asks for networks: registers the sandbox and completes when its interfaces are in
     * place, when the node fails to make them, or when attach-service refuses the pod. A pending attach runs now.
     * A new sandbox of a pod whose interfaces were made before (a restarted runtime, a rebooted node) has lost
     * them: attach-service is told at once that it waits; otherwise only if nothing came after a while
     * ({@link #nudgeDue}). The caller bounds the wait ({@link #addTimedOut}).
     */
    public CompletableFuture<AddOutcome> add(Sandbox sb) {
        Result[] executed = {null};
        boolean[] nudge = {false};
        CompletableFuture<AddOutcome> out = withPod(sb.pod().uid(), p -> {
            boolean same = adopt(p, sb);
            if (p.pending != null) {
                Attach c = p.pending;
                p.pending = null;
                Result r = events.deferred(c, () -> execute(c, sb));
                executed[0] = r;
                p.waiter = new CompletableFuture<>();
                CompletableFuture<AddOutcome> w = p.waiter;
                settle(p, r);
                return w;
            }
            if (same && p.settled) {
                return CompletableFuture.completedFuture(new AddOutcome.Attached(
                        Result.in(sb, "add/" + sb.containerId(), true, List.copyOf(p.attached.values()), null, null)));
            }
            if (same && p.waiter != null) return p.waiter; // the runtime asked again while the first ADD waits
            if (p.blocked != null && p.blocked.definitive()) {
                nudge[0] = remindDue(p); // the kubelet's retry: attach-service looks at the pod again (a policy may have changed)
                return CompletableFuture.completedFuture(new AddOutcome.Refused(p.blocked));
            }
            p.waiter = new CompletableFuture<>();
            p.waitingSince = clock.instant();
            p.nudged = p.attachedBefore;
            nudge[0] = p.attachedBefore;
            if (nudge[0]) p.lastNudge = clock.instant();
            return p.waiter;
        });
        if (executed[0] != null) events.result(executed[0]);
        if (nudge[0]) events.waiting(sb);
        return out;
    }

    /** The ADD of a pod that asks for no network: the sandbox is remembered (for a later hot-plug), nothing waits. */
    public void register(Sandbox sb) {
        Result executed = withPod(sb.pod().uid(), p -> {
            adopt(p, sb);
            if (p.pending == null) return null;
            Attach c = p.pending;
            p.pending = null;
            Result r = events.deferred(c, () -> execute(c, sb));
            settle(p, r);
            return r;
        });
        if (executed != null) events.result(executed);
    }

    /** Makes sb the pod's sandbox; true when it already was. */
    private boolean adopt(Pod p, Sandbox sb) {
        if (sb.sameAs(p.sandbox)) {
            if (sb.primary() != null && !sb.equals(p.sandbox)) {
                p.sandbox = sb;
                events.changed();
            }
            return true;
        }
        if (p.settled) p.attachedBefore = true;
        release(p, new AddOutcome.Abandoned("sandbox " + sb.containerId() + " replaced it"));
        p.sandbox = sb;
        p.attached.clear();
        p.settled = false;
        events.sandbox(sb, "added");
        events.changed();
        return false;
    }

    private boolean remindDue(Pod p) {
        Instant now = clock.instant();
        if (p.lastNudge != null && now.isBefore(p.lastNudge.plus(NUDGE_INTERVAL))) return false;
        p.lastNudge = now;
        return true;
    }

    /** The ADD's bound ran out: it stops waiting, and learns attach-service's latest word, if any. */
    public AddOutcome addTimedOut(Sandbox sb, CompletableFuture<AddOutcome> waited, Duration after) {
        return withPod(sb.pod().uid(), p -> {
            if (waited.isDone()) return waited.join();
            if (p.waiter == waited) p.waiter = null;
            waited.complete(new AddOutcome.TimedOut(after, p.blocked));
            return waited.join();
        });
    }

    /** Sandboxes that waited {@code delay} with nothing from attach-service are announced once (see {@link #add}). */
    public void nudgeDue(Duration delay) {
        Instant limit = clock.instant().minus(delay);
        List<Sandbox> due = new ArrayList<>();
        for (String uid : List.copyOf(pods.keySet())) {
            Pod p = pods.get(uid);
            if (p == null) continue;
            synchronized (p) {
                if (p.waiter != null && !p.nudged && p.sandbox != null && !p.waitingSince.isAfter(limit)) {
                    p.nudged = true;
                    p.lastNudge = clock.instant();
                    due.add(p.sandbox);
                }
            }
        }
        due.forEach(events::waiting);
    }

    /** The CNI shim's DEL: remove what netattach made in the sandbox and forget it. Idempotent. */
    public List<String> unregister(PodRef pod, String containerId, String netns) {
        return withPod(pod.uid(), p -> {
            Sandbox sb = p.sandbox;
            boolean ours = sb != null && (containerId == null || containerId.isEmpty() || containerId.equals(sb.containerId()));
            String path = netns != null && !netns.isBlank() ? netns : ours ? sb.netns() : null;
            try {
                return path == null ? List.<String>of() : backend.detach(path, pod, null);
            } finally {
                if (ours) {
                    release(p, new AddOutcome.Abandoned("its sandbox " + sb.containerId() + " was deleted (CNI DEL)"));
                    forgetSandbox(p);
                    events.sandbox(sb, "removed");
                    events.changed();
                }
            }
        });
    }

    private static void forgetSandbox(Pod p) {
        if (p.settled) p.attachedBefore = true;
        p.sandbox = null;
        p.attached.clear();
        p.settled = false;
    }

    /**
     * The CNI shim's CHECK: what differs between what netattach made in the sandbox and what is in it now (the
     * interfaces, their addresses and MACs); empty = as made.
     */
    public List<String> check(PodRef pod, String containerId, String netns) {
        Map<String, InterfaceReport> expected = withPod(pod.uid(), p ->
                p.sandbox != null && (containerId == null || containerId.isEmpty() || containerId.equals(p.sandbox.containerId()))
                        ? new LinkedHashMap<>(p.attached) : new LinkedHashMap<>());
        Map<String, InterfaceReport> actual = new LinkedHashMap<>();
        for (InterfaceReport r : backend.inspect(netns, pod)) actual.put(r.iface(), r);
        List<String> differences = new ArrayList<>();
        expected.forEach((name, want) -> {
            InterfaceReport have = actual.get(name);
            String what = name + " (" + want.network() + ")";
            if (have == null) {
                differences.add(what + " is missing");
                return;
            }
            Set<String> wantIps = new TreeSet<>(want.ips()), haveIps = new TreeSet<>(have.ips());
            if (!wantIps.equals(haveIps)) differences.add(what + " has addresses " + haveIps + ", attached with " + wantIps);
            if (want.mac() != null && !want.mac().equalsIgnoreCase(String.valueOf(have.mac()))) {
                differences.add(what + " has MAC " + have.mac() + ", attached with " + want.mac());
            }
        });
        actual.keySet().stream().filter(n -> !expected.containsKey(n))
                .forEach(n -> differences.add(n + " is netattach's but was not attached in this sandbox"));
        return differences;
    }

    // ---- restart, inventory ------------------------------------------------------------------------------

    /** Re-learns a sandbox and what was made in it after a restart (from the state file), without announcing it. */
    public void restore(Saved saved) {
        withPod(saved.sandbox().pod().uid(), p -> {
            if (p.sandbox != null) return null;
            p.sandbox = saved.sandbox();
            saved.attached().forEach(r -> p.attached.put(r.iface(), r));
            p.settled = !saved.attached().isEmpty();
            p.attachedBefore = p.settled;
            return null;
        });
    }

    /** What to persist: every sandbox and what was made in it. */
    public List<Saved> snapshot() {
        List<Saved> out = new ArrayList<>();
        for (Pod p : List.copyOf(pods.values())) {
            synchronized (p) {
                if (p.sandbox != null) out.add(new Saved(p.sandbox, List.copyOf(p.attached.values())));
            }
        }
        return out;
    }

    public Optional<Sandbox> sandbox(String podUid) {
        Pod p = pods.get(podUid);
        if (p == null) return Optional.empty();
        synchronized (p) {
            return Optional.ofNullable(p.sandbox);
        }
    }

    public List<Sandbox> sandboxes() { return snapshot().stream().map(Saved::sandbox).toList(); }

    public List<InterfaceReport> inspect(Sandbox sb) { return backend.inspect(sb.netns(), sb.pod()); }

    /** Drops attach commands whose sandbox did not appear within {@code ttl}; each gets a Timeout result. */
    public List<Result> expirePending(Duration ttl) {
        Instant limit = clock.instant().minus(ttl);
        List<Result> out = new ArrayList<>();
        for (String uid : List.copyOf(pods.keySet())) {
            if (!isPending(uid)) continue;
            Result expired = withPod(uid, p -> {
                if (p.pending == null || !p.pendingSince.isBefore(limit)) return null;
                Attach c = p.pending;
                p.pending = null;
                return new Result(c.requestId(), c.pod(), false, false, null, List.of(), "Timeout",
                        "the sandbox of pod " + c.pod().subject() + " did not register on node " + c.node() + " within " + ttl);
            });
            if (expired != null) out.add(expired);
        }
        return out;
    }
}
