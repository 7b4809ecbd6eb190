package io.netattach.policy.domain;

import java.util.List;

/** May this pod attach to these networks? Same fields as the PolicyRequestData of docs/asyncapi.yaml. */
public record PolicyRequest(String requestId, String cluster, PodRef pod, List<Selection> selections) {
    public PolicyRequest {
        selections = selections == null ? List.of() : List.copyOf(selections);
    }
}
