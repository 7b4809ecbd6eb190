package io.netattach.attach.orchestration;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;

/** What IPAM gave one interface (or the annotation's static addresses when the NAD has no ipam section). */
record Allocation(String iface, List<String> ips, List<String> gateways, JsonNode routes, JsonNode dns, boolean fromIpam) {
}
