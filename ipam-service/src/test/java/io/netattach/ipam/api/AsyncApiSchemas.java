package io.netattach.ipam.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;

/** Validates events against the message payload schemas of docs/asyncapi.yaml (the contract between services). */
final class AsyncApiSchemas {
    private final JsonNode doc;
    private final ObjectMapper json = new ObjectMapper();

    AsyncApiSchemas() throws IOException {
        Path file = Path.of("../docs/asyncapi.yaml");
        if (!Files.exists(file)) file = Path.of("docs/asyncapi.yaml");
        doc = new ObjectMapper(new YAMLFactory()).readTree(file.toFile());
    }

    /** Problems of the event against components.messages.&lt;message&gt;.payload; empty when valid. */
    String problems(String message, String eventJson) throws IOException {
        JsonNode payload = doc.path("components").path("messages").path(message).path("payload");
        if (payload.isMissingNode()) throw new IllegalArgumentException("no message " + message + " in asyncapi.yaml");
        ObjectNode schema = payload.deepCopy();
        schema.put("$schema", "https://json-schema.org/draft/2020-12/schema");
        schema.set("components", doc.path("components"));
        JsonSchema s = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(schema);
        Set<ValidationMessage> errors = s.validate(json.readTree(eventJson));
        return errors.stream().map(ValidationMessage::getMessage).sorted().collect(Collectors.joining("; "));
    }

    /**
     * Problems of a record's key against components.messages.&lt;message&gt;.bindings.kafka.key: its schema, and the value
     * x-netattach-key-from names (a JSON pointer into the event, or "request": {@code requestKey}); empty when right.
     */
    String keyProblems(String message, String key, String eventJson, String requestKey) throws IOException {
        JsonNode binding = doc.path("components").path("messages").path(message).path("bindings").path("kafka").path("key");
        if (binding.isMissingNode()) throw new IllegalArgumentException("no bindings.kafka.key for message " + message + " in asyncapi.yaml");
        String from = binding.path("x-netattach-key-from").asText();
        String expected;
        if (from.startsWith("/")) {
            JsonNode at = json.readTree(eventJson).at(from);
            expected = at.isMissingNode() || at.isNull() ? null : at.asText();
        } else if (from.equals("request")) {
            expected = requestKey;
        } else {
            throw new IllegalArgumentException(message + ": x-netattach-key-from " + from + " is not a pointer or \"request\"");
        }
        ObjectNode schema = binding.deepCopy();
        schema.remove("x-netattach-key-from");
        schema.put("$schema", "https://json-schema.org/draft/2020-12/schema");
        String problems = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(schema)
                .validate(key == null ? json.nullNode() : json.getNodeFactory().textNode(key)).stream()
                .map(ValidationMessage::getMessage).sorted().collect(Collectors.joining("; "));
        if (!java.util.Objects.equals(expected, key)) {
            problems += (problems.isEmpty() ? "" : "; ") + "key " + key + ", expected " + expected + " (" + from + ")";
        }
        return problems;
    }
}
