package io.netattach.attach.kafka;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.Set;

/**
 * What a record on a reply topic means to attach-service (docs/asyncapi.yaml: policy decisions, IPAM results, node
 * results). Parsing is strict about what is read and names the field and value of what is wrong, so an unreadable
 * record goes to the dead-letter topic with a reason an operator can act on.
 */
sealed interface Reply {

    /** The answer to the request {@code requestId}: its CloudEvent's data. */
    record Answer(String requestId, JsonNode data) implements Reply {
    }

    /** A node's sandbox of the pod waits with none of the pod's networks in it. */
    record SandboxWaiting(String podUid, String containerId, String node) implements Reply {
    }

    /** A message of the contract that attach-service does not act on (a node's inventory, other sandbox events). */
    record Unread(String type) implements Reply {
    }

    /** A record that is no message of the reply topics' contract. */
    final class UnreadableReply extends IllegalArgumentException {
        UnreadableReply(String message) {
            super(message);
        }

        UnreadableReply(String message, Throwable cause) {
            super(message, cause);
        }
    }

    Set<String> ANSWERS = Set.of("io.netattach.policy.decision", "io.netattach.ipam.result", "io.netattach.node.result");
    String SANDBOX = "io.netattach.node.sandbox";
    String INVENTORY = "io.netattach.node.inventory";

    static Reply parse(ObjectMapper json, String value) {
        if (value == null) throw new UnreadableReply("record value: null (a tombstone), expected a CloudEvent");
        JsonNode event;
        try {
            event = json.readTree(value);
        } catch (JsonProcessingException e) {
            throw new UnreadableReply("record value is not JSON: " + e.getOriginalMessage() + " in " + excerpt(value), e);
        }
        if (event == null || !event.isObject()) throw new UnreadableReply("record value: expected a CloudEvent object, got " + excerpt(value));
        String type = text(event, "type", "type");
        JsonNode data = event.get("data");
        if (data == null || !data.isObject()) {
            throw new UnreadableReply("data of " + type + ": expected an object, got " + (data == null ? "nothing" : brief(data)));
        }
        if (ANSWERS.contains(type)) return new Answer(text(data, "requestId", "data.requestId of " + type), data);
        if (SANDBOX.equals(type)) {
            if (!"waiting".equals(text(data, "event", "data.event of " + type))) return new Unread(type + " " + data.get("event").asText());
            JsonNode pod = data.get("pod");
            if (pod == null || !pod.isObject()) throw new UnreadableReply("data.pod of " + type + " waiting: expected an object, got " + (pod == null ? "nothing" : brief(pod)));
            return new SandboxWaiting(text(pod, "uid", "data.pod.uid of " + type + " waiting"),
                    data.path("containerId").asText(""), data.path("node").asText(""));
        }
        if (INVENTORY.equals(type)) return new Unread(type);
        throw new UnreadableReply("type: \"" + type + "\" is not a message of the reply topics (expected one of "
                + String.join(", ", new java.util.TreeSet<>(ANSWERS)) + ", " + SANDBOX + ", " + INVENTORY + ")");
    }

    private static String text(JsonNode parent, String field, String name) {
        JsonNode v = parent.get(field);
        if (v == null || v.isNull()) throw new UnreadableReply(name + ": missing");
        if (!v.isTextual() || v.asText().isEmpty()) throw new UnreadableReply(name + ": expected a non-empty string, got " + brief(v));
        return v.asText();
    }

    /** The raw text, quoted, cut at 120 characters. */
    private static String excerpt(String value) {
        return "\"" + (value.length() > 120 ? value.substring(0, 120) + "..." : value) + "\"";
    }

    /** A JSON value as JSON, cut at 120 characters. */
    private static String brief(JsonNode value) {
        String s = value.toString();
        return s.length() > 120 ? s.substring(0, 120) + "..." : s;
    }
}
