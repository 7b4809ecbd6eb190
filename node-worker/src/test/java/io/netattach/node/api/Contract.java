package io.netattach.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Checks JSON against the schemas of docs/asyncapi.yaml (the subset the document uses: type incl. unions,
 * required, properties, items, enum, const, pattern, minLength, maxLength, oneOf, allOf, $ref).
 */
final class Contract {
    private static final JsonNode DOC;

    static {
        try {
            DOC = new ObjectMapper(new YAMLFactory()).readTree(Path.of("..", "docs", "asyncapi.yaml").toFile());
        } catch (IOException e) {
            throw new IllegalStateException("cannot read docs/asyncapi.yaml", e);
        }
    }

    private Contract() {}

    /** Violations of components.schemas.CloudEvent and of {@code dataSchema} for the event's data. */
    static List<String> checkEvent(JsonNode event, String dataSchema) {
        List<String> errors = new ArrayList<>();
        check(event, DOC.at("/components/schemas/CloudEvent"), "event", errors);
        check(event.path("data"), DOC.at("/components/schemas/" + dataSchema), "data", errors);
        return errors;
    }

    /**
     * Violations of a record's key against components.messages.{message}.bindings.kafka.key: its schema, and equal to
     * the value x-netattach-key-from points at in the event (no value there: no key).
     */
    static List<String> checkKey(String message, String key, JsonNode event) {
        List<String> errors = new ArrayList<>();
        JsonNode binding = DOC.at("/components/messages/" + message + "/bindings/kafka/key");
        String from = binding.path("x-netattach-key-from").asText();
        if (!from.startsWith("/")) {
            errors.add(message + ": no bindings.kafka.key with a pointer in x-netattach-key-from");
            return errors;
        }
        check(key == null ? NullNode.getInstance() : TextNode.valueOf(key), binding, "key", errors);
        JsonNode at = event.at(from);
        String expected = at.isMissingNode() || at.isNull() ? null : at.asText();
        if (!Objects.equals(expected, key)) errors.add("key: " + key + ", expected " + from + " of the event: " + expected);
        return errors;
    }

    private static void check(JsonNode v, JsonNode s, String at, List<String> errors) {
        if (s == null || s.isMissingNode()) {
            errors.add(at + ": schema missing");
            return;
        }
        if (s.has("$ref")) {
            check(v, DOC.at(s.get("$ref").asText().substring(1)), at, errors);
            return;
        }
        if (s.has("allOf")) for (JsonNode sub : s.get("allOf")) check(v, sub, at, errors);
        if (s.has("oneOf")) {
            int ok = 0;
            for (JsonNode sub : s.get("oneOf")) {
                List<String> e = new ArrayList<>();
                check(v, sub, at, e);
                if (e.isEmpty()) ok++;
            }
            if (ok != 1) errors.add(at + ": matches " + ok + " of oneOf, expected 1: " + v);
        }
        if (s.has("type")) {
            List<String> types = new ArrayList<>();
            if (s.get("type").isArray()) s.get("type").forEach(t -> types.add(t.asText())); else types.add(s.get("type").asText());
            if (types.stream().noneMatch(t -> is(v, t))) {
                errors.add(at + ": expected " + types + ", got " + v);
                return;
            }
        }
        if (s.has("const") && !s.get("const").asText().equals(v.asText())) errors.add(at + ": expected " + s.get("const") + ", got " + v);
        if (s.has("enum")) {
            boolean found = false;
            for (JsonNode e : s.get("enum")) found |= e.asText().equals(v.asText());
            if (!found) errors.add(at + ": " + v + " not in " + s.get("enum"));
        }
        if (v.isTextual()) {
            if (s.has("minLength") && v.asText().length() < s.get("minLength").asInt()) errors.add(at + ": shorter than " + s.get("minLength"));
            if (s.has("maxLength") && v.asText().length() > s.get("maxLength").asInt()) errors.add(at + ": longer than " + s.get("maxLength"));
            if (s.has("pattern") && !Pattern.compile(s.get("pattern").asText()).matcher(v.asText()).find()) errors.add(at + ": " + v + " does not match " + s.get("pattern"));
        }
        if (v.isObject()) {
            if (s.has("required")) for (JsonNode r : s.get("required")) if (!v.has(r.asText())) errors.add(at + "." + r.asText() + ": required");
            if (s.has("properties")) s.get("properties").fields().forEachRemaining(p -> {
                if (v.has(p.getKey())) check(v.get(p.getKey()), p.getValue(), at + "." + p.getKey(), errors);
            });
        }
        if (v.isArray() && s.has("items")) for (int i = 0; i < v.size(); i++) check(v.get(i), s.get("items"), at + "[" + i + "]", errors);
    }

    private static boolean is(JsonNode v, String type) {
        return switch (type) {
            case "object" -> v.isObject();
            case "array" -> v.isArray();
            case "string" -> v.isTextual();
            case "boolean" -> v.isBoolean();
            case "integer" -> v.isIntegralNumber();
            case "number" -> v.isNumber();
            case "null" -> v.isNull();
            default -> false;
        };
    }
}
