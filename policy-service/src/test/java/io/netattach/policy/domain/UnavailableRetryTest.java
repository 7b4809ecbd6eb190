package io.netattach.policy.domain;

import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UnavailableRetryTest {
    private Instant now = Instant.parse("2026-01-01T00:00:00Z");
    private final List<Duration> pauses = new ArrayList<>();
    private final Clock clock = new Clock() {
        @Override public ZoneId getZone() { return ZoneOffset.UTC; }
        @Override public Clock withZone(ZoneId zone) { return this; }
        @Override public Instant instant() { return now; }
    };
    private final UnavailableRetry retry = new UnavailableRetry(Duration.ofSeconds(1), clock, d -> {
        pauses.add(d);
        now = now.plus(d);
    });
    private final PodRef pod = new PodRef("default", "p", "u", null, Map.of());

    private PolicyDecision decision(String rule, boolean allowed) {
        return new PolicyDecision("r", pod, List.of(new Decision("default/n", "net1", allowed, rule, "x", null, null)));
    }

    @Test
    void asksAgainUntilTheRuleIsAvailable() {
        var answers = new ArrayList<>(List.of(decision(Decision.UNAVAILABLE, false), decision(Decision.UNAVAILABLE, false), decision(Decision.RBAC, true)));
        PolicyDecision d = retry.decide(answers::removeFirst);
        assertTrue(d.allowed());
        assertEquals(List.of(Duration.ofMillis(100), Duration.ofMillis(200)), pauses);
    }

    @Test
    void givesUpAfterTheBudgetWithTheUnavailableDenial() {
        PolicyDecision d = retry.decide(() -> decision(Decision.UNAVAILABLE, false));
        assertFalse(d.allowed());
        assertTrue(d.retryable());
        assertEquals(Duration.ofSeconds(1), pauses.stream().reduce(Duration.ZERO, Duration::plus));
    }

    @Test
    void finalDenialIsNotRetried() {
        PolicyDecision d = retry.decide(() -> decision(Decision.RBAC, false));
        assertFalse(d.allowed());
        assertEquals(List.of(), pauses);
    }
}
