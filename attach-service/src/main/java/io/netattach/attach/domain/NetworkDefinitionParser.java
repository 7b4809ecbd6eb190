package io.netattach.attach.domain;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Reads a NAD's spec.config the way libcni / Multus do: a conflist when it has "plugins", else a single
 * plugin config. The CNI "name" may be absent (Multus fills in the NAD name), "type" may not.
 */
public final class NetworkDefinitionParser {
    private static final ObjectMapper JSON = new ObjectMapper();

    private NetworkDefinitionParser() {
    }

    public static NetworkDefinition parse(String namespace, String name, String config, String resourceName) throws InvalidDefinitionException {
        String where = "NetworkAttachmentDefinition " + namespace + "/" + name + ": ";
        if (config == null || config.isBlank()) {
            throw new InvalidDefinitionException(where + "\"spec.config\" is empty (a config read from the node's CNI directory is not supported)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(config);
        } catch (JsonProcessingException e) {
            throw new InvalidDefinitionException(where + "\"spec.config\" is not valid JSON: " + e.getOriginalMessage()
                    + " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")");
        }
        if (root == null || !root.isObject()) throw new InvalidDefinitionException(where + "\"spec.config\" must be a JSON object");
        ObjectNode cni = (ObjectNode) root.deepCopy();
        JsonNode cniVersion = cni.get("cniVersion");
        if (cniVersion != null && !cniVersion.isTextual()) throw new InvalidDefinitionException(where + "\"spec.config\".cniVersion must be a string, got " + cniVersion);
        JsonNode cniName = cni.get("name");
        if (cniName != null && !cniName.isNull() && !cniName.isTextual()) throw new InvalidDefinitionException(where + "\"spec.config\".name must be a string, got " + cniName);
        if (cniName == null || cniName.isNull() || cniName.asText().isEmpty()) cni.put("name", name);
        JsonNode ipam;
        if (cni.has("plugins")) {
            JsonNode plugins = cni.get("plugins");
            if (!plugins.isArray() || plugins.isEmpty()) throw new InvalidDefinitionException(where + "\"spec.config\".plugins must be a non-empty list");
            ipam = null;
            for (int i = 0; i < plugins.size(); i++) {
                String at = "\"spec.config\".plugins[" + i + "]";
                JsonNode ipamHere = checkPlugin(where, at, plugins.get(i));
                if (ipam == null) ipam = ipamHere;
            }
        } else {
            ipam = checkPlugin(where, "\"spec.config\"", cni);
        }
        return new NetworkDefinition(namespace, name, cni, ipam, resourceName == null || resourceName.isEmpty() ? null : resourceName);
    }

    private static JsonNode checkPlugin(String where, String at, JsonNode plugin) throws InvalidDefinitionException {
        if (!plugin.isObject()) throw new InvalidDefinitionException(where + at + " must be an object");
        JsonNode type = plugin.get("type");
        if (type == null || !type.isTextual() || type.asText().isBlank()) throw new InvalidDefinitionException(where + at + ".type is required (the CNI plugin name)");
        JsonNode mtu = plugin.get("mtu");
        if (mtu != null && !mtu.isNull() && (!mtu.isIntegralNumber() || mtu.asLong() < 68 || mtu.asLong() > 65535)) {
            throw new InvalidDefinitionException(where + at + ".mtu must be an integer from 68 to 65535, got " + mtu);
        }
        JsonNode ipam = plugin.get("ipam");
        if (ipam == null || ipam.isNull() || (ipam.isObject() && ipam.isEmpty())) return null;
        if (!ipam.isObject()) throw new InvalidDefinitionException(where + at + ".ipam must be an object, got " + ipam);
        JsonNode ipamType = ipam.get("type");
        if (ipamType == null || !ipamType.isTextual() || ipamType.asText().isBlank()) throw new InvalidDefinitionException(where + at + ".ipam.type is required");
        return ipam;
    }
}
