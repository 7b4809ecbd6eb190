package io.netattach.testkit;

import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * The spans this service exports, kept in memory (the SDK's "cdi" exporter takes this bean; tracing is on only in
 * the tests whose profile enables the SDK), and the parent chain of a span among them.
 */
@ApplicationScoped
public class InMemorySpans {
    @Produces
    @Singleton
    InMemorySpanExporter exporter() {
        return InMemorySpanExporter.create();
    }

    /** The first exported span that matches, waiting up to 30 s for the batch processor to export it. */
    public static SpanData await(InMemorySpanExporter exporter, String what, Predicate<SpanData> match) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            Optional<SpanData> found = exporter.getFinishedSpanItems().stream().filter(match).findFirst();
            if (found.isPresent()) return found.get();
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no span " + what + " within 30 s; exported: "
                        + exporter.getFinishedSpanItems().stream().map(s -> s.getName() + " " + s.getTraceId()).toList());
            }
            Thread.sleep(50);
        }
    }

    /** The span ids from spanId up through its exported ancestors, ending with the first parent not exported here. */
    public static List<String> chain(InMemorySpanExporter exporter, String spanId) {
        Map<String, SpanData> byId = exporter.getFinishedSpanItems().stream().collect(Collectors.toMap(SpanData::getSpanId, s -> s, (a, b) -> a));
        List<String> chain = new ArrayList<>();
        for (String id = spanId; id != null && !id.equals("0000000000000000"); ) {
            chain.add(id);
            SpanData s = byId.get(id);
            id = s == null ? null : s.getParentSpanId();
        }
        return chain;
    }

    /** A W3C traceparent: version, trace id, parent span id, flags (sampled). */
    public record TraceParent(String traceId, String spanId) {
        public static TraceParent parse(String header) {
            String[] parts = header.split("-");
            if (parts.length != 4) throw new AssertionError("traceparent: \"" + header + "\" is not version-traceid-spanid-flags");
            return new TraceParent(parts[1], parts[2]);
        }

        public static TraceParent random() {
            java.util.HexFormat hex = java.util.HexFormat.of();
            byte[] t = new byte[16], s = new byte[8];
            java.util.concurrent.ThreadLocalRandom.current().nextBytes(t);
            java.util.concurrent.ThreadLocalRandom.current().nextBytes(s);
            t[0] |= 1; // never all zeros (invalid)
            s[0] |= 1;
            return new TraceParent(hex.formatHex(t), hex.formatHex(s));
        }

        public String header() {
            return "00-" + traceId + "-" + spanId + "-01";
        }
    }
}
