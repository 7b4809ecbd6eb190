package io.netattach.ipam.domain;

import java.util.regex.Pattern;

/**
 * Who holds an address. The pod UID, not the name, identifies the pod: StatefulSet pods come back with the
 * same name and a new UID. interface may be null only when releasing (= every interface of the pod).
 */
public record Owner(String cluster, String namespace, String pod, String podUid, String iface) {

    private static final Pattern INTERFACE = Pattern.compile("[A-Za-z0-9_.\\-@+]{1,15}");

    /** Checks every field at the edge; the message names the field and the value. */
    public Owner validated(boolean interfaceRequired) {
        require("owner.cluster", cluster);
        require("owner.namespace", namespace);
        require("owner.pod", pod);
        require("owner.podUid", podUid);
        if (iface == null) {
            if (interfaceRequired) throw IpamException.missing("owner.interface");
        } else if (!INTERFACE.matcher(iface).matches() || iface.equals(".") || iface.equals("..")) {
            throw IpamException.invalid("owner.interface", iface, "is not a valid interface name (1-15 characters of letters, digits, '_', '-', '.')");
        }
        return this;
    }

    private static void require(String field, String value) {
        if (value == null || value.isBlank()) throw IpamException.missing(field);
        if (value.length() > 253) throw IpamException.invalid(field, value, "is longer than 253 characters");
    }

    public String podRef() {
        return namespace + "/" + pod;
    }
}
