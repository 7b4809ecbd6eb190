package io.netattach.attach.domain;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A NetworkAttachmentDefinition, reduced to what an attachment needs.
 *
 * @param cniConfig    spec.config parsed: one plugin config or a conflist (has "plugins")
 * @param ipam         the raw "ipam" section (of the single config, or of the first plugin of a conflist that
 *                     has one), or null when the network assigns no addresses
 * @param resourceName the {@code k8s.v1.cni.cncf.io/resourceName} annotation, or null
 */
public record NetworkDefinition(String namespace, String name, JsonNode cniConfig, JsonNode ipam, String resourceName) {
    public String key() {
        return namespace + "/" + name;
    }
}
