package io.netattach.node.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netattach.node.domain.AttachmentRequest;
import io.netattach.node.domain.Commands;
import io.netattach.node.domain.InterfaceReport;
import io.netattach.node.domain.PodRef;
import io.netattach.node.domain.PrimaryNetwork;
import io.netattach.node.domain.RouteRequest;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** CloudEvents (structured JSON) in and out, per docs/asyncapi.yaml: node commands, results, sandbox, inventory. */
public final class EventJson {
    public static final String ATTACH = "io.netattach.node.attach", DETACH = "io.netattach.node.detach", BLOCKED = "io.netattach.node.blocked",
            RESULT = "io.netattach.node.result", SANDBOX = "io.netattach.node.sandbox", INVENTORY = "io.netattach.node.inventory";

    private final ObjectMapper json;
    private final String cluster;
    private final String node;

    public EventJson(ObjectMapper json, String cluster, String node) {
        this.json = json;
        this.cluster = cluster;
        this.node = node;
    }

    public ObjectMapper mapper() { return json; }

    /** A parsed command: the CloudEvent type and the domain command. */
    public record Command(String type, Commands.Command command) {}

    /** The command in a CloudEvent; a malformed one is refused with the field (and value) at fault. */
    public Command parseCommand(String value) {
        if (value == null) throw new IllegalArgumentException("the record has no value");
        JsonNode ev;
        try {
            ev = json.readTree(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage());
        }
        if (ev == null || !ev.isObject()) throw new IllegalArgumentException("not a JSON object: " + abbreviated(value));
        String type = text(ev, "type", "type");
        JsonNode data = ev.get("data");
        if (data == null || !data.isObject()) throw new IllegalArgumentException("data must be an object, got " + abbreviated(String.valueOf(data)));
        String requestId = text(data, "requestId", "data.requestId");
        PodRef pod = pod(data.get("pod"));
        String nodeName = text(data, "node", "data.node");
        return switch (type) {
            case ATTACH -> {
                List<AttachmentRequest> list = new ArrayList<>();
                JsonNode as = data.get("attachments");
                if (as == null || !as.isArray()) throw new IllegalArgumentException("data.attachments must be an array, got " + abbreviated(String.valueOf(as)));
                for (int i = 0; i < as.size(); i++) list.add(attachment(as.get(i), i));
                yield new Command(type, new Commands.Attach(requestId, nodeName, pod, list));
            }
            case DETACH -> {
                JsonNode ifs = data.get("interfaces");
                List<String> names = ifs == null || ifs.isNull() ? null : convert(ifs, new TypeReference<List<String>>() {}, "data.interfaces");
                yield new Command(type, new Commands.Detach(requestId, nodeName, pod, names));
            }
            case BLOCKED -> new Command(type, new Commands.Blocked(requestId, nodeName, pod,
                    data.hasNonNull("network") ? text(data, "network", "data.network") : null, text(data, "reason", "data.reason"),
                    text(data, "message", "data.message"), data.path("definitive").asBoolean(false)));
            default -> throw new IllegalArgumentException("type \"" + type + "\" is not a node command (expected " + ATTACH + ", " + DETACH + " or " + BLOCKED + ")");
        };
    }

    private static String text(JsonNode n, String field, String path) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) throw new IllegalArgumentException(path + " is missing");
        if (!v.isTextual() || v.asText().isEmpty()) throw new IllegalArgumentException(path + " must be a non-empty string, got " + abbreviated(v.toString()));
        return v.asText();
    }

    /** A value as an error message quotes it: at most 100 characters. */
    private static String abbreviated(String v) {
        return v.length() <= 100 ? v : v.substring(0, 100) + "...";
    }

    private static PodRef pod(JsonNode p) {
        if (p == null || !p.isObject()) throw new IllegalArgumentException("data.pod must be an object, got " + abbreviated(String.valueOf(p)));
        return new PodRef(text(p, "namespace", "data.pod.namespace"), text(p, "name", "data.pod.name"), text(p, "uid", "data.pod.uid"));
    }

    private AttachmentRequest attachment(JsonNode a, int i) {
        String at = "data.attachments[" + i + "]";
        JsonNode conf = a.get("cniConfig");
        if (conf == null || !conf.isObject()) throw new IllegalArgumentException(at + ".cniConfig must be an object, got " + abbreviated(String.valueOf(conf)));
        Map<String, Object> cni = convert(conf, new TypeReference<Map<String, Object>>() {}, at + ".cniConfig");
        List<RouteRequest> routes = new ArrayList<>();
        JsonNode rs = a.get("routes");
        if (rs != null && rs.isArray()) rs.forEach(r -> routes.add(new RouteRequest(r.path("dst").asText(null),
                r.hasNonNull("gw") ? r.get("gw").asText() : null)));
        return new AttachmentRequest(text(a, "network", at + ".network"), text(a, "interface", at + ".interface"), cni,
                strings(a.get("ips"), at + ".ips"), strings(a.get("gateways"), at + ".gateways"), routes,
                a.hasNonNull("mac") ? a.get("mac").asText() : null, a.path("defaultRoute").asBoolean(false),
                a.hasNonNull("cniArgs") ? convert(a.get("cniArgs"), new TypeReference<Map<String, Object>>() {}, at + ".cniArgs") : null,
                a.hasNonNull("portMappings") ? convert(a.get("portMappings"), new TypeReference<List<Object>>() {}, at + ".portMappings") : null,
                a.hasNonNull("bandwidth") ? convert(a.get("bandwidth"), new TypeReference<Map<String, Object>>() {}, at + ".bandwidth") : null,
                a.path("skipIfUnsupported").asBoolean(false));
    }

    private List<String> strings(JsonNode n, String path) {
        if (n == null || n.isNull()) return List.of();
        return convert(n, new TypeReference<List<String>>() {}, path);
    }

    private <T> T convert(JsonNode n, TypeReference<T> type, String path) {
        try {
            return json.convertValue(n, type);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(path + " has the wrong type, got " + abbreviated(n.toString()));
        }
    }

    private ObjectNode envelope(String id, String type, String subject, ObjectNode data) {
        ObjectNode ev = json.createObjectNode();
        ev.put("specversion", "1.0");
        ev.put("id", id);
        ev.put("source", "/netattach/node-worker/" + cluster);
        ev.put("type", type);
        if (subject != null) ev.put("subject", subject);
        ev.put("time", OffsetDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        ev.put("datacontenttype", "application/json");
        ev.put("netattachcluster", cluster);
        ev.set("data", data);
        return ev;
    }

    private ObjectNode podNode(PodRef p) {
        ObjectNode n = json.createObjectNode();
        n.put("namespace", p.namespace());
        n.put("name", p.name());
        n.put("uid", p.uid());
        return n;
    }

    private ArrayNode interfaces(List<InterfaceReport> reports) {
        ArrayNode arr = json.createArrayNode();
        for (InterfaceReport r : reports) {
            ObjectNode i = arr.addObject();
            i.put("network", r.network() == null ? "" : r.network());
            i.put("interface", r.iface());
            i.put("mac", r.mac());
            if (r.mtu() == null) i.putNull("mtu"); else i.put("mtu", r.mtu());
            ArrayNode ips = i.putArray("ips");
            r.ips().forEach(ips::add);
            i.put("sandbox", r.sandbox());
            i.put("error", r.error());
            if (r.skipped()) i.put("skipped", true);
        }
        return arr;
    }

    /** The result event: id {@code <requestId>/result}, or {@code <requestId>/pending} for the interim answer. */
    public String result(Commands.Result r) {
        ObjectNode d = json.createObjectNode();
        d.put("requestId", r.requestId());
        d.put("node", node);
        d.set("pod", podNode(r.pod()));
        d.put("ok", r.ok());
        d.put("pending", r.pending());
        d.put("sandbox", r.sandbox());
        d.set("interfaces", interfaces(r.interfaces()));
        if (r.errorReason() == null) d.putNull("error");
        else d.putObject("error").put("reason", r.errorReason()).put("message", r.errorMessage());
        if (r.containerId() != null) d.put("containerId", r.containerId());
        if (r.primary() != null) d.set("primary", primary(r.primary()));
        return envelope(r.requestId() + (r.pending() ? "/pending" : "/result"), RESULT, r.pod().subject(), d).toString();
    }

    private ObjectNode primary(PrimaryNetwork p) {
        ObjectNode n = json.createObjectNode();
        n.put("name", p.name());
        n.put("interface", p.iface());
        n.put("mac", p.mac());
        ArrayNode ips = n.putArray("ips");
        p.ips().forEach(ips::add);
        n.set("dns", json.valueToTree(p.dns()));
        return n;
    }

    /** {@code event}: added, removed (diagnostics), or waiting (the sandbox waits with none of the pod's networks in it). */
    public String sandbox(Commands.Sandbox sb, String event) {
        ObjectNode d = json.createObjectNode();
        d.put("node", node);
        d.set("pod", podNode(sb.pod()));
        d.put("containerId", sb.containerId());
        d.put("netns", sb.netns());
        d.put("event", event);
        return envelope("sandbox/" + node + "/" + sb.pod().uid() + "/" + sb.containerId() + "/" + event, SANDBOX, sb.pod().subject(), d).toString();
    }

    public String inventory(String id, Map<Commands.Sandbox, List<InterfaceReport>> sandboxes) {
        ObjectNode d = json.createObjectNode();
        d.put("node", node);
        ArrayNode arr = d.putArray("sandboxes");
        sandboxes.forEach((sb, ifs) -> {
            ObjectNode s = arr.addObject();
            s.set("pod", podNode(sb.pod()));
            s.put("netns", sb.netns());
            s.set("interfaces", interfaces(ifs));
        });
        return envelope(id, INVENTORY, node, d).toString();
    }
}
