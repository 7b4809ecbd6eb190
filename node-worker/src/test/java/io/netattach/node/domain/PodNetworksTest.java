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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
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
        public List<InterfaceReport> inspect(String netns, PodRef pod) {
            return made.stream().map(n -> new InterfaceReport("default/net-a", n, "02:00:00:00:00:01", 1500, List.of("10.0.0.5/24"), netns, null)).toList();
        }
    }

    static final class Recorded implements PodNetworks.Events {
        final List<Result> results = new ArrayList<>();
        final List<String> sandboxEvents = new ArrayList<>();
        final List<String> waiting = new ArrayList<>();
        int changes;
        public void result(Result r) { results.add(r); }
        public void sandbox(Sandbox s, String e) { sandboxEvents.add(e + " " + s.containerId()); }
        public void waiting(Sandbox s) { waiting.add(s.containerId()); }
        public void changed() { changes++; }
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

        AddOutcome done = pods.add(new Sandbox(pod, "c1", "/var/run/netns/p")).join();
        Result r = assertInstanceOf(AddOutcome.Attached.class, done).result();
        assertEquals("/var/run/netns/p", r.sandbox());
        assertEquals("c1", r.containerId());
        assertEquals(List.of("net1"), r.interfaces().stream().map(InterfaceReport::iface).toList());
        assertEquals(List.of("added c1"), events.sandboxEvents);
        assertEquals(1, events.results.size(), "the deferred result is published");
        assertEquals("r1", events.results.getFirst().requestId());
        assertFalse(pods.isPending("uid-1"));
        assertTrue(events.waiting.isEmpty(), "nothing to report: the attach was there");
    }

    @Test
    void anAddWaitsUntilTheAttachArrivesAndThenListsEveryInterfaceOfTheSandbox() {
        var waiting = pods.add(new Sandbox(pod, "c1", "/p"));
        assertFalse(waiting.isDone());
        pods.attach(new Attach("r1", "n1", pod, List.of(req("net1"), req("net2"))));
        Result r = assertInstanceOf(AddOutcome.Attached.class, waiting.join()).result();
        assertEquals(List.of("net1", "net2"), r.interfaces().stream().map(InterfaceReport::iface).toList());
        // the runtime asking again for the same sandbox gets the same answer at once
        Result again = assertInstanceOf(AddOutcome.Attached.class, pods.add(new Sandbox(pod, "c1", "/p")).join()).result();
        assertEquals(List.of("net1", "net2"), again.interfaces().stream().map(InterfaceReport::iface).toList());
        assertEquals(List.of("attach net1", "attach net2"), backend.log, "nothing made twice");
    }

    @Test
    void aDefinitiveRefusalFailsTheWaitingAddAndTheNextAddsAtOnceUntilAnAttachComes() {
        var waiting = pods.add(new Sandbox(pod, "c1", "/p"));
        pods.block(new Commands.Blocked("b1", "n1", pod, "other/net-b", "NetworkDenied", "namespace isolation: ...", true));
        AddOutcome.Refused refused = assertInstanceOf(AddOutcome.Refused.class, waiting.join());
        assertEquals("other/net-b", refused.why().network());
        // the kubelet's retry with a new sandbox: refused at once, and attach-service is reminded to look again
        pods.unregister(pod, "c1", "/p");
        AddOutcome next = pods.add(new Sandbox(pod, "c2", "/q")).join();
        assertInstanceOf(AddOutcome.Refused.class, next);
        assertEquals(List.of("c2"), events.waiting);
        pods.unregister(pod, "c2", "/q");
        assertInstanceOf(AddOutcome.Refused.class, pods.add(new Sandbox(pod, "c3", "/r")).join());
        assertEquals(List.of("c2"), events.waiting, "reminded at most every few seconds");
        // attach-service changed its mind (the policy allows it now): the attach ends the refusal
        pods.unregister(pod, "c3", "/r");
        pods.attach(new Attach("r2", "n1", pod, List.of(req("net1"))));
        assertInstanceOf(AddOutcome.Attached.class, pods.add(new Sandbox(pod, "c4", "/s")).join());
    }

    @Test
    void aPassingReasonKeepsTheAddWaitingAndIsNamedWhenItTimesOut() {
        Sandbox sb = new Sandbox(pod, "c1", "/p");
        var waiting = pods.add(sb);
        pods.block(new Commands.Blocked("b1", "n1", pod, null, "PolicyUnavailable", "policy-service did not answer", false));
        assertFalse(waiting.isDone(), "not definitive: the ADD keeps waiting");
        AddOutcome.TimedOut t = assertInstanceOf(AddOutcome.TimedOut.class, pods.addTimedOut(sb, waiting, Duration.ofSeconds(60)));
        assertEquals("PolicyUnavailable", t.lastWord().reason());
        assertEquals(Duration.ofSeconds(60), t.after());
    }

    @Test
    void aSandboxWithNothingForItIsReportedAfterTheDelayAndAReCreatedOneAtOnce() {
        pods.add(new Sandbox(pod, "c1", "/p"));
        pods.nudgeDue(Duration.ofSeconds(2));
        assertEquals(List.of(), events.waiting, "not yet: the attach usually comes within the delay");
        now = now.plusSeconds(3);
        pods.nudgeDue(Duration.ofSeconds(2));
        pods.nudgeDue(Duration.ofSeconds(2));
        assertEquals(List.of("c1"), events.waiting, "reported once");
        pods.attach(new Attach("r1", "n1", pod, List.of(req("net1"))));

        // the runtime re-creates the sandbox: its interfaces are gone, attach-service hears of it without delay
        pods.unregister(pod, "c1", "/p");
        var again = pods.add(new Sandbox(pod, "c2", "/q"));
        assertEquals(List.of("c1", "c2"), events.waiting);
        assertFalse(again.isDone());
        pods.attach(new Attach("r1", "n1", pod, List.of(req("net1"))));
        Result r = assertInstanceOf(AddOutcome.Attached.class, again.join()).result();
        assertEquals("/q", r.sandbox());
    }

    @Test
    void aDelOrATeardownWhileAnAddWaitsEndsIt() {
        var waiting = pods.add(new Sandbox(pod, "c1", "/p"));
        pods.unregister(pod, "c1", "/p");
        assertInstanceOf(AddOutcome.Abandoned.class, waiting.join());
        var second = pods.add(new Sandbox(pod, "c2", "/q"));
        pods.detach(new Commands.Detach("d1", "n1", pod, null));
        assertInstanceOf(AddOutcome.Abandoned.class, second.join());
        assertTrue(pods.sandbox("uid-1").isEmpty(), "the teardown forgets the pod");
    }

    @Test
    void checkNamesWhatDiffersFromWhatWasAttached() {
        pods.register(new Sandbox(pod, "c1", "/p"));
        pods.attach(new Attach("r1", "n1", pod, List.of(req("net1"), req("net2"))));
        assertEquals(List.of(), pods.check(pod, "c1", "/p"));
        backend.made.remove("net2");
        assertEquals(List.of("net2 (default/net-a) is missing"), pods.check(pod, "c1", "/p"));
        backend.made.add("net9");
        assertEquals(List.of("net2 (default/net-a) is missing", "net9 is netattach's but was not attached in this sandbox"), pods.check(pod, "c1", "/p"));
    }

    @Test
    void whatWasMadeIsSavedAndRestoredAfterARestart() {
        pods.register(new Sandbox(pod, "c1", "/p"));
        pods.attach(new Attach("r1", "n1", pod, List.of(req("net1"))));
        List<PodNetworks.Saved> saved = pods.snapshot();
        assertEquals(1, saved.size());
        PodNetworks restarted = new PodNetworks(backend, events, clock);
        saved.forEach(restarted::restore);
        assertEquals(List.of(), restarted.check(pod, "c1", "/p"), "CHECK knows what was attached");
        events.waiting.clear();
        restarted.unregister(pod, "c1", "/p");
        restarted.add(new Sandbox(pod, "c2", "/q"));
        assertEquals(List.of("c2"), events.waiting, "a re-created sandbox after the restart is reported at once too");
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

        pods.add(new Sandbox(pod, "c1", "/var/run/netns/p"));
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
        pods.register(new Sandbox(pod, "c1", "/p"));
        assertTrue(backend.log.isEmpty(), "nothing left to run");
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
        assertEquals(new NetworkConfig.Bridge("cni0", true, true, false, false, 0, 0, false),
                NetworkConfig.parse(Map.of("type", "bridge", "isDefaultGateway", true)));
        assertEquals(new NetworkConfig.Delegated("sriov"), NetworkConfig.parse(Map.of("type", "sriov")));
        assertEquals(new NetworkConfig.Delegated("conflist"), NetworkConfig.parse(Map.of("plugins", List.of())));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> NetworkConfig.parse(Map.of("type", "macvlan", "mtu", "big")));
        assertEquals("cniConfig.mtu must be an integer, got big", e.getMessage());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> NetworkConfig.parse(Map.of("type", "vlan", "master", "eth0")));
    }
}
