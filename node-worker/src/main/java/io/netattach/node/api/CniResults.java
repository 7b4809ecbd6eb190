package io.netattach.node.api;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netattach.node.domain.InterfaceReport;
import io.netattach.node.domain.PrimaryNetwork;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What the shim prints (CNI spec, "Success" and "Error" results) and what it reads of the chain's prevResult.
 * A chained plugin outputs the previous result with its own interfaces and addresses added to it.
 */
final class CniResults {
    /** CNI error codes: 1-99 are the spec's, 100 and up this plugin's own. */
    static final int INVALID_ENVIRONMENT = 4, DECODING_FAILURE = 6, TRY_AGAIN_LATER = 11, CONTAINER_UNKNOWN = 3;
    static final int ATTACH_FAILED = 100, ATTACH_REFUSED = 101, CHECK_MISMATCH = 102, INTERNAL = 999;

    private final ObjectMapper json;

    CniResults(ObjectMapper json) {
        this.json = json;
    }

    /** The previous result unchanged (its cniVersion set to the config's); with none, a minimal result of that version. */
    ObjectNode passThrough(JsonNode config, String cniVersion) {
        JsonNode prev = config.get("prevResult");
        ObjectNode r = prev != null && prev.isObject() ? ((ObjectNode) prev).deepCopy() : json.createObjectNode();
        r.put("cniVersion", cniVersion);
        return r;
    }

    /**
     * The previous result plus the interfaces netattach made, each with its addresses (pointing at it by index), in
     * the format of cniVersion: 0.3.x and 0.4.0 give each address a "version", 1.1.0 adds the interface's MTU. A
     * pre-0.3 result (ip4/ip6, no interface list) is passed through as it is.
     */
    ObjectNode withInterfaces(JsonNode config, String cniVersion, List<InterfaceReport> made, String netns) {
        ObjectNode r = passThrough(config, cniVersion);
        if (made.isEmpty() || compare(cniVersion, "0.3.0") < 0) return r;
        ArrayNode interfaces = r.withArray("interfaces");
        ArrayNode ips = r.withArray("ips");
        for (InterfaceReport i : made) {
            int index = interfaces.size();
            ObjectNode iface = interfaces.addObject().put("name", i.iface());
            if (i.mac() != null) iface.put("mac", i.mac());
            if (i.mtu() != null && compare(cniVersion, "1.1.0") >= 0) iface.put("mtu", i.mtu());
            iface.put("sandbox", netns);
            for (String ip : i.ips()) {
                ObjectNode a = ips.addObject();
                if (compare(cniVersion, "1.0.0") < 0) a.put("version", ip.contains(":") ? "6" : "4");
                a.put("address", ip).put("interface", index);
            }
        }
        return r;
    }

    ObjectNode error(String cniVersion, int code, String msg, String details) {
        ObjectNode e = json.createObjectNode().put("cniVersion", cniVersion).put("code", code).put("msg", msg);
        if (details != null) e.put("details", details);
        return e;
    }

    /**
     * The cluster network from the config and its prevResult: the config's name, the interface the runtime named
     * (CNI_IFNAME) with its MAC, the addresses on it, the result's dns. Null without a prevResult.
     */
    PrimaryNetwork primary(JsonNode config, String ifName) {
        JsonNode prev = config.get("prevResult");
        if (prev == null || !prev.isObject()) return null;
        String name = config.path("name").asText("");
        if (name.isEmpty()) return null;
        JsonNode interfaces = prev.path("interfaces");
        int index = -1;
        for (int i = 0; i < interfaces.size(); i++) {
            JsonNode n = interfaces.get(i);
            boolean inPod = !n.path("sandbox").asText("").isEmpty();
            if (inPod && n.path("name").asText("").equals(ifName)) {
                index = i;
                break;
            }
            if (inPod && index < 0) index = i;
        }
        String iface = index >= 0 ? interfaces.get(index).path("name").asText(ifName) : ifName;
        String mac = index >= 0 ? interfaces.get(index).path("mac").asText(null) : null;
        List<String> ips = new ArrayList<>();
        for (JsonNode ip : prev.path("ips")) {
            boolean mine = !ip.has("interface") || ip.path("interface").asInt(-1) == index;
            if (mine && ip.path("address").isTextual()) ips.add(ip.path("address").asText());
        }
        Map<String, Object> dns = prev.path("dns").isObject() && !prev.path("dns").isEmpty()
                ? json.convertValue(prev.get("dns"), new TypeReference<Map<String, Object>>() { }) : Map.of();
        return new PrimaryNetwork(name, iface, mac, ips, dns);
    }

    /** Compares dotted CNI versions numerically ("0.3.1" < "0.4.0" < "1.0.0"); unreadable parts count as 0. */
    static int compare(String a, String b) {
        String[] x = a.split("\\."), y = b.split("\\.");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            int c = Integer.compare(part(x, i), part(y, i));
            if (c != 0) return c;
        }
        return 0;
    }

    private static int part(String[] p, int i) {
        if (i >= p.length) return 0;
        try {
            return Integer.parseInt(p[i]);
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
