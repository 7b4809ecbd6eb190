package io.netattach.attach.orchestration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netattach.attach.domain.NetworkDefinition;
import io.netattach.attach.domain.NetworkSelection;
import io.netattach.attach.kube.PodView;

import java.util.Collection;
import java.util.List;

/** The data parts of the messages attach-service sends, exactly as docs/asyncapi.yaml describes them. */
final class Payloads {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private Payloads() {
    }

    static ObjectNode podRef(PodView pod) {
        ObjectNode n = F.objectNode();
        n.put("namespace", pod.namespace());
        n.put("name", pod.name());
        n.put("uid", pod.uid());
        n.put("serviceAccount", pod.serviceAccount());
        ObjectNode labels = n.putObject("labels");
        pod.labels().forEach(labels::put);
        return n;
    }

    static ObjectNode owner(String cluster, PodView pod, String iface) {
        ObjectNode n = F.objectNode();
        n.put("cluster", cluster);
        n.put("namespace", pod.namespace());
        n.put("pod", pod.name());
        n.put("podUid", pod.uid());
        n.put("interface", iface);
        return n;
    }

    static ObjectNode reconcile(String requestId, String cluster, Collection<String> liveOwners, java.time.Instant snapshotTime) {
        ObjectNode n = F.objectNode();
        n.put("requestId", requestId);
        n.put("cluster", cluster);
        ArrayNode owners = n.putArray("liveOwners");
        liveOwners.stream().sorted().forEach(owners::add);
        n.put("snapshotTime", snapshotTime.toString());
        return n;
    }

    static ObjectNode policyRequest(String requestId, String cluster, PodView pod, List<NetworkSelection> selections) {
        ObjectNode n = F.objectNode();
        n.put("requestId", requestId);
        n.put("cluster", cluster);
        n.set("pod", podRef(pod));
        ArrayNode sel = n.putArray("selections");
        for (NetworkSelection s : selections) {
            ObjectNode e = sel.addObject();
            e.put("namespace", s.namespace());
            e.put("name", s.name());
            e.put("interface", s.interfaceName());
            e.set("ips", strings(s.ips()));
            e.put("mac", s.mac());
            e.set("defaultRoute", strings(s.defaultRoute()));
        }
        return n;
    }

    static ObjectNode allocate(String requestId, String cluster, PodView pod, NetworkSelection s, NetworkDefinition d) {
        ObjectNode n = F.objectNode();
        n.put("requestId", requestId);
        n.put("network", d.key());
        n.set("ipam", d.ipam());
        n.set("owner", owner(cluster, pod, s.interfaceName()));
        n.set("ips", strings(s.ips()));
        n.put("dryRun", false);
        if (s.ipamClaimReference() != null) n.put("ipamClaimReference", s.ipamClaimReference());
        return n;
    }

    static ObjectNode release(String requestId, String cluster, PodView pod, String iface) {
        ObjectNode n = F.objectNode();
        n.put("requestId", requestId);
        n.set("owner", owner(cluster, pod, iface));
        return n;
    }

    /** One attachment: the NAD's CNI config plus what IPAM gave and what the annotation asked for. */
    /** skipIfUnsupported: the node may leave this one out if its kernel cannot make the kind (netattach.attach.skip-unsupported-kinds). */
    static ObjectNode attachment(NetworkSelection s, NetworkDefinition d, Allocation a, boolean skipIfUnsupported) {
        ObjectNode n = F.objectNode();
        n.put("network", d.key());
        n.put("interface", s.interfaceName());
        n.set("cniConfig", d.cniConfig());
        n.set("ips", strings(a.ips()));
        // "default-route" names the gateway(s) to route through; otherwise IPAM's gateways
        n.set("gateways", strings(s.defaultRoute() != null && !s.defaultRoute().isEmpty() ? s.defaultRoute() : a.gateways()));
        n.set("routes", a.routes() == null ? F.arrayNode() : a.routes());
        n.set("dns", a.dns());
        n.put("mac", s.mac());
        n.put("defaultRoute", s.defaultRoute() != null && !s.defaultRoute().isEmpty());
        n.set("cniArgs", s.cniArgs());
        n.set("portMappings", s.portMappings());
        n.set("bandwidth", s.bandwidth());
        n.put("resourceName", d.resourceName());
        if (s.infinibandGuid() != null) n.put("infinibandGuid", s.infinibandGuid());
        if (skipIfUnsupported) n.put("skipIfUnsupported", true);
        return n;
    }

    static ObjectNode nodeAttach(String requestId, PodView pod, List<ObjectNode> attachments) {
        ObjectNode n = F.objectNode();
        n.put("requestId", requestId);
        n.put("node", pod.nodeName());
        n.set("pod", podRef(pod));
        n.putArray("attachments").addAll(attachments);
        return n;
    }

    /** interfaces null = every interface netattach made in the pod. */
    static ObjectNode nodeDetach(String requestId, PodView pod, Collection<String> interfaces) {
        ObjectNode n = F.objectNode();
        n.put("requestId", requestId);
        n.put("node", pod.nodeName());
        n.set("pod", podRef(pod));
        n.set("interfaces", interfaces == null ? F.nullNode() : strings(List.copyOf(interfaces)));
        return n;
    }

    static ObjectNode audit(String outcome, PodView pod, String network, String iface, List<String> ips, String rule, String reason) {
        ObjectNode n = F.objectNode();
        n.put("outcome", outcome);
        n.set("pod", podRef(pod));
        n.put("network", network);
        n.put("interface", iface);
        n.set("ips", strings(ips));
        n.put("rule", rule);
        n.put("reason", reason);
        n.putNull("inputs");
        return n;
    }

    static JsonNode strings(List<String> list) {
        if (list == null) return F.nullNode();
        ArrayNode a = F.arrayNode();
        list.forEach(a::add);
        return a;
    }
}
