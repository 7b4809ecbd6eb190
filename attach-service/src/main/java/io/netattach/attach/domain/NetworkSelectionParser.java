package io.netattach.attach.domain;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.netattach.ip.InvalidIpLiteral;
import io.netattach.ip.IpLiterals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads the {@code k8s.v1.cni.cncf.io/networks} annotation the way Multus does (NPWG multi-net spec v1.3):
 * <ul>
 *   <li>a value containing any of {@code [ { "} is a JSON list of selection objects;</li>
 *   <li>anything else is the comma syntax {@code [ns/]name[@interface]}, whitespace around parts ignored;</li>
 *   <li>elements without an interface name get {@code net<position>}, position counting every element
 *       (Multus: the cluster network is delegate 0, the annotation's elements are 1..N).</li>
 * </ul>
 * Where Multus leaves a value for the CNI plugin or the kernel to refuse later (an interface name in JSON,
 * an empty name, a duplicate interface), this parser refuses it now, naming the element and the field.
 */
public final class NetworkSelectionParser {
    private static final ObjectMapper JSON = JsonMapper.builder()
            .disable(JsonReadFeature.ALLOW_JAVA_COMMENTS).build();
    // DNS-1123 label: what Multus requires of both parts of the comma syntax and what namespaces are.
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    // DNS-1123 subdomain: what Kubernetes allows as the name of a NAD (or an IPAMClaim).
    private static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    private static final int IFNAMSIZ = 16;

    private NetworkSelectionParser() {
    }

    /**
     * @param annotation       the raw annotation value (null or blank: no secondary networks)
     * @param defaultNamespace the pod's namespace, used where an element names none
     */
    public static List<NetworkSelection> parse(String annotation, String defaultNamespace) throws InvalidSelectionException {
        if (annotation == null || annotation.isBlank()) return List.of();
        if (defaultNamespace == null || !DNS_LABEL.matcher(defaultNamespace).matches() || defaultNamespace.length() > 63) {
            throw new InvalidSelectionException("\"namespace\" is not a valid namespace name: " + quote(defaultNamespace));
        }
        List<NetworkSelection> raw = containsAny(annotation, "[{\"")
                ? parseJson(annotation, defaultNamespace)
                : parseCommaList(annotation, defaultNamespace);
        if (raw.isEmpty()) return raw;
        return checkInterfaceNamesUnique(raw);
    }

    // ---- comma syntax ------------------------------------------------------------------------------------

    private static List<NetworkSelection> parseCommaList(String annotation, String defaultNamespace) throws InvalidSelectionException {
        List<NetworkSelection> result = new ArrayList<>();
        String[] items = annotation.split(",", -1);
        for (int i = 0; i < items.length; i++) {
            int position = i + 1;
            String where = "element " + position + " (" + quote(items[i].strip()) + ")";
            String item = items[i].strip();
            if (item.isEmpty()) throw new InvalidSelectionException(where + ": empty network reference (stray comma?)");
            String[] slash = item.split("/", -1);
            if (slash.length > 2) throw new InvalidSelectionException(where + ": more than one '/' (expected [namespace/]name[@interface])");
            String namespace = slash.length == 2 ? slash[0].strip() : null;
            String rest = slash.length == 2 ? slash[1] : slash[0];
            String[] at = rest.split("@", -1);
            if (at.length > 2) throw new InvalidSelectionException(where + ": more than one '@' (expected [namespace/]name[@interface])");
            String name = at[0].strip();
            String iface = at.length == 2 ? at[1].strip() : "";
            // As Multus: "/name" names the pod's own namespace.
            if (namespace != null && namespace.isEmpty()) namespace = null;
            if (namespace != null) requireLabel(where, "namespace", namespace);
            if (name.isEmpty()) throw new InvalidSelectionException(where + ": empty network name");
            // Multus requires the label pattern in the comma syntax (no dots) but no label length; a NAD name has at most 253.
            if (!DNS_LABEL.matcher(name).matches() || name.length() > 253) {
                throw new InvalidSelectionException(where + ": network name " + quote(name)
                        + " does not follow the DNS-1123 label pattern (lower case alphanumerics and '-', starting and ending alphanumerically;"
                        + " at most 253 characters; a name with dots needs the JSON syntax)");
            }
            String request = iface.isEmpty() ? null : iface;
            if (request != null) requireInterfaceName(where, "interface", request);
            result.add(selection(position, namespace == null ? defaultNamespace : namespace, name, request,
                    null, null, null, null, null, null, null, null));
        }
        return result;
    }

    // ---- JSON syntax -------------------------------------------------------------------------------------

    private static List<NetworkSelection> parseJson(String annotation, String defaultNamespace) throws InvalidSelectionException {
        JsonNode root;
        try {
            root = JSON.readTree(annotation);
        } catch (JsonProcessingException e) {
            throw new InvalidSelectionException("annotation is not valid JSON: " + e.getOriginalMessage()
                    + " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")");
        }
        if (root == null || !root.isArray()) {
            throw new InvalidSelectionException("annotation is JSON but not a list: expected [{\"name\": ...}, ...], got a "
                    + (root == null ? "empty document" : kind(root)));
        }
        List<NetworkSelection> result = new ArrayList<>();
        int position = 0;
        for (JsonNode element : root) {
            position++;
            String where = "element " + position;
            if (!element.isObject()) throw new InvalidSelectionException(where + ": expected an object, got " + kind(element) + " " + element);
            // Go's encoding/json matches keys case-insensitively; Multus inherits that, so do we.
            Map<String, JsonNode> fields = new HashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = element.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                fields.put(f.getKey().toLowerCase(Locale.ROOT), f.getValue());
            }
            String name = string(where, fields, "name");
            if (name == null || name.isEmpty()) throw new InvalidSelectionException(where + ": \"name\" is required");
            if (!DNS_SUBDOMAIN.matcher(name).matches() || name.length() > 253) {
                throw new InvalidSelectionException(where + ": \"name\" is not a valid NetworkAttachmentDefinition name (DNS-1123 subdomain): " + quote(name));
            }
            String namespace = string(where, fields, "namespace");
            if (namespace == null || namespace.isEmpty()) {
                namespace = defaultNamespace;
            } else {
                requireLabel(where, "namespace", namespace);
            }
            String request = string(where, fields, "interface");
            if (request == null || request.isEmpty()) {
                // "interfaceRequest": Multus still reads this pre-3.2 spelling when "interface" is absent
                request = string(where, fields, "interfacerequest");
            }
            if (request != null && request.isEmpty()) request = null;
            if (request != null) requireInterfaceName(where, "interface", request);

            List<String> ips = stringList(where, fields, "ips");
            if (ips != null) {
                for (String ip : ips) {
                    String problem = ipProblem(ip, true);
                    if (problem != null) throw new InvalidSelectionException(where + ": \"ips\" entry " + quote(ip) + " " + problem);
                }
            }
            String mac = emptyToNull(string(where, fields, "mac"));
            if (mac != null && !Addresses.isMac48(mac)) {
                throw new InvalidSelectionException(where + ": \"mac\" is not a valid MAC address: " + quote(mac));
            }
            List<String> defaultRoute = stringList(where, fields, "default-route");
            if (defaultRoute != null) {
                for (String gw : defaultRoute) {
                    String problem = ipProblem(gw, false);
                    if (problem != null) throw new InvalidSelectionException(where + ": \"default-route\" entry " + quote(gw) + " " + problem);
                }
            }
            JsonNode cniArgs = object(where, fields, "cni-args");
            JsonNode portMappings = portMappings(where, fields.get("portmappings"));
            JsonNode bandwidth = bandwidth(where, fields.get("bandwidth"));
            String guid = emptyToNull(string(where, fields, "infiniband-guid"));
            if (guid != null && Addresses.hardwareAddressLength(guid) < 0) {
                throw new InvalidSelectionException(where + ": \"infiniband-guid\" is not a valid GUID: " + quote(guid));
            }
            String claim = emptyToNull(string(where, fields, "ipam-claim-reference"));
            if (claim != null && (!DNS_SUBDOMAIN.matcher(claim).matches() || claim.length() > 253)) {
                throw new InvalidSelectionException(where + ": \"ipam-claim-reference\" is not a valid IPAMClaim name (DNS-1123 subdomain): " + quote(claim));
            }
            result.add(selection(position, namespace, name, request, ips, mac, defaultRoute, cniArgs, portMappings, bandwidth, guid, claim));
        }
        return result;
    }

    /** Why {@code text} is not an address (or, with {@code orCidr}, a CIDR) under the suite's rules (ipam-service/src/ip-literals/); null when it is. */
    private static String ipProblem(String text, boolean orCidr) {
        try {
            if (orCidr) IpLiterals.addressOrCidr("ip", text);
            else IpLiterals.address("ip", text);
            return null;
        } catch (InvalidIpLiteral e) {
            return e.reason();
        }
    }

    private static JsonNode portMappings(String where, JsonNode node) throws InvalidSelectionException {
        if (node == null || node.isNull()) return null;
        if (!node.isArray()) throw new InvalidSelectionException(where + ": \"portMappings\" must be a list, got " + kind(node) + " " + node);
        int i = 0;
        for (JsonNode pm : node) {
            i++;
            String at = where + ": \"portMappings\" entry " + i;
            if (!pm.isObject()) throw new InvalidSelectionException(at + " must be an object, got " + kind(pm) + " " + pm);
            for (String port : List.of("containerPort", "hostPort")) {
                JsonNode p = pm.get(port);
                if (p == null || p.isNull()) continue;
                if (!p.isIntegralNumber() || p.asLong() < 0 || p.asLong() > 65535) {
                    throw new InvalidSelectionException(at + ": \"" + port + "\" must be a port number 0-65535, got " + p);
                }
            }
            JsonNode protocol = pm.get("protocol");
            if (protocol != null && !protocol.isNull() && !protocol.isTextual()) {
                throw new InvalidSelectionException(at + ": \"protocol\" must be a string, got " + protocol);
            }
            JsonNode hostIp = pm.get("hostIP");
            if (hostIp != null && !hostIp.isNull() && (!hostIp.isTextual() || !(hostIp.asText().isEmpty() || ipProblem(hostIp.asText(), false) == null))) {
                throw new InvalidSelectionException(at + ": \"hostIP\" is not an IP address: " + hostIp);
            }
        }
        return node;
    }

    private static JsonNode bandwidth(String where, JsonNode node) throws InvalidSelectionException {
        if (node == null || node.isNull()) return null;
        if (!node.isObject()) throw new InvalidSelectionException(where + ": \"bandwidth\" must be an object, got " + kind(node) + " " + node);
        for (String f : List.of("ingressRate", "ingressBurst", "egressRate", "egressBurst")) {
            JsonNode v = node.get(f);
            if (v != null && !v.isNull() && (!v.isIntegralNumber() || v.asLong() < 0)) {
                throw new InvalidSelectionException(where + ": \"bandwidth\"." + f + " must be a non-negative integer, got " + v);
            }
        }
        return node;
    }

    // ---- shared checks -----------------------------------------------------------------------------------

    private static List<NetworkSelection> checkInterfaceNamesUnique(List<NetworkSelection> selections) throws InvalidSelectionException {
        Map<String, Integer> seen = new HashMap<>();
        for (NetworkSelection s : selections) {
            Integer first = seen.putIfAbsent(s.interfaceName(), s.position());
            if (first != null) {
                throw new InvalidSelectionException("element " + s.position() + ": interface " + quote(s.interfaceName())
                        + " is already used by element " + first + " (give each element its own \"interface\")");
            }
        }
        return List.copyOf(selections);
    }

    /** The kernel's dev_valid_name: 1..15 bytes, not "." or "..", no '/', ':' or whitespace. */
    static void requireInterfaceName(String where, String field, String name) throws InvalidSelectionException {
        String problem = null;
        if (name.getBytes(StandardCharsets.UTF_8).length >= IFNAMSIZ) problem = "longer than 15 bytes";
        else if (name.equals(".") || name.equals("..")) problem = "'.' and '..' are not allowed";
        else if (name.indexOf('/') >= 0) problem = "contains '/'";
        else if (name.indexOf(':') >= 0) problem = "contains ':'";
        else if (name.chars().anyMatch(c -> Character.isWhitespace(c) || Character.isSpaceChar(c) || Character.isISOControl(c))) problem = "contains whitespace or a control character";
        // the kernel tests bytes with Latin-1 isspace: a UTF-8 byte 0xA0 (in U+00A0, but also in e.g. U+0120) counts as space
        else if (containsByte(name.getBytes(StandardCharsets.UTF_8), (byte) 0xA0)) problem = "contains a byte the kernel reads as whitespace (0xA0)";
        if (problem != null) {
            throw new InvalidSelectionException(where + ": \"" + field + "\" is not a valid interface name (" + problem + "): " + quote(name));
        }
    }

    private static void requireLabel(String where, String field, String value) throws InvalidSelectionException {
        if (!DNS_LABEL.matcher(value).matches() || value.length() > 63) {
            throw new InvalidSelectionException(where + ": \"" + field + "\" is not a valid namespace name (DNS-1123 label): " + quote(value));
        }
    }

    private static String string(String where, Map<String, JsonNode> fields, String key) throws InvalidSelectionException {
        JsonNode v = fields.get(key);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw new InvalidSelectionException(where + ": \"" + key + "\" must be a string, got " + kind(v) + " " + v);
        return v.asText();
    }

    private static List<String> stringList(String where, Map<String, JsonNode> fields, String key) throws InvalidSelectionException {
        JsonNode v = fields.get(key);
        if (v == null || v.isNull()) return null;
        if (!v.isArray()) throw new InvalidSelectionException(where + ": \"" + key + "\" must be a list of strings, got " + kind(v) + " " + v);
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual()) throw new InvalidSelectionException(where + ": \"" + key + "\" must be a list of strings, got an entry " + e);
            out.add(e.asText());
        }
        return List.copyOf(out);
    }

    private static JsonNode object(String where, Map<String, JsonNode> fields, String key) throws InvalidSelectionException {
        JsonNode v = fields.get(key);
        if (v == null || v.isNull()) return null;
        if (!v.isObject()) throw new InvalidSelectionException(where + ": \"" + key + "\" must be an object, got " + kind(v) + " " + v);
        return v;
    }

    private static NetworkSelection selection(int position, String namespace, String name, String request, List<String> ips, String mac,
                                              List<String> defaultRoute, JsonNode cniArgs, JsonNode portMappings, JsonNode bandwidth,
                                              String guid, String claim) {
        return new NetworkSelection(position, namespace, name, request != null ? request : "net" + position, request,
                ips, mac, defaultRoute, cniArgs, portMappings, bandwidth, guid, claim);
    }

    private static String kind(JsonNode n) {
        return switch (n.getNodeType()) {
            case ARRAY -> "a list";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> n.getNodeType().name().toLowerCase(Locale.ROOT);
        };
    }

    private static boolean containsByte(byte[] bytes, byte wanted) {
        for (byte b : bytes) if (b == wanted) return true;
        return false;
    }

    private static boolean containsAny(String s, String chars) {
        for (char c : chars.toCharArray()) if (s.indexOf(c) >= 0) return true;
        return false;
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    static String quote(String s) {
        if (s == null) return "null";
        String shown = s.length() > 80 ? s.substring(0, 77) + "..." : s;
        return "\"" + shown.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
