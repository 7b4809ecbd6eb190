package io.netattach.attach.orchestration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netattach.attach.domain.Addresses;
import io.netattach.attach.domain.InvalidSelectionException;
import io.netattach.attach.domain.NetworkDefinition;
import io.netattach.attach.domain.NetworkSelection;
import io.netattach.attach.domain.NetworkSelectionParser;
import io.netattach.attach.domain.NetworkStatus;
import io.netattach.attach.domain.SkippedNetwork;
import io.netattach.attach.kafka.Bus;
import io.netattach.attach.kafka.Topic;
import io.netattach.attach.kube.ClusterView;
import io.netattach.attach.kube.PodView;
import io.netattach.attach.kube.PodWriter;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfigBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.quarkus.runtime.ShutdownEvent;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * The level-triggered controller: for one pod UID, compare the desired networks (the annotation) with the
 * observed ones (our entries of network-status) and act: attach what is missing (NAD -> policy -> IPAM ->
 * node -> network-status), detach what was removed, tear everything down when the pod is gone.
 * Every request id is derived from the pod and what is asked, so a retry or a restart repeats the same
 * request and the other services answer it idempotently.
 */
@ApplicationScoped
public class PodReconciler implements ClusterView.Listener {
    private static final Logger LOG = Logger.getLogger(PodReconciler.class);

    @Inject ClusterView cluster;
    @Inject Bus bus;
    @Inject PodWriter writer;
    @Inject ObjectMapper json;
    @Inject Exchange exchange;
    @Inject io.micrometer.core.instrument.MeterRegistry metrics;
    @Inject Tracer tracer;

    @ConfigProperty(name = "netattach.cluster-id") String clusterId;
    @ConfigProperty(name = "netattach.attach.controller.enabled", defaultValue = "true") boolean enabled;
    @ConfigProperty(name = "netattach.attach.policy-timeout", defaultValue = "10s") Duration policyTimeout;
    @ConfigProperty(name = "netattach.attach.ipam-timeout", defaultValue = "10s") Duration ipamTimeout;
    @ConfigProperty(name = "netattach.attach.node-timeout", defaultValue = "30s") Duration nodeTimeout;
    @ConfigProperty(name = "netattach.attach.node-pending-timeout", defaultValue = "10m") Duration nodePendingTimeout;
    @ConfigProperty(name = "netattach.attach.attempts", defaultValue = "3") int attempts;
    @ConfigProperty(name = "netattach.attach.backoff-initial", defaultValue = "1s") Duration backoffInitial;
    @ConfigProperty(name = "netattach.attach.backoff-max", defaultValue = "60s") Duration backoffMax;
    @ConfigProperty(name = "netattach.attach.concurrency", defaultValue = "2048") int concurrency;
    @ConfigProperty(name = "netattach.attach.node-grace", defaultValue = "5m") Duration nodeGrace;
    @ConfigProperty(name = "netattach.attach.skip-unsupported-kinds", defaultValue = "false") boolean skipUnsupportedKinds;

    @ConfigProperty(name = "netattach.attach.ipam-reconcile-interval", defaultValue = "5m") Duration sweepInterval;
    @ConfigProperty(name = "netattach.attach.ipam-reconcile-delay", defaultValue = "30s") Duration sweepDelay;
    @Inject LeakSweep sweep;
    @Inject NodeNotices notices;
    @Inject Sandboxes sandboxes;

    @Inject KubernetesClient client;
    @Inject Election election;
    @ConfigProperty(name = "netattach.attach.identity") Optional<String> configuredIdentity;

    private volatile WorkQueue queue;
    private volatile boolean shuttingDown;
    private volatile java.util.concurrent.CompletableFuture<?> electing;
    private String identity;

    @jakarta.annotation.PostConstruct
    void identity() {
        identity = configuredIdentity.filter(s -> !s.isBlank()).orElse("attach-" + java.util.UUID.randomUUID());
    }
    private final Map<String, PodView> deleted = new ConcurrentHashMap<>();
    private final Map<String, Set<String>> waitingForNetwork = new ConcurrentHashMap<>();
    private final Map<String, Integer> failures = new ConcurrentHashMap<>();
    // node name -> System.nanoTime() of its deletion
    private final Map<String, Long> goneNodes = new ConcurrentHashMap<>();
    // when a pod was first seen wanting networks: the attach duration runs from there to network-status
    private final Map<String, Long> firstSeen = new ConcurrentHashMap<>();
    // pods whose annotations this leader has written: their next reconcile reads the pod from the API server first
    private final Set<String> written = ConcurrentHashMap.newKeySet();

    // after the messaging channels are wired (SmallRye Reactive Messaging starts them at StartupEvent priority 1000)
    void start(@Observes @Priority(2000) StartupEvent ev) {
        if (!enabled) return;
        cluster.startDefinitions(this);
        if (election.enabled()) {
            elect();
        } else {
            startLeading();
        }
    }

    void stop(@Observes ShutdownEvent ev) {
        shuttingDown = true;
        if (electing != null) electing.cancel(true);
        stopLeading();
        cluster.stop();
    }

    /**
     * One active replica at a time (a Lease): the leader runs the pod informer and the work queue, standbys
     * only keep the NAD cache warm for the REST API. On losing the lease the leader stops and competes again.
     */
    private void elect() {
        if (shuttingDown) return;
        electing = client.leaderElector().withConfig(new LeaderElectionConfigBuilder()
                        .withName("netattach-attach-service")
                        .withLock(new LeaseLock(election.namespace(), election.leaseName(), identity))
                        .withLeaseDuration(election.leaseDuration())
                        .withRenewDeadline(election.renewDeadline())
                        .withRetryPeriod(election.retryPeriod())
                        .withReleaseOnCancel(true)
                        .withLeaderCallbacks(new LeaderCallbacks(this::startLeading, this::stopLeading,
                                leader -> LOG.infof("attach-service leader is now %s", leader)))
                        .build())
                .build().start();
        electing.whenComplete((v, e) -> elect());
    }

    private synchronized void startLeading() {
        LOG.infof("attach-service %s leads: watching pods", identity);
        queue = new WorkQueue(concurrency, this::reconcile, backoffInitial, backoffMax);
        bus.onSandboxWaiting(this::sandboxWaiting);
        cluster.startPods(this);
        scheduleSweep(queue, sweepDelay);
    }

    /**
     * The leader's IPAM leak sweep: first sweepDelay after taking the lead (and only once the pod informer
     * has synced), then every sweepInterval. Bound to this term's queue, so it stops with the leadership.
     */
    private void scheduleSweep(WorkQueue q, Duration delay) {
        if (sweepInterval.isZero() || sweepInterval.isNegative()) return;
        q.addAfterAction(delay, () -> WorkQueue.ownLoader(Thread.ofVirtual().name("ipam-sweep").unstarted(() -> {
            if (queue != q) return; // leadership lost meanwhile
            Duration next = backoffMax;
            try {
                boolean synced = cluster.podsSynced();
                boolean done = sweep.sweep(deleted.keySet()).isPresent();
                // not synced yet, or IPAM did not answer: try again soon rather than a whole interval later
                next = done ? sweepInterval : synced ? backoffMax : Duration.ofSeconds(1);
            } catch (RuntimeException e) {
                LOG.warnf(e, "IPAM leak sweep failed; next try in %s", backoffMax);
            } finally {
                scheduleSweep(q, next); // whatever happened: a sweep that died would never run again
            }
        })).start());
    }

    private synchronized void stopLeading() {
        if (queue == null) return;
        LOG.infof("attach-service %s stops leading", identity);
        cluster.stopPods();
        bus.onSandboxWaiting(null);
        queue.close();
        queue = null;
        notices.clear();
        sandboxes.clear();
        deleted.clear();
        written.clear();
        goneNodes.clear();
        firstSeen.clear();
        waitingForNetwork.clear();
        failures.clear();
    }

    /**
     * Drops every in-memory bit of controller state and starts again from the cluster, as a new leader or
     * a restarted process would (used by the test that interrupts a flow half way).
     */
    void handOver() {
        stopLeading();
        startLeading();
    }

    /** Leader election settings (netattach.attach.leader-election.*). */
    @ConfigMapping(prefix = "netattach.attach.leader-election")
    public interface Election {
        @WithDefault("true") boolean enabled();
        @WithDefault("netattach-system") String namespace();
        @WithDefault("netattach-attach-service") String leaseName();
        @WithDefault("15s") Duration leaseDuration();
        @WithDefault("10s") Duration renewDeadline();
        @WithDefault("2s") Duration retryPeriod();
    }

    // ---- informer callbacks ----------------------------------------------------------------------------

    @Override
    public void podChanged(PodView now) {
        WorkQueue q = queue;
        if (q == null) return;
        firstSeen.putIfAbsent(now.uid(), System.nanoTime());
        q.add(now.uid());
    }

    @Override
    public void podDeleted(PodView last) {
        WorkQueue q = queue;
        if (q == null) return;
        deleted.put(last.uid(), last);
        bus.cancel(last.uid());
        q.add(last.uid());
    }

    /**
     * A node reports a sandbox of the pod that waits with none of its networks in it (re-created by the runtime, or
     * new and nothing came yet): the pod's networks are attached into it, whatever network-status says.
     */
    void sandboxWaiting(String uid, String containerId, String node) {
        WorkQueue q = queue;
        if (q == null || uid.isEmpty()) return;
        if (!sandboxes.waiting(uid, containerId)) return; // the pod's last attach ran in that very sandbox
        LOG.debugf("pod uid %s: node %s reports sandbox %s waiting for its networks", uid, node, containerId);
        notices.reset(uid);
        q.add(uid);
    }

    @Override
    public void definitionChanged(String key) {
        WorkQueue q = queue;
        Set<String> waiters = waitingForNetwork.remove(key);
        if (q != null && waiters != null) waiters.forEach(q::add);
    }

    @Override
    public void nodeChanged(String node, boolean present) {
        WorkQueue q = queue;
        if (q == null) return;
        if (present) {
            goneNodes.remove(node);
            return;
        }
        goneNodes.put(node, System.nanoTime());
        // after the grace period, pods still listed on the node get their addresses back
        q.addAfterAction(nodeGrace, () -> {
            if (!goneNodes.containsKey(node)) return;
            for (PodView p : cluster.pods()) if (node.equals(p.nodeName())) q.add(p.uid());
        });
    }

    // ---- reconcile -------------------------------------------------------------------------------------

    /**
     * What is to be done for a pod: attach added selections, detach removed status entries, forget skipped
     * networks no longer asked for.
     */
    record Plan(List<NetworkSelection> added, List<NetworkStatus> removed, List<SkippedNetwork> staleSkips) {
        boolean isEmpty() {
            return added.isEmpty() && removed.isEmpty() && staleSkips.isEmpty();
        }
    }

    void reconcile(String uid) {
        Long seenAt = firstSeen.get(uid);
        StepClock clock = new StepClock(seenAt == null ? System.nanoTime() : seenAt);
        clock.mark("queued");
        PodView gone = deleted.get(uid);
        if (gone != null && cluster.pod(uid).isEmpty()) {
            teardown(gone);
            return;
        }
        Optional<PodView> cached = cluster.pod(uid);
        if (cached.isEmpty()) {
            written.remove(uid); // no longer concerns us (or gone): nothing to read back
            return;
        }
        if (cluster.terminating(uid)) return; // being deleted: its teardown follows the delete event
        Long nodeDeletedAt = goneNodes.get(cached.get().nodeName());
        if (nodeDeletedAt != null) {
            // nothing is attached on a deleted node; its pods' addresses go back once the grace period is over
            if (System.nanoTime() - nodeDeletedAt >= nodeGrace.toNanos()) nodeGone(cached.get());
            return;
        }
        Optional<String> bare = sandboxes.bare(uid);
        Plan plan = plan(cached.get(), bare.isPresent());
        if (plan == null || plan.isEmpty()) {
            failures.remove(uid);
            firstSeen.remove(uid);
            if (plan != null && bare.isPresent()) releaseWait(cached.get(), bare);
            return;
        }
        PodView pod = cached.get();
        if (written.contains(uid)) {
            // act on the API server's version: the cache may not show the status we wrote a moment ago. A pod this
            // leader never wrote cannot be behind our own writes: the cache is as good (a new pod, the usual case).
            Optional<PodView> fresh = writer.fetch(pod.namespace(), pod.name(), uid);
            if (fresh.isEmpty() || !fresh.get().concernsUs()) return;
            pod = fresh.get();
            plan = plan(pod, bare.isPresent());
            if (plan == null) return;
            if (plan.isEmpty()) {
                if (bare.isPresent()) releaseWait(pod, bare);
                return;
            }
        }
        clock.mark("fetch");
        try {
            if (!plan.removed().isEmpty()) detach(pod, plan.removed());
            if (!plan.staleSkips().isEmpty()) {
                Set<String> stale = plan.staleSkips().stream().map(SkippedNetwork::key).collect(Collectors.toSet());
                writeStatus(pod, ours -> ours, skips -> skips.stream().filter(k -> !stale.contains(k.key())).toList());
            }
            if (!plan.added().isEmpty()) tracedAttach(pod, plan.added(), clock, bare);
            else if (bare.isPresent()) releaseWait(pod, bare);
            failures.remove(uid);
        } catch (Retry r) {
            int n = failures.merge(uid, 1, Integer::sum);
            Duration delay = WorkQueue.backoff(n, backoffInitial, backoffMax);
            LOG.infof("pod %s: %s; retrying in %d ms", pod.ref(), r.getMessage(), delay.toMillis());
            WorkQueue q = queue;
            if (q != null) q.addAfter(uid, delay);
        } catch (StepFailure.Cancelled c) {
            LOG.debugf("pod %s deleted during reconcile; teardown follows", pod.ref());
        }
    }

    /** bare: the pod's sandbox has none of its networks (a node says so), so every selection is to attach. */
    private Plan plan(PodView pod, boolean bare) {
        List<NetworkSelection> selections;
        try {
            selections = NetworkSelectionParser.parse(pod.networks(), pod.namespace());
        } catch (InvalidSelectionException e) {
            String message = PodView.NETWORKS + ": " + e.getMessage();
            writer.event(pod, "Warning", "InvalidNetworkSelection", message);
            audit(pod, "failed", null, null, null, null, message, "invalid/" + pod.uid() + "/" + hash(pod.networks()));
            notices.blocked(pod, null, "InvalidNetworkSelection", message, true);
            return null; // nothing to do until the annotation changes
        }
        List<NetworkStatus> observed = PodWriter.readStatus(json, pod.networkStatus()).stream().filter(NetworkStatus::isSecondary).toList();
        List<SkippedNetwork> skipped = PodWriter.readSkipped(json, pod.skippedNetworks());
        Set<String> observedKeys = bare ? new java.util.HashSet<>() : observed.stream().map(NetworkStatus::key).collect(Collectors.toSet());
        skipped.forEach(k -> observedKeys.add(k.key())); // left out on purpose: not to be tried again for this pod
        Set<String> desiredKeys = selections.stream().map(s -> s.network() + "@" + s.interfaceName()).collect(Collectors.toSet());
        return new Plan(
                selections.stream().filter(s -> !observedKeys.contains(s.network() + "@" + s.interfaceName())).toList(),
                observed.stream().filter(s -> !desiredKeys.contains(s.key())).toList(),
                skipped.stream().filter(k -> !desiredKeys.contains(k.key())).toList());
    }

    /** Temporary failure: try again later with backoff. */
    static final class Retry extends Exception {
        Retry(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * One trace per attach: this root span is current while the saga runs on this thread, so every request sent
     * (Bus) is its child and carries it on in the traceparent header to policy, IPAM and the node.
     */
    private void tracedAttach(PodView pod, List<NetworkSelection> added, StepClock clock, Optional<String> bare) throws Retry, StepFailure.Cancelled {
        Span span = tracer.spanBuilder("attach " + pod.ref()).setNoParent()
                .setAttribute("k8s.namespace.name", pod.namespace()).setAttribute("k8s.pod.name", pod.name())
                .setAttribute("k8s.pod.uid", pod.uid()).setAttribute("netattach.networks", added.size()).startSpan();
        try (Scope ignored = span.makeCurrent()) {
            attach(pod, added, clock, bare);
        } catch (Retry | StepFailure.Cancelled | RuntimeException e) {
            span.setStatus(StatusCode.ERROR, e.getMessage());
            throw e;
        } finally {
            span.end();
        }
    }

    private void attach(PodView pod, List<NetworkSelection> added, StepClock clock, Optional<String> bare) throws Retry, StepFailure.Cancelled {
        String uid = pod.uid();
        String hash = hash(added.stream().map(this::canonical).collect(Collectors.joining("\n")));

        // 1. the NADs: missing ones are waited for (with an Event that says exactly which)
        Map<NetworkSelection, NetworkDefinition> defs = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        List<String> invalid = new ArrayList<>();
        for (NetworkSelection s : added) {
            switch (cluster.definition(s.network()).orElse(null)) {
                case ClusterView.Valid v -> defs.put(s, v.definition());
                case ClusterView.Invalid i -> {
                    invalid.add("element " + s.position() + " (interface " + s.interfaceName() + "): " + i.reason());
                    waitFor(s.network(), uid);
                }
                case null -> {
                    missing.add("network-attachment-definition \"" + s.name() + "\" not found in namespace \"" + s.namespace()
                            + "\" (element " + s.position() + ", interface " + s.interfaceName() + ")");
                    waitFor(s.network(), uid);
                }
            }
        }
        if (!missing.isEmpty()) {
            writer.event(pod, "Warning", "NetworkNotFound", String.join("; ", missing) + "; waiting for it to be created");
            notices.blocked(pod, firstOf(added, defs.keySet()), "NetworkNotFound", String.join("; ", missing), true);
            throw new Retry(String.join("; ", missing));
        }
        if (!invalid.isEmpty()) {
            String message = String.join("; ", invalid);
            writer.event(pod, "Warning", "InvalidNetworkAttachmentDefinition", message);
            audit(pod, "failed", null, null, null, null, message, "invalid-nad/" + uid + "/" + hash);
            notices.blocked(pod, null, "InvalidNetworkAttachmentDefinition", message, true);
            return; // the NAD's next change wakes this pod again
        }
        writer.resetEvent(uid, "NetworkNotFound");
        clock.mark("definitions");

        // 2. policy
        String policyId = "policy/" + uid + "/" + hash;
        JsonNode decision;
        try {
            decision = ask(Topic.POLICY_REQUESTS, uid, policyId, "io.netattach.policy.request", pod,
                    Payloads.policyRequest(policyId, clusterId, pod, added), policyTimeout, false);
        } catch (StepFailure.Cancelled c) {
            throw c;
        } catch (StepFailure f) {
            writer.event(pod, "Warning", "PolicyUnavailable", "no policy decision: " + f.getMessage());
            notices.blocked(pod, null, "PolicyUnavailable", "no policy decision: " + f.getMessage(), false);
            throw new Retry(f.getMessage());
        }
        clock.mark("policy");
        if (!decision.path("allowed").asBoolean(false) && policyUnavailable(decision)) {
            // not a denial: a rule could not be evaluated (API server, webhook, ... down); ask again later
            String reason = decision.path("reason").asText("policy unavailable");
            writer.event(pod, "Warning", "PolicyUnavailable", "policy unavailable, not denied: " + reason + "; retrying with backoff");
            notices.blocked(pod, null, "PolicyUnavailable", "policy unavailable, not denied: " + reason, false);
            throw new Retry("policy unavailable: " + reason);
        }
        writer.resetEvent(uid, "PolicyUnavailable");
        if (!decision.path("allowed").asBoolean(false)) {
            String reason = decision.path("reason").asText("denied by policy");
            writer.event(pod, "Warning", "NetworkDenied", "attachment denied: " + reason);
            String deniedNetwork = null;
            for (NetworkSelection s : added) {
                JsonNode d = decisionFor(decision, s.network());
                boolean denied = d != null && !d.path("allowed").asBoolean(true);
                if (denied && deniedNetwork == null) deniedNetwork = s.network();
                audit(pod, "failed", s.network(), s.interfaceName(), s.ips(), d == null ? null : d.path("rule").asText(null),
                        denied ? d.path("reason").asText(reason) : reason, policyId);
            }
            notices.blocked(pod, deniedNetwork, "NetworkDenied", "attachment denied: " + reason, true);
            // a denial stands until the pod or the policy input changes, or the node asks again (the kubelet retries)
            return;
        }

        // 3. IPAM, 4. node; undo both on failure
        Map<String, Allocation> allocations = new LinkedHashMap<>();
        boolean nodeAsked = false;
        String attachId = "attach/" + uid + "/" + hash;
        try {
            allocations.putAll(allocate(pod, defs, hash));
            clock.mark("ipam");
            List<ObjectNode> attachments = new ArrayList<>();
            for (var e : defs.entrySet()) {
                attachments.add(Payloads.attachment(e.getKey(), e.getValue(), allocations.get(e.getKey().interfaceName()), skipUnsupportedKinds));
            }
            nodeAsked = true;
            JsonNode result = ask(Topic.NODE_COMMANDS, pod.nodeName(), attachId, "io.netattach.node.attach", pod,
                    Payloads.nodeAttach(attachId, pod, attachments), nodeTimeout, true);
            if (!result.path("ok").asBoolean(false)) {
                throw new StepFailure("AttachFailed", "node " + pod.nodeName() + " could not attach: " + describe(result));
            }
            clock.mark("node");
            // interfaces the node's kernel cannot make, left out as asked (skip-unsupported-kinds): their addresses go back
            List<SkippedNetwork> skips = skipped(pod, added, result);
            Set<String> skippedIfaces = skips.stream().map(SkippedNetwork::iface).collect(Collectors.toSet());
            for (String iface : skippedIfaces) {
                if (allocations.get(iface).fromIpam()) release(pod, iface, hash);
            }
            List<NetworkStatus> entries = statusEntries(added.stream().filter(s -> !skippedIfaces.contains(s.interfaceName())).toList(), allocations, result);
            Set<String> replaced = entries.stream().map(NetworkStatus::key).collect(Collectors.toSet());
            Set<String> nowSkipped = skips.stream().map(SkippedNetwork::key).collect(Collectors.toSet());
            NetworkStatus cluster = clusterNetwork(result.path("primary"));
            boolean present = writeStatus(pod, cluster, ours -> {
                List<NetworkStatus> next = new ArrayList<>(ours.stream().filter(s -> !replaced.contains(s.key())).toList());
                next.addAll(entries);
                return next;
            }, before -> {
                List<SkippedNetwork> next = new ArrayList<>(before.stream().filter(k -> !nowSkipped.contains(k.key()) && !replaced.contains(k.key())).toList());
                next.addAll(skips);
                return next;
            });
            if (!present) throw new StepFailure.Cancelled();
            sandboxes.attached(uid, result.path("containerId").asText(null), bare);
            clock.mark("status");
            for (NetworkStatus s : entries) {
                audit(pod, "attached", s.name(), s.iface(), s.ips(), null, null, attachId);
                writer.event(pod, "Normal", "AddedInterface", "Add " + s.iface() + " " + (s.ips() == null ? "[]" : s.ips()) + " from " + s.name());
            }
            for (SkippedNetwork k : skips) {
                audit(pod, "skipped", k.name(), k.iface(), null, null, k.reason(), attachId);
                writer.event(pod, "Warning", "InterfaceSkipped", k.iface() + " (" + k.name() + ") left out: node " + k.node() + " cannot make it: "
                        + k.reason() + "; the pod runs without it (netattach.attach.skip-unsupported-kinds=true)");
            }
            Long seen = firstSeen.remove(uid);
            if (seen != null) {
                io.micrometer.core.instrument.Timer.builder("netattach.attach.duration")
                        .description("from a pod seen wanting networks to its network-status written")
                        .publishPercentiles(0.5, 0.99).register(metrics).record(System.nanoTime() - seen, java.util.concurrent.TimeUnit.NANOSECONDS);
            }
            writer.resetEvent(uid, "AttachFailed");
            writer.resetEvent(uid, "IpamFailed");
            clock.mark("audit+events");
            LOG.debugf("pod %s attached (%s): %s", pod.ref(), attachId, clock);
        } catch (StepFailure.Cancelled c) {
            throw c;
        } catch (StepFailure f) {
            compensate(pod, hash, defs.keySet(), nodeAsked);
            writer.event(pod, "Warning", f.reason, f.getMessage());
            for (NetworkSelection s : added) audit(pod, "failed", s.network(), s.interfaceName(), s.ips(), null, f.getMessage(), attachId);
            // the node knows its own failure; anything else it hears from here (IPAM refused: final until it changes)
            if (!"AttachFailed".equals(f.reason)) notices.blocked(pod, null, f.reason, f.getMessage(), "IpamFailed".equals(f.reason));
            if (bare.isPresent()) {
                // the sandbox has none of them: network-status must not list them until they are attached again
                Set<String> gone = added.stream().map(s -> s.network() + "@" + s.interfaceName()).collect(Collectors.toSet());
                writeStatus(pod, null, ours -> ours.stream().filter(s -> !gone.contains(s.key())).toList(), skips -> skips);
            }
            throw new Retry(f.getMessage());
        }
    }

    /** Sends every allocate of the batch, then collects the answers. */
    private Map<String, Allocation> allocate(PodView pod, Map<NetworkSelection, NetworkDefinition> defs, String hash) throws StepFailure {
        Map<String, Allocation> out = new LinkedHashMap<>();
        Map<NetworkSelection, Exchange.Pending> pending = new LinkedHashMap<>();
        try {
            for (var e : defs.entrySet()) {
                NetworkSelection s = e.getKey();
                if (e.getValue().ipam() == null) {
                    // no ipam section: the annotation's static addresses (if any) go to the node as they are
                    out.put(s.interfaceName(), new Allocation(s.interfaceName(), s.ips() == null ? List.of() : s.ips(), List.of(), null, null, false));
                    continue;
                }
                String id = "alloc/" + clusterId + "/" + pod.uid() + "/" + s.interfaceName() + "/" + hash;
                pending.put(s, send(Topic.IPAM_REQUESTS, pod.uid(), id, "io.netattach.ipam.allocate", pod,
                        Payloads.allocate(id, clusterId, pod, s, e.getValue())));
            }
            for (var e : pending.entrySet()) {
                NetworkSelection s = e.getKey();
                JsonNode r = e.getValue().await(ipamTimeout, attempts, null);
                if (!r.path("ok").asBoolean(false)) {
                    throw new StepFailure("IpamFailed", "element " + s.position() + " (" + s.network() + ", interface " + s.interfaceName()
                            + "): no address: " + describe(r));
                }
                out.put(s.interfaceName(), new Allocation(s.interfaceName(), texts(r.path("ips")), texts(r.path("gateways")),
                        r.path("routes").isArray() ? r.path("routes") : null, r.path("dns").isObject() ? r.path("dns") : null, true));
            }
            return out;
        } finally {
            pending.values().forEach(Exchange.Pending::close);
        }
    }

    /** Undo a half-done attach: remove what the node may have made, release what IPAM may have given. */
    private void compensate(PodView pod, String hash, Iterable<NetworkSelection> batch, boolean nodeAsked) {
        List<String> interfaces = new ArrayList<>();
        batch.forEach(s -> interfaces.add(s.interfaceName()));
        if (nodeAsked) {
            String id = "detach/" + pod.uid() + "/" + hash;
            try {
                ask(Topic.NODE_COMMANDS, pod.nodeName(), id, "io.netattach.node.detach", pod, Payloads.nodeDetach(id, pod, interfaces), nodeTimeout, true);
            } catch (StepFailure f) {
                LOG.warnf("pod %s: undoing attach on node %s: %s", pod.ref(), pod.nodeName(), f.getMessage());
            }
        }
        for (String iface : interfaces) {
            try {
                release(pod, iface, hash);
            } catch (StepFailure f) {
                LOG.warnf("pod %s: releasing addresses of %s: %s", pod.ref(), iface, f.getMessage());
            }
        }
    }

    /**
     * Every write of a pod's annotations goes through here, so the pod is read back from the API server before
     * the next reconcile acts on it (the cache may not show the write yet).
     */
    private boolean writeStatus(PodView pod, java.util.function.UnaryOperator<List<NetworkStatus>> change,
                                java.util.function.UnaryOperator<List<SkippedNetwork>> skipped) {
        return writeStatus(pod, null, change, skipped);
    }

    /** cluster: the cluster network's entry to write first (null: keep what is there). */
    private boolean writeStatus(PodView pod, NetworkStatus cluster, java.util.function.UnaryOperator<List<NetworkStatus>> change,
                                java.util.function.UnaryOperator<List<SkippedNetwork>> skipped) {
        written.add(pod.uid());
        return writer.updateStatus(pod, cluster, change, skipped);
    }

    /**
     * A sandbox waits and nothing is to be attached in it (every network skipped, or none asked for any more): an
     * empty attach releases the node's wait at once.
     */
    private void releaseWait(PodView pod, Optional<String> bare) {
        String id = "attach/" + pod.uid() + "/none/" + bare.orElse("");
        try {
            JsonNode r = ask(Topic.NODE_COMMANDS, pod.nodeName(), id, "io.netattach.node.attach", pod, Payloads.nodeAttach(id, pod, List.of()), nodeTimeout, true);
            if (r.path("ok").asBoolean(false)) sandboxes.attached(pod.uid(), r.path("containerId").asText(null), bare);
        } catch (StepFailure f) {
            LOG.infof("pod %s: node %s did not confirm that nothing is to be attached: %s", pod.ref(), pod.nodeName(), f.getMessage());
        }
    }

    /** network-status' first entry, as Multus writes it: the cluster network of the sandbox, {@code "default": true}. */
    private static NetworkStatus clusterNetwork(JsonNode primary) {
        if (primary == null || !primary.isObject() || primary.path("name").asText("").isEmpty()) return null;
        JsonNode dns = primary.path("dns");
        return new NetworkStatus(primary.path("name").asText(), primary.path("interface").asText(null),
                texts(primary.path("ips")).stream().map(Addresses::withoutPrefix).toList(),
                primary.path("mac").asText(null), null, Boolean.TRUE, dns.isObject() && !dns.isEmpty() ? dns : null, null, null);
    }

    /** The network the failure is about: the first selection without a definition, else the first one. */
    private static String firstOf(List<NetworkSelection> added, Set<NetworkSelection> defined) {
        return added.stream().filter(s -> !defined.contains(s)).findFirst().orElse(added.getFirst()).network();
    }

    /** IPAM release of one interface's addresses (id {@code release/<cluster>/<podUid>/<interface>/<hash>}); NotFound is fine. */
    private void release(PodView pod, String iface, String hash) throws StepFailure {
        String id = "release/" + clusterId + "/" + pod.uid() + "/" + iface + "/" + hash;
        JsonNode r = ask(Topic.IPAM_REQUESTS, pod.uid(), id, "io.netattach.ipam.release", pod, Payloads.release(id, clusterId, pod, iface), ipamTimeout, false);
        if (!r.path("ok").asBoolean(false) && !"NotFound".equals(r.path("error").path("reason").asText())) {
            throw new StepFailure("ReleaseFailed", "addresses of " + iface + " not released: " + describe(r));
        }
    }

    /** Hot-unplug: the annotation no longer lists these; match by the network-status record. */
    private void detach(PodView pod, List<NetworkStatus> removed) throws Retry, StepFailure.Cancelled {
        String hash = hash(removed.stream().map(s -> s.key() + "|" + s.mac() + "|" + s.ips()).collect(Collectors.joining("\n")));
        String id = "detach/" + pod.uid() + "/" + hash;
        List<String> interfaces = removed.stream().map(NetworkStatus::iface).toList();
        try {
            JsonNode r = ask(Topic.NODE_COMMANDS, pod.nodeName(), id, "io.netattach.node.detach", pod, Payloads.nodeDetach(id, pod, interfaces), nodeTimeout, true);
            if (!r.path("ok").asBoolean(false) && !"NotFound".equals(r.path("error").path("reason").asText())) {
                throw new StepFailure("DetachFailed", "node " + pod.nodeName() + " could not remove " + interfaces + ": " + describe(r));
            }
            for (String iface : interfaces) release(pod, iface, hash);
        } catch (StepFailure.Cancelled c) {
            throw c;
        } catch (StepFailure f) {
            writer.event(pod, "Warning", f.reason, f.getMessage());
            for (NetworkStatus s : removed) audit(pod, "failed", s.name(), s.iface(), s.ips(), null, f.getMessage(), id);
            throw new Retry(f.getMessage());
        }
        Set<String> keys = removed.stream().map(NetworkStatus::key).collect(Collectors.toSet());
        writeStatus(pod, ours -> ours.stream().filter(s -> !keys.contains(s.key())).toList(), skips -> skips);
        for (NetworkStatus s : removed) {
            audit(pod, "detached", s.name(), s.iface(), s.ips(), null, "removed from " + PodView.NETWORKS, id);
            writer.event(pod, "Normal", "RemovedInterface", "Remove " + s.iface() + " from " + s.name());
        }
    }

    /**
     * The pod's node was deleted and the grace period passed, but the pod object is still there: release its
     * addresses and drop its network-status entries (nothing can be attached on a node that is gone).
     */
    private void nodeGone(PodView pod) {
        List<NetworkStatus> had = PodWriter.readStatus(json, pod.networkStatus()).stream().filter(NetworkStatus::isSecondary).toList();
        if (had.isEmpty()) return;
        String id = "release/" + clusterId + "/" + pod.uid() + "/node-gone";
        String reason = "node " + pod.nodeName() + " deleted";
        try {
            JsonNode r = ask(Topic.IPAM_REQUESTS, pod.uid(), id, "io.netattach.ipam.release", pod, Payloads.release(id, clusterId, pod, null), ipamTimeout, false);
            if (!r.path("ok").asBoolean(false) && !"NotFound".equals(r.path("error").path("reason").asText())) throw new StepFailure("ReleaseFailed", describe(r));
        } catch (StepFailure f) {
            LOG.warnf("pod %s on deleted node %s: addresses not released yet: %s", pod.ref(), pod.nodeName(), f.getMessage());
            WorkQueue q = queue;
            if (q != null) q.addAfter(pod.uid(), backoffMax);
            return;
        }
        writeStatus(pod, ours -> List.of(), skips -> skips);
        for (NetworkStatus s : had) audit(pod, "detached", s.name(), s.iface(), s.ips(), null, reason, id);
        writer.event(pod, "Warning", "NodeGone", reason + ": addresses of " + had.stream().map(NetworkStatus::iface).toList() + " released");
    }

    /** The pod is gone: remove every interface we made and release every address, NAD or no NAD. */
    private void teardown(PodView pod) {
        String uid = pod.uid();
        String detachId = "detach/" + uid + "/all";
        if (pod.nodeName() != null) {
            try {
                JsonNode r = ask(Topic.NODE_COMMANDS, pod.nodeName(), detachId, "io.netattach.node.detach", pod, Payloads.nodeDetach(detachId, pod, null), nodeTimeout, true);
                if (!r.path("ok").asBoolean(false)) LOG.infof("pod %s: node %s on teardown: %s", pod.ref(), pod.nodeName(), describe(r));
            } catch (StepFailure f) {
                // the sandbox goes with the pod; the addresses must be released regardless
                LOG.warnf("pod %s: node %s did not confirm the teardown: %s", pod.ref(), pod.nodeName(), f.getMessage());
            }
        }
        String releaseId = "release/" + clusterId + "/" + uid + "/all";
        try {
            JsonNode r = ask(Topic.IPAM_REQUESTS, uid, releaseId, "io.netattach.ipam.release", pod, Payloads.release(releaseId, clusterId, pod, null), ipamTimeout, false);
            if (!r.path("ok").asBoolean(false) && !"NotFound".equals(r.path("error").path("reason").asText())) {
                throw new StepFailure("ReleaseFailed", describe(r));
            }
        } catch (StepFailure f) {
            int n = failures.merge(uid, 1, Integer::sum);
            LOG.warnf("pod %s deleted, addresses not released yet: %s", pod.ref(), f.getMessage());
            WorkQueue q = queue;
            if (q != null) q.addAfter(uid, WorkQueue.backoff(n, backoffInitial, backoffMax));
            return;
        }
        List<NetworkStatus> had = PodWriter.readStatus(json, pod.networkStatus()).stream().filter(NetworkStatus::isSecondary).toList();
        for (NetworkStatus s : had) audit(pod, "detached", s.name(), s.iface(), s.ips(), null, "pod deleted", detachId);
        if (had.isEmpty()) audit(pod, "detached", null, null, null, null, "pod deleted", detachId);
        deleted.remove(uid);
        written.remove(uid);
        failures.remove(uid);
        firstSeen.remove(uid);
        waitingForNetwork.values().forEach(s -> s.remove(uid));
        writer.forgetEvents(uid);
        notices.forget(uid);
        sandboxes.forget(uid);
    }

    // ---- request / answer --------------------------------------------------------------------------------

    private Exchange.Pending send(Topic topic, String key, String id, String type, PodView pod, ObjectNode data) {
        return exchange.send(topic, key, id, type, pod, data);
    }

    private JsonNode ask(Topic topic, String key, String id, String type, PodView pod, ObjectNode data, Duration timeout, boolean pendingAllowed) throws StepFailure {
        return exchange.ask(topic, key, id, type, pod, data, timeout, attempts, pendingAllowed ? nodePendingTimeout : null);
    }

    // ---- helpers ---------------------------------------------------------------------------------------

    /** The node's reports with {@code skipped: true}, as entries of the skipped-networks annotation. */
    private static List<SkippedNetwork> skipped(PodView pod, List<NetworkSelection> added, JsonNode nodeResult) {
        Map<String, NetworkSelection> byIface = new LinkedHashMap<>();
        added.forEach(s -> byIface.put(s.interfaceName(), s));
        List<SkippedNetwork> out = new ArrayList<>();
        for (JsonNode r : nodeResult.path("interfaces")) {
            NetworkSelection s = byIface.get(r.path("interface").asText());
            if (s != null && r.path("skipped").asBoolean(false)) {
                out.add(new SkippedNetwork(s.network(), s.interfaceName(), pod.nodeName(), r.path("error").asText("the node's kernel cannot make it")));
            }
        }
        return out;
    }

    private List<NetworkStatus> statusEntries(List<NetworkSelection> added, Map<String, Allocation> allocations, JsonNode nodeResult) {
        Map<String, JsonNode> reports = new LinkedHashMap<>();
        for (JsonNode r : nodeResult.path("interfaces")) reports.put(r.path("interface").asText(), r);
        List<NetworkStatus> out = new ArrayList<>();
        for (NetworkSelection s : added) {
            JsonNode report = reports.get(s.interfaceName());
            Allocation a = allocations.get(s.interfaceName());
            List<String> ips = report != null && report.path("ips").isArray() && !report.path("ips").isEmpty() ? texts(report.path("ips")) : a.ips();
            boolean isDefault = s.defaultRoute() != null && !s.defaultRoute().isEmpty();
            List<String> gateways = isDefault ? s.defaultRoute() : a.gateways();
            JsonNode deviceInfo = report == null ? null : report.has("device-info") ? report.get("device-info") : report.get("deviceInfo");
            out.add(new NetworkStatus(s.network(), s.interfaceName(),
                    ips.stream().map(Addresses::withoutPrefix).toList(),
                    report == null || report.path("mac").isNull() ? s.mac() : report.path("mac").asText(null),
                    report == null || !report.path("mtu").isNumber() ? null : report.path("mtu").asInt(),
                    null, // as Multus: "default" marks the cluster network's entry only
                    a.dns(),
                    gateways == null || gateways.isEmpty() ? null : gateways.stream().map(Addresses::withoutPrefix).toList(),
                    deviceInfo == null || deviceInfo.isNull() ? null : deviceInfo));
        }
        return out;
    }

    private void audit(PodView pod, String outcome, String network, String iface, List<String> ips, String rule, String reason, String requestId) {
        metrics.counter("netattach.attach.operations", "outcome", outcome).increment();
        String id = requestId + "/audit/" + outcome + "/" + (iface == null ? "pod" : iface);
        try {
            bus.send(Topic.AUDIT, pod.uid(), id, "io.netattach.attach." + outcome, pod.ref(), Payloads.audit(outcome, pod, network, iface, ips, rule, reason));
        } catch (RuntimeException e) {
            LOG.warnf("audit event %s not sent: %s", id, e.getMessage());
        }
    }

    private void waitFor(String network, String uid) {
        waitingForNetwork.computeIfAbsent(network, k -> ConcurrentHashMap.newKeySet()).add(uid);
    }

    /**
     * A refusal only because a rule could not be evaluated (rule {@code unavailable}, reason "policy
     * unavailable..."): temporary. An explicit denial of any network next to it stands.
     */
    static boolean policyUnavailable(JsonNode decision) {
        boolean unavailable = false;
        for (JsonNode d : decision.path("decisions")) {
            if (d.path("allowed").asBoolean(false)) continue;
            if (!isUnavailable(d.path("rule").asText(""), d.path("reason").asText(""))) return false;
            unavailable = true;
        }
        return unavailable || (decision.path("decisions").isEmpty() && decision.path("reason").asText("").startsWith("policy unavailable"));
    }

    private static boolean isUnavailable(String rule, String reason) {
        return "unavailable".equals(rule) || reason.startsWith("policy unavailable");
    }

    private static JsonNode decisionFor(JsonNode decision, String network) {
        for (JsonNode d : decision.path("decisions")) if (network.equals(d.path("network").asText())) return d;
        return null;
    }

    private String canonical(NetworkSelection s) {
        return String.join("|", s.network(), s.interfaceName(), String.valueOf(s.ips()), String.valueOf(s.mac()),
                String.valueOf(s.defaultRoute()), String.valueOf(s.cniArgs()), String.valueOf(s.portMappings()),
                String.valueOf(s.bandwidth()), String.valueOf(s.infinibandGuid()), String.valueOf(s.ipamClaimReference()));
    }

    static String describe(JsonNode result) {
        JsonNode e = result.path("error");
        StringBuilder b = new StringBuilder();
        if (e.isObject()) b.append(e.path("reason").asText("Failed")).append(": ").append(e.path("message").asText(""));
        for (JsonNode i : result.path("interfaces")) {
            if (i.hasNonNull("error")) b.append(b.isEmpty() ? "" : "; ").append(i.path("interface").asText()).append(": ").append(i.path("error").asText());
        }
        return b.isEmpty() ? "no reason given" : b.toString();
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        if (array != null && array.isArray()) array.forEach(n -> out.add(n.asText()));
        return out;
    }

    static String hash(String s) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(String.valueOf(s).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
