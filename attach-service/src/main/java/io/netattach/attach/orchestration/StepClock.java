package io.netattach.attach.orchestration;

/**
 * Where the time of one reconcile goes: each step's duration since the previous mark, for one DEBUG line
 * per attach ("queued 2 ms, fetch 3 ms, policy 4 ms, ..."), so a slow step is visible with its request ids.
 */
final class StepClock {
    private final StringBuilder steps = new StringBuilder();
    private final long start;
    private long last;

    StepClock(long since) {
        this.start = since;
        this.last = since;
    }

    /** Ends the step named name now. */
    void mark(String name) {
        long now = System.nanoTime();
        if (!steps.isEmpty()) steps.append(", ");
        steps.append(name).append(' ').append((now - last) / 1_000_000).append(" ms");
        last = now;
    }

    @Override
    public String toString() {
        return steps + " (total " + (System.nanoTime() - start) / 1_000_000 + " ms)";
    }
}
