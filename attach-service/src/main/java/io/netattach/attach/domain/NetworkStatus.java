package io.netattach.attach.domain;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;

/**
 * One entry of the {@code k8s.v1.cni.cncf.io/network-status} annotation (NPWG spec v1.3 section 4.1.2): exactly
 * the spec's fields. {@code name} is the NAD as {@code <namespace>/<name>} (the cluster network's entry: the name
 * of the node's CNI configuration); ips carry no prefix length.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record NetworkStatus(
        String name,
        @JsonProperty("interface") String iface,
        List<String> ips,
        String mac,
        Integer mtu,
        @JsonProperty("default") Boolean isDefault,
        JsonNode dns,
        List<String> gateway,
        @JsonProperty("device-info") JsonNode deviceInfo) {

    /** Entries of secondary networks: named {@code ns/nad}; the cluster network's entry has no namespace. Not a field. */
    @JsonIgnore
    public boolean isSecondary() {
        return name != null && name.contains("/") && iface != null;
    }

    @JsonIgnore
    public String key() {
        return name + "@" + iface;
    }
}
