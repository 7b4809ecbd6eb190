package io.netattach.policy.api;

import java.time.Duration;
import java.time.Instant;
import java.util.function.BooleanSupplier;

/** Waits on a condition, never on a fixed sleep. */
public final class Poll {
    private Poll() {}

    public static void until(String what, Duration timeout, BooleanSupplier condition) {
        Instant end = Instant.now().plus(timeout);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(end)) throw new AssertionError("timed out after " + timeout + " waiting for " + what);
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what);
            }
        }
    }
}
