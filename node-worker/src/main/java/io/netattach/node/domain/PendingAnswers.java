package io.netattach.node.domain;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Interim "pending" answers, held back for a moment. An attach command usually reaches the node just before the
 * container runtime's CNI ADD registers the pod's sandbox; when the sandbox comes within {@code delay}, the final
 * result is the only answer (one record on netattach.node.results instead of two, and one answer less for
 * attach-service to read). An attach still waiting after {@code delay} gets its pending answer then, which tells
 * attach-service to wait longer than its node timeout; {@code delay} must stay well below that timeout.
 * Confined to the command consumer's thread.
 */
public final class PendingAnswers {
    private record Held(Commands.Result answer, Instant due) {}

    private final Duration delay;
    private final Clock clock;
    /** requestId -> the held answer; the first hold of a request id counts (a redelivery does not postpone it). */
    private final Map<String, Held> held = new LinkedHashMap<>();

    public PendingAnswers(Duration delay, Clock clock) {
        if (delay.isNegative()) throw new IllegalArgumentException("netattach.node.pending-answer-delay must not be negative: " + delay);
        this.delay = delay;
        this.clock = clock;
    }

    /** Holds a pending answer; false when answers are not held (delay 0): publish it now. */
    public boolean hold(Commands.Result pending) {
        if (!pending.pending()) throw new IllegalArgumentException("not a pending answer: " + pending.requestId());
        if (delay.isZero()) return false;
        held.putIfAbsent(pending.requestId(), new Held(pending, clock.instant().plus(delay)));
        return true;
    }

    /**
     * The held answers to publish now: those held for {@code delay} whose pod still waits for its sandbox. Answers
     * of pods that no longer wait (the sandbox came and the final result went out, or the wait expired) are dropped.
     */
    public List<Commands.Result> due(Predicate<String> podStillPending) {
        Instant now = clock.instant();
        List<Commands.Result> out = new ArrayList<>();
        for (Iterator<Held> it = held.values().iterator(); it.hasNext(); ) {
            Held h = it.next();
            if (!podStillPending.test(h.answer().pod().uid())) {
                it.remove();
            } else if (!now.isBefore(h.due())) {
                it.remove();
                out.add(h.answer());
            }
        }
        return out;
    }

    public int size() { return held.size(); }
}
