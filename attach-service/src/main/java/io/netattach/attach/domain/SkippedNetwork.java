package io.netattach.attach.domain;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One entry of the {@code netattach.io/skipped-networks} pod annotation: an element of the networks annotation
 * that the pod's node could not make because its kernel lacks the interface kind, left out on purpose
 * ({@code netattach.attach.skip-unsupported-kinds=true}). It counts as observed, so the controller does not
 * try again for this pod; a new pod (a new sandbox, maybe on another node) is tried afresh.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record SkippedNetwork(String name, @JsonProperty("interface") String iface, String node, String reason) {
    public String key() {
        return name + "@" + iface;
    }
}
