package io.netattach.attach.orchestration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netattach.attach.domain.InvalidSelectionException;
import io.netattach.attach.domain.NetworkDefinition;
import io.netattach.attach.domain.NetworkSelection;
import io.netattach.attach.domain.NetworkSelectionParser;
import io.netattach.attach.kafka.Topic;
import io.netattach.attach.kube.ClusterView;
import io.netattach.attach.kube.PodView;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Dry run of everything the controller would do for a pod: selections, NADs, the policy decision, the
 * addresses IPAM would give (dryRun=true, nothing kept), the node and the node command. Nothing is written
 * to the cluster and no interface is made. Note: policy-service audits the decision it is asked for.
 */
@ApplicationScoped
public class Explainer {
    @Inject ClusterView cluster;
    @Inject Exchange exchange;
    @Inject ObjectMapper json;
    @ConfigProperty(name = "netattach.cluster-id") String clusterId;
    @ConfigProperty(name = "netattach.attach.skip-unsupported-kinds", defaultValue = "false") boolean skipUnsupportedKinds;
    @ConfigProperty(name = "netattach.attach.policy-timeout", defaultValue = "10s") Duration policyTimeout;
    @ConfigProperty(name = "netattach.attach.ipam-timeout", defaultValue = "10s") Duration ipamTimeout;

    public ObjectNode explain(PodView pod) {
        ObjectNode out = json.createObjectNode();
        out.putObject("pod").put("namespace", pod.namespace()).put("name", pod.name()).put("uid", pod.uid()).put("node", pod.nodeName());
        List<NetworkSelection> selections;
        try {
            selections = NetworkSelectionParser.parse(pod.networks(), pod.namespace());
        } catch (InvalidSelectionException e) {
            out.putObject("selections").put("error", PodView.NETWORKS + ": " + e.getMessage());
            return out;
        }
        out.set("selections", json.valueToTree(selections));
        if (selections.isEmpty()) return out;

        ArrayNode networks = out.putArray("networks");
        Map<NetworkSelection, NetworkDefinition> defs = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        for (NetworkSelection s : selections) {
            ObjectNode n = networks.addObject().put("network", s.network()).put("interface", s.interfaceName());
            switch (cluster.definition(s.network()).orElse(null)) {
                case ClusterView.Valid v -> {
                    defs.put(s, v.definition());
                    n.put("found", true);
                    n.set("cniConfig", v.definition().cniConfig());
                    n.set("ipam", v.definition().ipam());
                    n.put("resourceName", v.definition().resourceName());
                }
                case ClusterView.Invalid i -> {
                    n.put("found", true).put("error", i.reason());
                    problems.add(i.reason());
                }
                case null -> {
                    String why = "network-attachment-definition \"" + s.name() + "\" not found in namespace \"" + s.namespace() + "\"";
                    n.put("found", false).put("error", why);
                    problems.add(why);
                }
            }
        }
        if (!problems.isEmpty()) {
            out.put("outcome", "the pod would wait: " + String.join("; ", problems));
            return out;
        }
        // ids unique per explain run: a dry run must get a fresh answer, not the cached one of an earlier run
        String hash = "run-" + Long.toHexString(System.currentTimeMillis()) + Long.toHexString(System.nanoTime() & 0xffff);
        String policyId = "explain/policy/" + pod.uid() + "/" + hash;
        try {
            out.set("policy", exchange.ask(Topic.POLICY_REQUESTS, pod.uid(), policyId, "io.netattach.policy.request", pod,
                    Payloads.policyRequest(policyId, clusterId, pod, selections), policyTimeout, 1, null));
        } catch (StepFailure f) {
            out.putObject("policy").put("error", f.getMessage());
        }
        ArrayNode addresses = out.putArray("addresses");
        Map<String, Allocation> allocations = new LinkedHashMap<>();
        for (var e : defs.entrySet()) {
            NetworkSelection s = e.getKey();
            ObjectNode a = addresses.addObject().put("network", s.network()).put("interface", s.interfaceName());
            if (e.getValue().ipam() == null) {
                a.put("note", "the NAD has no ipam section: only the annotation's static addresses");
                a.set("ips", Payloads.strings(s.ips()));
                allocations.put(s.interfaceName(), new Allocation(s.interfaceName(), s.ips() == null ? List.of() : s.ips(), List.of(), null, null, false));
                continue;
            }
            String id = "explain/alloc/" + clusterId + "/" + pod.uid() + "/" + s.interfaceName() + "/" + hash;
            ObjectNode request = Payloads.allocate(id, clusterId, pod, s, e.getValue());
            request.put("dryRun", true);
            try {
                JsonNode r = exchange.ask(Topic.IPAM_REQUESTS, pod.uid(), id, "io.netattach.ipam.allocate", pod, request, ipamTimeout, 1, null);
                a.set("result", r);
                List<String> ips = new ArrayList<>();
                r.path("ips").forEach(ip -> ips.add(ip.asText()));
                List<String> gws = new ArrayList<>();
                r.path("gateways").forEach(g -> gws.add(g.asText()));
                allocations.put(s.interfaceName(), new Allocation(s.interfaceName(), ips, gws, r.path("routes").isArray() ? r.path("routes") : null, r.path("dns").isObject() ? r.path("dns") : null, true));
            } catch (StepFailure f) {
                a.put("error", f.getMessage());
                allocations.put(s.interfaceName(), new Allocation(s.interfaceName(), List.of(), List.of(), null, null, true));
            }
        }
        if (pod.nodeName() == null || pod.nodeName().isEmpty()) {
            out.put("outcome", "not bound to a node yet: nothing happens until the scheduler binds it");
            return out;
        }
        List<ObjectNode> attachments = new ArrayList<>();
        defs.forEach((s, d) -> attachments.add(Payloads.attachment(s, d, allocations.get(s.interfaceName()), skipUnsupportedKinds)));
        out.set("nodeCommand", Payloads.nodeAttach("attach/" + pod.uid() + "/<hash>", pod, attachments));
        out.put("outcome", out.path("policy").path("allowed").asBoolean(false)
                ? "would attach " + selections.size() + " interface(s) on node " + pod.nodeName()
                : "would not attach: " + out.path("policy").path("reason").asText(out.path("policy").path("error").asText("denied")));
        return out;
    }
}
