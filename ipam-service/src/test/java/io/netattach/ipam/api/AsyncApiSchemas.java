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
}
