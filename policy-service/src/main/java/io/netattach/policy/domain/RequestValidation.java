package io.netattach.policy.domain;

import java.util.regex.Pattern;

/** Edge checks on a request: every name, interface, address and MAC is well formed before any rule runs. */
public final class RequestValidation {
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    private static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    private static final Pattern MAC = Pattern.compile("[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}");
    private static final Pattern INTERFACE = Pattern.compile("[^/\\s:]{1,15}");

    private RequestValidation() {}

    public static void check(PolicyRequest request) {
        if (request.requestId() == null || request.requestId().isBlank()) throw new InvalidRequest("requestId: missing");
        PodRef pod = request.pod();
        if (pod == null) throw new InvalidRequest("pod: missing");
        label("pod.namespace", pod.namespace());
        subdomain("pod.name", pod.name());
        if (pod.uid() == null || pod.uid().isBlank()) throw new InvalidRequest("pod.uid: missing");
        subdomain("pod.serviceAccount", pod.serviceAccount());
        for (int i = 0; i < request.selections().size(); i++) {
            Selection s = request.selections().get(i);
            String at = "selections[" + i + "]";
            label(at + ".namespace", s.namespace());
            subdomain(at + ".name", s.name());
            if (s.interfaceName() == null || !INTERFACE.matcher(s.interfaceName()).matches()
                    || s.interfaceName().equals(".") || s.interfaceName().equals("..")) {
                throw new InvalidRequest(at + ".interface: \"" + s.interfaceName() + "\" is not a valid interface name (1-15 characters, no '/', ':' or spaces)");
            }
            for (String ip : s.ips()) Cidr.parse(at + ".ips", ip);
            if (s.mac() != null && !s.mac().isEmpty() && !MAC.matcher(s.mac()).matches()) {
                throw new InvalidRequest(at + ".mac: \"" + s.mac() + "\" is not a MAC address like 02:00:00:00:00:01");
            }
            for (String gw : s.defaultRoute()) Cidr.parseAddress(at + ".defaultRoute", gw);
        }
    }

    private static void label(String field, String value) {
        if (value == null || value.length() > 63 || !DNS_LABEL.matcher(value).matches()) {
            throw new InvalidRequest(field + ": \"" + value + "\" is not a valid namespace name (DNS label)");
        }
    }

    private static void subdomain(String field, String value) {
        if (value == null || value.length() > 253 || !DNS_SUBDOMAIN.matcher(value).matches()) {
            throw new InvalidRequest(field + ": \"" + value + "\" is not a valid Kubernetes name (DNS subdomain)");
        }
    }
}
