package io.netattach.policy.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.netattach.policy.domain.Decision;
import io.netattach.policy.domain.InvalidRequest;
import io.netattach.policy.domain.PodRef;
import io.netattach.policy.domain.PolicyDecision;
import io.netattach.policy.domain.PolicyRequest;
import io.netattach.policy.domain.Selection;

import java.util.List;
import java.util.Map;

/** The JSON payloads of docs/asyncapi.yaml that policy-service reads and writes, and their mapping to the domain. */
public final class Messages {
    private Messages() {}

    public record PodRefData(String namespace, String name, String uid, String serviceAccount, Map<String, String> labels) {
        static PodRefData of(PodRef p) {
            return new PodRefData(p.namespace(), p.name(), p.uid(), p.serviceAccount(), p.labels());
        }
    }

    public record SelectionData(String namespace, String name, @JsonProperty("interface") String interfaceName,
                                List<String> ips, String mac, List<String> defaultRoute) {
        /** The NAD as namespace/name, as far as the fields allow. */
        String network() {
            return namespace + "/" + name;
        }
    }

    public record PolicyRequestData(String requestId, String cluster, PodRefData pod, List<SelectionData> selections) {
        public PolicyRequest toDomain() {
            if (pod == null) throw new InvalidRequest("pod: missing");
            if (selections == null) throw new InvalidRequest("selections: missing");
            PodRef p = new PodRef(pod.namespace(), pod.name(), pod.uid(), pod.serviceAccount(), pod.labels());
            List<Selection> s = selections.stream()
                    .map(x -> new Selection(x.namespace(), x.name(), x.interfaceName(), x.ips(), x.mac(), x.defaultRoute())).toList();
            return new PolicyRequest(requestId, cluster, p, s);
        }
    }

    public record DecisionData(String network, boolean allowed, String rule, String reason) {}

    public record PolicyDecisionData(String requestId, String podUid, boolean allowed, String reason, List<DecisionData> decisions) {
        public static PolicyDecisionData of(PolicyDecision d) {
            return new PolicyDecisionData(d.requestId(), d.pod().uid(), d.allowed(), d.reason(),
                    d.decisions().stream().map(x -> new DecisionData(x.network(), x.allowed(), x.rule(), x.reason())).toList());
        }
    }

    public record AuditData(String outcome, PodRefData pod, String network, @JsonProperty("interface") String interfaceName,
                            List<String> ips, String rule, String reason, Map<String, Object> inputs) {
        public static AuditData of(PodRef pod, Decision d) {
            @SuppressWarnings("unchecked")
            List<String> ips = d.inputs().get("ips") instanceof List<?> l ? (List<String>) l : null;
            return new AuditData(d.allowed() ? "allowed" : "denied", PodRefData.of(pod), d.network(), d.interfaceName(), ips,
                    d.rule(), d.reason(), d.inputs());
        }
    }

    /** A CloudEvents 1.0 event in structured JSON mode: the whole event is the Kafka record value. */
    public record CloudEvent(String specversion, String id, String source, String type, String subject, String time,
                             String datacontenttype, String netattachcluster, Object data) {
        public static CloudEvent of(String id, String source, String type, String subject, String cluster, Object data) {
            return new CloudEvent("1.0", id, source, type, subject, java.time.Instant.now().toString(), "application/json", cluster, data);
        }
    }
}
