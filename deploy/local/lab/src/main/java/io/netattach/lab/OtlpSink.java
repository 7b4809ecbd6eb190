package io.netattach.lab;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;

/**
 * The lab's stand-in for an OpenTelemetry collector: OTLP over HTTP (protobuf, POST /v1/traces), as the services'
 * exporter sends it when OTEL_EXPORTER_OTLP_ENDPOINT names it; each span received becomes one JSON line of the
 * output file (traceId, spanId, parentSpanId, name, service, attributes), which the end-to-end tests read.
 */
final class OtlpSink {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HexFormat HEX = HexFormat.of();

    private OtlpSink() {
    }

    static void run(Lab.Options o) throws IOException {
        int port = Integer.parseInt(o.get("port", "4318"));
        Path out = o.path("out");
        Writer writer = Files.newBufferedWriter(out, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 64);
        server.createContext("/", exchange -> receive(exchange, writer)); // /v1/traces, or the path an exporter was given
        server.setExecutor(Executors.newFixedThreadPool(2));
        server.start();
        System.out.println("otlp-sink: OTLP/HTTP traces on 127.0.0.1:" + port + " -> " + out);
    }

    private static void receive(HttpExchange exchange, Writer writer) throws IOException {
        try (exchange) {
            if (!"POST".equals(exchange.getRequestMethod())) {
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            ExportTraceServiceRequest request;
            try (InputStream in = exchange.getRequestBody()) {
                request = ExportTraceServiceRequest.parseFrom(in);
            } catch (IOException e) {
                byte[] why = ("not an OTLP ExportTraceServiceRequest: " + e.getMessage()).getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(400, why.length);
                exchange.getResponseBody().write(why);
                return;
            }
            StringBuilder lines = new StringBuilder();
            for (ResourceSpans rs : request.getResourceSpansList()) {
                String service = attributes(rs.getResource()).getOrDefault("service.name", "");
                for (ScopeSpans ss : rs.getScopeSpansList()) {
                    for (Span s : ss.getSpansList()) lines.append(line(service, s)).append('\n');
                }
            }
            synchronized (writer) {
                writer.write(lines.toString());
                writer.flush();
            }
            byte[] ok = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
            exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
            exchange.sendResponseHeaders(200, ok.length == 0 ? -1 : ok.length);
            try (OutputStream body = exchange.getResponseBody()) {
                body.write(ok);
            }
        }
    }

    private static String line(String service, Span s) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("traceId", HEX.formatHex(s.getTraceId().toByteArray()));
        m.put("spanId", HEX.formatHex(s.getSpanId().toByteArray()));
        m.put("parentSpanId", s.getParentSpanId().isEmpty() ? null : HEX.formatHex(s.getParentSpanId().toByteArray()));
        m.put("name", s.getName());
        m.put("service", service);
        m.put("attributes", attributes(s.getAttributesList()));
        return JSON.writeValueAsString(m);
    }

    private static Map<String, String> attributes(Resource r) {
        return attributes(r.getAttributesList());
    }

    /** Attribute values as text (arrays joined with commas): enough for the tests to match on. */
    private static Map<String, String> attributes(List<KeyValue> kvs) {
        Map<String, String> m = new LinkedHashMap<>();
        for (KeyValue kv : kvs) m.put(kv.getKey(), text(kv.getValue()));
        return m;
    }

    private static String text(AnyValue v) {
        return switch (v.getValueCase()) {
            case STRING_VALUE -> v.getStringValue();
            case BOOL_VALUE -> String.valueOf(v.getBoolValue());
            case INT_VALUE -> String.valueOf(v.getIntValue());
            case DOUBLE_VALUE -> String.valueOf(v.getDoubleValue());
            case ARRAY_VALUE -> String.join(",", v.getArrayValue().getValuesList().stream().map(OtlpSink::text).toList());
            default -> v.toString();
        };
    }
}
