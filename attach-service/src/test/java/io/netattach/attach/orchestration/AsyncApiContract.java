package io.netattach.attach.orchestration;

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
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Checks a CloudEvent (envelope and data) against components.schemas of docs/asyncapi.yaml. */
final class AsyncApiContract {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> DATA_SCHEMA = Map.ofEntries(
            Map.entry("io.netattach.policy.request", "PolicyRequestData"),
            Map.entry("io.netattach.policy.decision", "PolicyDecisionData"),
            Map.entry("io.netattach.ipam.allocate", "IpamAllocateData"),
            Map.entry("io.netattach.ipam.release", "IpamReleaseData"),
            Map.entry("io.netattach.ipam.reconcile", "IpamReconcileData"),
            Map.entry("io.netattach.ipam.result", "IpamResultData"),
            Map.entry("io.netattach.node.attach", "NodeAttachData"),
            Map.entry("io.netattach.node.detach", "NodeDetachData"),
            Map.entry("io.netattach.node.result", "NodeResultData"),
            Map.entry("io.netattach.node.blocked", "NodeBlockedData"),
            Map.entry("io.netattach.node.sandbox", "NodeSandboxData"),
            Map.entry("io.netattach.attach.attached", "AuditData"),
            Map.entry("io.netattach.attach.detached", "AuditData"),
            Map.entry("io.netattach.attach.failed", "AuditData"),
            Map.entry("io.netattach.attach.skipped", "AuditData"));
    private static JsonNode components;
    private static final Map<String, JsonSchema> SCHEMAS = new ConcurrentHashMap<>();

    private AsyncApiContract() {
    }

    /** The violations of one event, empty when it conforms. */
    static Set<ValidationMessage> violations(JsonNode event) {
        String type = event.path("type").asText();
        String dataSchema = DATA_SCHEMA.get(type);
        if (dataSchema == null) return Set.of(ValidationMessage.builder().message("type " + type + " is not a message of this contract").build());
        Set<ValidationMessage> out = new java.util.HashSet<>(schema("CloudEvent").validate(event));
        out.addAll(schema(dataSchema).validate(event.path("data")));
        return out;
    }

    /**
     * The violations of a record's headers against the CloudEvents Kafka binding the contract asks of every message
     * (components.messageTraits.CloudEventsStructured: content-type application/cloudevents+json), empty when it conforms.
     */
    static Set<ValidationMessage> headerViolations(Map<String, String> headers) {
        return schema("#/components/messageTraits/CloudEventsStructured/headers").validate(JSON.valueToTree(headers));
    }

    /**
     * The violations of a record's key against its message's bindings.kafka.key: the key schema, and equal to the value
     * x-netattach-key-from points at in the event (no value there: no key); empty when it conforms.
     */
    static java.util.List<String> keyViolations(String key, JsonNode event) {
        String dataSchema = DATA_SCHEMA.get(event.path("type").asText());
        if (dataSchema == null) return java.util.List.of("type " + event.path("type").asText() + " is not a message of this contract");
        String message = dataSchema.equals("AuditData") ? "AuditEvent" : dataSchema.substring(0, dataSchema.length() - "Data".length());
        JsonNode binding = components().path("messages").path(message).path("bindings").path("kafka").path("key");
        String from = binding.path("x-netattach-key-from").asText();
        if (!from.startsWith("/")) return java.util.List.of(message + ": no bindings.kafka.key with a pointer in x-netattach-key-from");
        java.util.List<String> out = new java.util.ArrayList<>();
        JsonSchema keySchema = SCHEMAS.computeIfAbsent("key:" + message, n -> {
            ObjectNode root = binding.deepCopy();
            root.remove("x-netattach-key-from");
            root.put("$schema", "https://json-schema.org/draft/2020-12/schema");
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(root);
        });
        keySchema.validate(key == null ? JSON.nullNode() : JSON.getNodeFactory().textNode(key)).forEach(v -> out.add("key " + key + ": " + v.getMessage()));
        JsonNode at = event.at(from);
        String expected = at.isMissingNode() || at.isNull() ? null : at.asText();
        if (!java.util.Objects.equals(expected, key)) out.add("key " + key + ", expected " + from + " of the event: " + expected);
        return out;
    }

    private static JsonSchema schema(String name) {
        return SCHEMAS.computeIfAbsent(name, n -> {
            ObjectNode root = JSON.createObjectNode();
            root.put("$schema", "https://json-schema.org/draft/2020-12/schema");
            root.set("components", components());
            root.put("$ref", n.startsWith("#") ? n : "#/components/schemas/" + n);
            return JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
                    .getSchema(root, SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build());
        });
    }

    private static synchronized JsonNode components() {
        if (components == null) {
            try {
                components = new ObjectMapper(new YAMLFactory()).readTree(Path.of("..", "docs", "asyncapi.yaml").toFile()).get("components");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return components;
    }
}
