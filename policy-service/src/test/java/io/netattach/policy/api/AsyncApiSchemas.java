package io.netattach.policy.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Validates JSON against components.schemas.* of docs/asyncapi.yaml (JSON Schema 2020-12 keywords). */
public final class AsyncApiSchemas {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static JsonNode components;

    private AsyncApiSchemas() {}

    private static synchronized JsonNode components() throws IOException {
        if (components == null) {
            components = new ObjectMapper(new YAMLFactory()).readTree(Path.of("..", "docs", "asyncapi.yaml").toFile()).get("components");
        }
        return components;
    }

    /** The schema components.schemas.{name}, with its $refs resolvable inside the same document. */
    public static JsonSchema schema(String name) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("$schema", "https://json-schema.org/draft/2020-12/schema");
        root.set("components", components());
        root.put("$ref", "#/components/schemas/" + name);
        SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();
        return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(root, config);
    }

    public static void assertValid(String schemaName, JsonNode value) throws IOException {
        Set<ValidationMessage> errors = schema(schemaName).validate(value);
        assertEquals(Set.of(), errors, schemaName + " violated by " + value);
    }

    /**
     * A record's key against components.messages.{message}.bindings.kafka.key: its schema, and equal to the value
     * x-netattach-key-from points at in the event (no value there: no key).
     */
    public static void assertKey(String message, String key, JsonNode event) throws IOException {
        JsonNode binding = components().path("messages").path(message).path("bindings").path("kafka").path("key");
        if (binding.isMissingNode()) throw new IllegalArgumentException("no bindings.kafka.key for message " + message + " in asyncapi.yaml");
        String from = binding.path("x-netattach-key-from").asText();
        if (!from.startsWith("/")) throw new IllegalArgumentException(message + ": x-netattach-key-from " + from + " is not a pointer into the event");
        ObjectNode schema = binding.deepCopy();
        schema.remove("x-netattach-key-from");
        schema.put("$schema", "https://json-schema.org/draft/2020-12/schema");
        JsonNode keyNode = key == null ? JSON.nullNode() : JSON.getNodeFactory().textNode(key);
        assertEquals(Set.of(), JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(schema).validate(keyNode),
                "key of " + message + " violates its bindings.kafka.key: " + key);
        JsonNode at = event.at(from);
        assertEquals(at.isMissingNode() || at.isNull() ? null : at.asText(), key, "key of " + message + " is " + from + " of " + event);
    }
}
