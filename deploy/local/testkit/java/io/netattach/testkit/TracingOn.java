package io.netattach.testkit;

import io.quarkus.test.junit.QuarkusTestProfile;

import java.util.Map;

/** A test profile that samples every trace and exports finished spans within 50 ms (to InMemorySpans). */
public class TracingOn implements QuarkusTestProfile {
    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("quarkus.otel.traces.sampler.arg", "1", "quarkus.otel.bsp.schedule.delay", "50ms");
    }
}
