package io.netattach.node.domain;

import io.netattach.node.domain.Commands.Attach;
import io.netattach.node.domain.Commands.Result;
import io.netattach.node.domain.Commands.Sandbox;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PodNetworksTest {
    /** Records calls; fails attachments whose interface is "bad". */
    static final class FakeBackend implements InterfaceBackend {
        final List<String> made = new ArrayList<>();
        final List<String> log = new ArrayList<>();

        @Override
        public InterfaceReport attach(String netns, PodRef pod, AttachmentRequest r) {
            log.add("attach " + r.iface());
            if (r.iface().equals("bad")) throw new AttachException("NotFound", "master \"eth9\" not found");
            if (r.iface().startsWith("nokind")) throw new AttachException("Unsupported", "this node's kernel cannot make ipvlan interfaces");
            made.add(r.iface());
            return new InterfaceReport(r.network(), r.iface(), "02:00:00:00:00:01", 1500, r.ips(), netns, null);
        }

        @Override
        public List<String> detach(String netns, PodRef pod, List<String> names) {
            log.add("detach " + names);
            List<String> gone = names == null ? List.copyOf(made) : made.stream().filter(names::contains).toList();
            made.removeAll(gone);
            return gone;
        }

        @Override
        public List<InterfaceReport> inspect(String netns, PodRef pod) { return List.of(); }
    }

    static final class Recorded implements PodNetworks.Events {
        final List<Result> results = new ArrayList<>();
        final List<String> sandboxEvents = new ArrayList<>();
        public void result(Result r) { results.add(r); }
        public void sandbox(Sandbox s, String e) { sandboxEvents.add(e + " " + s.containerId()); }
    }

    private final PodRef pod = new PodRef("default", "web", "uid-1");
    private final FakeBackend backend = new FakeBackend();
    private final Recorded events = new Recorded();
    private Instant now = Instant.parse("2026-11-29T22:00:00Z");
    private final Clock clock = new Clock() {
        public ZoneOffset getZone() { return ZoneOffset.UTC; }
        public Clock withZone(java.time.ZoneId z) { return this; }
        public Instant instant() { return now; }
    };
    private final PodNetworks pods = new PodNetworks(backend, events, clock);

    private static AttachmentRequest req(String iface) {
        return new AttachmentRequest("default/net-a", iface, Map.of("type", "macvlan"), List.of("10.0.0.5/24"), List.of(), List.of(), null, false);
    }

    @Test
    void attachBeforeTheSandboxIsPendingAndRunsWhenTheSandboxRegisters() {
        Result first = pods.attach(new Attach("r1", "n1", pod, List.of(req("net1"))));
        assertTrue(first.pending());
        assertTrue(backend.log.isEmpty());

        Optional<Result> done = pods.register(new Sandbox(pod, "c1", "/var/run/netns/p"));
        assertTrue(done.isPresent());
        assertTrue(done.get().ok());
        assertEquals("/var/run/netns/p", done.get().sandbox());
        assertEquals(List.of("added c1"), events.sandboxEvents);
        assertEquals(List.of(done.get()), events.results, "the deferred result is published");
        assertEquals(Optional.of(done.get()), pods.awaitAttachments("uid-1", Duration.ZERO));
        assertFalse(pods.isPending("uid-1"));
    }

    /** Command r1 for uid-1, before its sandbox registers: answered pending. */
    private Result attachBeforeTheSandbox() {
        Result r = pods.attach(new Attach("r1", "n1", pod, List.of(req("net1"))));
        assertTrue(r.pending());
        return r;
    }

    /** r1's pending answer, held by {@code answers}. */
    private Result held(PendingAnswers answers) {
        Result pending = attachBeforeTheSandbox();
        assertTrue(answers.hold(pending));
        return pending;
    }

    @Test
    void aPendingAnswerIsHeldBackAndDroppedWhenTheSandboxComesWithinTheDelay() {
        PendingAnswers answers = new PendingAnswers(Duration.ofSeconds(1), clock);
        held(answers);
        now = now.plusMillis(400);
        assertEquals(List.of(), answers.due(pods::isPending), "not due yet");

        pods.register(new Sandbox(pod, "c1", "/var/run/netns/p"));
        now = now.plusSeconds(5);
        assertEquals(List.of(), answers.due(pods::isPending), "the sandbox came: the final result is the only answer");
        assertEquals(0, answers.size());
        assertEquals(1, events.results.size());
        assertFalse(events.results.getFirst().pending());
    }

    @Test
    void aPendingAnswerGoesOutOnceWhenTheSandboxIsStillMissingAfterTheDelay() {
        PendingAnswers answers = new PendingAnswers(Duration.ofSeconds(1), clock);
        Result pending = held(answers);
        now = now.plusMillis(600);
        // a redelivery of the same command does not postpone the answer
        assertTrue(answers.hold(attachBeforeTheSandbox()));
        now = now.plusMillis(400);
        assertEquals(List.of(pending), answers.due(pods::isPending));
        assertEquals(List.of(), answers.due(pods::isPending), "answered once");
        assertTrue(pods.isPending("uid-1"), "the command still waits for its sandbox");
    }

    @Test
    void withNoDelayAPendingAnswerIsNotHeld() {
        Result pending = attachBeforeTheSandbox();
        assertFalse(new PendingAnswers(Duration.ZERO, clock).hold(pending));
        assertThrows(IllegalArgumentException.class, () -> new PendingAnswers(Duration.ofSeconds(-1), clock));
    }

    @Test
    void oneFailingInterfaceRollsBackTheOthersOfTheSameCommand() {
        pods.register(new Sandbox(pod, "c1", "/var/run/netns/p"));
        Result r = pods.attach(new Attach("r1", "n1", pod, List.of(req("net1"), req("bad"), req("net3"))));
        assertFalse(r.ok());
        assertEquals("NotFound", r.errorReason());
        assertEquals(List.of("attach net1", "attach bad", "detach [net1]"), backend.log);
        assertTrue(backend.made.isEmpty());
        assertTrue(r.interfaces().stream().allMatch(i -> i.error() != null), "every interface reports why it is not there");
    }

    @Test
    void aKindTheKernelLacksIsSkippedOnlyWhenTheCommandSaysSo() {
        pods.register(new Sandbox(pod, "c1", "/var/run/netns/p"));
        AttachmentRequest optional = new AttachmentRequest("default/ipvlan-conf", "nokind2", Map.of("type", "ipvlan"), List.of("10.10.0.100/24"),
                List.of(), List.of(), null, false, null, null, null, true);
        Result r = pods.attach(new Attach("r1", "n1", pod, List.of(req("net1"), optional, req("net3"))));
        assertTrue(r.ok(), "the others go ahead: " + r);
        assertEquals(List.of("net1", "net3"), backend.made);
        InterfaceReport skipped = r.interfaces().get(1);
        assertTrue(skipped.skipped() && !skipped.ok(), "reported as skipped, with the reason: " + skipped);
        assertTrue(skipped.error().contains("cannot make ipvlan"), skipped.error());
        assertTrue(r.interfaces().get(0).ok() && r.interfaces().get(2).ok());

        // without the flag the same refusal fails the command as a whole, as before
        PodRef other = new PodRef("default", "web2", "uid-2");
        pods.register(new Sandbox(other, "c2", "/var/run/netns/q"));
        Result strict = pods.attach(new Attach("r2", "n1", other, List.of(req("net1"), req("nokind2"))));
        assertFalse(strict.ok());
        assertEquals("Unsupported", strict.errorReason());
        assertEquals("detach [net1]", backend.log.get(backend.log.size() - 1), "net1 of the strict command was rolled back");
        // a flagged interface is not a licence for other failures
        AttachmentRequest flaggedButBroken = new AttachmentRequest("default/x", "bad", Map.of("type", "macvlan"), List.of(),
                List.of(), List.of(), null, false, null, null, null, true);
        assertFalse(pods.attach(new Attach("r3", "n1", other, List.of(flaggedButBroken))).ok());
    }

    @Test
    void detachForgetsAPendingAttachAndOfAnUnknownSandboxIsSuccess() {
        pods.attach(new Attach("r1", "n1", pod, List.of(req("net1"))));
        Result d = pods.detach(new Commands.Detach("d1", "n1", pod, null));
        assertTrue(d.ok());
        assertFalse(pods.isPending("uid-1"));
        assertTrue(pods.register(new Sandbox(pod, "c1", "/p")).isEmpty(), "nothing left to run");
    }

    @Test
    void pendingAttachesExpireWithATimeoutResult() {
        pods.attach(new Attach("r1", "n1", pod, List.of(req("net1"))));
        assertTrue(pods.expirePending(Duration.ofMinutes(10)).isEmpty());
        now = now.plus(Duration.ofMinutes(11));
        List<Result> expired = pods.expirePending(Duration.ofMinutes(10));
        assertEquals(1, expired.size());
        assertEquals("Timeout", expired.getFirst().errorReason());
        assertFalse(pods.isPending("uid-1"));
    }

    @Test
    void unregisterRemovesTheInterfacesAndAnnouncesRemoval() {
        pods.register(new Sandbox(pod, "c1", "/p"));
        pods.attach(new Attach("r1", "n1", pod, List.of(req("net1"))));
        assertEquals(List.of("net1"), pods.unregister(pod, "c1", "/p"));
        assertEquals(List.of("added c1", "removed c1"), events.sandboxEvents);
        assertTrue(pods.sandbox("uid-1").isEmpty());
        assertEquals(List.of(), pods.unregister(pod, "c1", "/p"), "DEL twice is success");
    }

    @Test
    void nadConfigIsReadWithTheReferencePluginDefaultsAndFieldNamedErrors() {
        assertEquals(new NetworkConfig.Macvlan("", "", 0), NetworkConfig.parse(Map.of("type", "macvlan")));
        assertEquals(new NetworkConfig.Bridge("cni0", true, true, false, false, 0, 0),
                NetworkConfig.parse(Map.of("type", "bridge", "isDefaultGateway", true)));
        assertEquals(new NetworkConfig.Delegated("sriov"), NetworkConfig.parse(Map.of("type", "sriov")));
        assertEquals(new NetworkConfig.Delegated("conflist"), NetworkConfig.parse(Map.of("plugins", List.of())));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> NetworkConfig.parse(Map.of("type", "macvlan", "mtu", "big")));
        assertEquals("cniConfig.mtu must be an integer, got big", e.getMessage());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> NetworkConfig.parse(Map.of("type", "vlan", "master", "eth0")));
    }
}
