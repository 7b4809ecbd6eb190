package io.netattach.policy.domain;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Supplier;

/**
 * Asks again, with growing pauses, while a decision is only "policy unavailable" (API server hiccup, caches
 * still syncing after a start), up to a time budget; then the unavailable denial stands.
 */
public record UnavailableRetry(Duration budget, Clock clock, Pause pause) {
    public interface Pause {
        void sleep(Duration d) throws InterruptedException;
    }

    public PolicyDecision decide(Supplier<PolicyDecision> attempt) {
        Instant end = clock.instant().plus(budget);
        Duration wait = Duration.ofMillis(100);
        PolicyDecision d = attempt.get();
        while (d.retryable()) {
            Duration left = Duration.between(clock.instant(), end);
            if (left.isNegative() || left.isZero()) return d;
            try {
                pause.sleep(wait.compareTo(left) < 0 ? wait : left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return d;
            }
            wait = wait.multipliedBy(2);
            d = attempt.get();
        }
        return d;
    }
}
