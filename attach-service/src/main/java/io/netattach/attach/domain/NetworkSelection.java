package io.netattach.attach.domain;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;

/**
 * One element of a pod's {@code k8s.v1.cni.cncf.io/networks} annotation (NPWG multi-net spec v1.3),
 * validated, with the namespace defaulted and the interface name resolved.
 *
 * @param position         1-based position in the annotation (Multus numbers default names by it)
 * @param interfaceName    the name the interface gets in the pod: the request, or net&lt;position&gt;
 * @param interfaceRequest the name as written, or null
 * @param cniArgs          JSON object or null; portMappings JSON array or null; bandwidth JSON object or null
 */
public record NetworkSelection(
        int position,
        String namespace,
        String name,
        String interfaceName,
        String interfaceRequest,
        List<String> ips,
        String mac,
        List<String> defaultRoute,
        JsonNode cniArgs,
        JsonNode portMappings,
        JsonNode bandwidth,
        String infinibandGuid,
        String ipamClaimReference) {

    /** The NAD this element refers to, as {@code <namespace>/<name>} (the network-status "name"). */
    public String network() {
        return namespace + "/" + name;
    }
}
