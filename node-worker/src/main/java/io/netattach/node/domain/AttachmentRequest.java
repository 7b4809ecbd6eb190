package io.netattach.node.domain;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One interface to make in a pod, as attach-service sends it: the NAD's CNI config and the addresses
 * ipam-service allocated. The node never runs IPAM itself. {@code skipIfUnsupported}: if this node's kernel
 * cannot make the interface's kind at all (reason {@code Unsupported}), the rest of the command goes ahead
 * without it and the interface is reported as skipped, instead of failing the whole command.
 */
public record AttachmentRequest(String network, String iface, Map<String, Object> cniConfig, List<String> ips,
                                List<String> gateways, List<RouteRequest> routes, String mac, boolean defaultRoute,
                                Map<String, Object> cniArgs, List<Object> portMappings, Map<String, Object> bandwidth,
                                boolean skipIfUnsupported) {
    public AttachmentRequest(String network, String iface, Map<String, Object> cniConfig, List<String> ips,
                             List<String> gateways, List<RouteRequest> routes, String mac, boolean defaultRoute) {
        this(network, iface, cniConfig, ips, gateways, routes, mac, defaultRoute, null, null, null, false);
    }

    public AttachmentRequest(String network, String iface, Map<String, Object> cniConfig, List<String> ips,
                             List<String> gateways, List<RouteRequest> routes, String mac, boolean defaultRoute,
                             Map<String, Object> cniArgs, List<Object> portMappings, Map<String, Object> bandwidth) {
        this(network, iface, cniConfig, ips, gateways, routes, mac, defaultRoute, cniArgs, portMappings, bandwidth, false);
    }

    public AttachmentRequest {
        cniConfig = cniConfig == null ? Map.of() : cniConfig;
        ips = ips == null ? List.of() : List.copyOf(ips);
        gateways = gateways == null ? List.of() : List.copyOf(gateways);
        routes = routes == null ? List.of() : List.copyOf(routes);
    }

    /**
     * A stable fingerprint of everything that shapes the interface (not {@code skipIfUnsupported}: it shapes
     * the command, not the interface), so a redelivered attach can be recognised
     * on the interface itself (it is stored in the interface alias).
     */
    public String fingerprint() {
        String canonical = canonical(cniConfig) + "|" + ips + "|" + gateways + "|" + routes + "|" + mac + "|" + defaultRoute
                + (cniArgs == null && portMappings == null && bandwidth == null ? "" : "|" + canonical(cniArgs) + "|" + canonical(portMappings) + "|" + canonical(bandwidth));
        return shortHash(canonical);
    }

    /** 12 hex digits of SHA-256. */
    public static String shortHash(String s) {
        byte[] d = sha256().digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return java.util.HexFormat.of().formatHex(d, 0, 6);
    }

    private static final java.security.MessageDigest SHA256;
    static {
        try {
            SHA256 = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A fresh SHA-256 digest: a clone of one looked up once (the provider look-up is the costly part, every attach). */
    private static java.security.MessageDigest sha256() {
        try {
            return (java.security.MessageDigest) SHA256.clone();
        } catch (CloneNotSupportedException e) {
            try {
                return java.security.MessageDigest.getInstance("SHA-256");
            } catch (java.security.NoSuchAlgorithmException n) {
                throw new IllegalStateException(n);
            }
        }
    }

    private static String canonical(Object o) {
        if (o instanceof Map<?, ?> m) {
            TreeMap<String, String> sorted = new TreeMap<>();
            m.forEach((k, v) -> sorted.put(String.valueOf(k), canonical(v)));
            return sorted.toString();
        }
        if (o instanceof List<?> l) return l.stream().map(AttachmentRequest::canonical).toList().toString();
        return String.valueOf(o);
    }
}
