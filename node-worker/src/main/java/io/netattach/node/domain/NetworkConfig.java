package io.netattach.node.domain;

import java.util.Map;

/**
 * The NAD's CNI config, read with the field names and defaults of the reference plugin of each type
 * (containernetworking/plugins). Any other type is {@link Delegated}.
 */
public sealed interface NetworkConfig {
    /** macvlan: master "" = the node's default-route interface; mode "" = bridge; mtu 0 = inherit. */
    record Macvlan(String master, String mode, int mtu) implements NetworkConfig {}

    /** bridge: bridge "" = cni0; isDefaultGateway implies isGateway; ipMasq is read to be refused natively. */
    record Bridge(String bridge, boolean isGateway, boolean isDefaultGateway, boolean hairpinMode, boolean promiscMode,
                  int vlan, int mtu, boolean ipMasq) implements NetworkConfig {}

    /** ipvlan: master "" = default-route interface; mode "" = l2. */
    record Ipvlan(String master, String mode, int mtu) implements NetworkConfig {}

    /** vlan: master and vlanId are required. */
    record Vlan(String master, int vlanId, int mtu) implements NetworkConfig {}

    /** host-device: move an existing device ("device", or the one with MAC "hwaddr") into the pod. */
    record HostDevice(String device, String hwaddr) implements NetworkConfig {}

    record Delegated(String type) implements NetworkConfig {}

    static NetworkConfig parse(Map<String, Object> c) {
        Object plugins = c.get("plugins");
        if (plugins != null) return new Delegated("conflist");
        String type = str(c, "type", null);
        if (type == null || type.isBlank()) throw new IllegalArgumentException("cniConfig.type is missing");
        return switch (type) {
            case "macvlan" -> new Macvlan(str(c, "master", ""), str(c, "mode", ""), num(c, "mtu", 0));
            case "bridge" -> new Bridge(str(c, "bridge", "cni0"), bool(c, "isGateway") || bool(c, "isDefaultGateway"),
                    bool(c, "isDefaultGateway"), bool(c, "hairpinMode"), bool(c, "promiscMode"), num(c, "vlan", 0), num(c, "mtu", 0), bool(c, "ipMasq"));
            case "ipvlan" -> new Ipvlan(str(c, "master", ""), str(c, "mode", ""), num(c, "mtu", 0));
            case "vlan" -> {
                if (!c.containsKey("vlanId")) throw new IllegalArgumentException("cniConfig.vlanId is required for type vlan");
                String master = str(c, "master", "");
                if (master.isEmpty()) throw new IllegalArgumentException("cniConfig.master is required for type vlan");
                yield new Vlan(master, num(c, "vlanId", 0), num(c, "mtu", 0));
            }
            case "host-device" -> {
                String dev = str(c, "device", "");
                String hw = str(c, "hwaddr", "");
                if (dev.isEmpty() && hw.isEmpty()) throw new IllegalArgumentException("cniConfig.device (or hwaddr) is required for type host-device");
                yield new HostDevice(dev, hw);
            }
            default -> new Delegated(type);
        };
    }

    private static String str(Map<String, Object> c, String k, String dflt) {
        Object v = c.get(k);
        if (v == null) return dflt;
        if (!(v instanceof String s)) throw new IllegalArgumentException("cniConfig." + k + " must be a string, got " + v);
        return s.isEmpty() && dflt != null ? dflt : s;
    }

    private static int num(Map<String, Object> c, String k, int dflt) {
        Object v = c.get(k);
        if (v == null) return dflt;
        if (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
            if (n.intValue() < 0) throw new IllegalArgumentException("cniConfig." + k + " " + v + " must not be negative");
            return n.intValue();
        }
        throw new IllegalArgumentException("cniConfig." + k + " must be an integer, got " + v);
    }

    private static boolean bool(Map<String, Object> c, String k) {
        Object v = c.get(k);
        if (v == null) return false;
        if (v instanceof Boolean b) return b;
        throw new IllegalArgumentException("cniConfig." + k + " must be true or false, got " + v);
    }
}
