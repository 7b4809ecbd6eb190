package io.netattach.policy.domain.crd;

import io.netattach.policy.domain.Cidr;
import io.netattach.policy.domain.PodRef;
import io.netattach.policy.domain.PolicyRef;
import io.netattach.policy.domain.Selection;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A NetworkAttachmentPolicy or ClusterNetworkAttachmentPolicy spec. What it does not mention it does not grant:
 * static IPs, MACs and default-route are refused unless the policy allows them.
 *
 * @param networks      null = any network; entries "name" (the policy's namespace, or the pod's for cluster
 *                      policies), "ns/name", "ns/*", "*"
 * @param maxInterfaces null = no limit
 * @param staticIpCidrs empty with staticIps allowed = any address
 */
public record AttachmentPolicy(PolicyRef ref, LabelSelector namespaceSelector, LabelSelector podSelector,
                               List<String> networks, Integer maxInterfaces, boolean staticIps, List<String> staticIpCidrs,
                               boolean macAddresses, boolean defaultRoute) {
    public AttachmentPolicy {
        namespaceSelector = namespaceSelector == null ? LabelSelector.EVERYTHING : namespaceSelector;
        podSelector = podSelector == null ? LabelSelector.EVERYTHING : podSelector;
        networks = networks == null ? null : List.copyOf(networks);
        staticIpCidrs = staticIpCidrs == null ? List.of() : List.copyOf(staticIpCidrs);
    }

    public boolean selects(PodRef pod, Map<String, String> namespaceLabels) {
        if (ref.clusterScoped()) {
            return namespaceSelector.matches(namespaceLabels) && podSelector.matches(pod.labels());
        }
        return ref.namespace().equals(pod.namespace()) && podSelector.matches(pod.labels());
    }

    /** Empty when this policy permits the selection; otherwise why not, in words. */
    public Optional<String> refusal(PodRef pod, Selection s) {
        if (networks != null && networks.stream().noneMatch(n -> networkMatches(n, pod, s))) {
            return Optional.of("network " + s.network() + " is not in its networks " + networks);
        }
        if (s.claimsStaticIps()) {
            if (!staticIps) return Optional.of("static IPs " + s.ips() + " are not allowed");
            if (!staticIpCidrs.isEmpty()) {
                for (String ip : s.ips()) {
                    Cidr wanted = Cidr.parse("ips", ip);
                    if (staticIpCidrs.stream().noneMatch(c -> Cidr.parse("staticIPs.cidrs", c).contains(wanted))) {
                        return Optional.of("static IP " + ip + " is outside the allowed CIDRs " + staticIpCidrs);
                    }
                }
            }
        }
        if (s.claimsMac() && !macAddresses) return Optional.of("MAC address " + s.mac() + " may not be requested");
        if (s.takesDefaultRoute() && !defaultRoute) return Optional.of("default-route " + s.defaultRoute() + " may not be taken over");
        return Optional.empty();
    }

    private boolean networkMatches(String entry, PodRef pod, Selection s) {
        String ns;
        String name;
        int slash = entry.indexOf('/');
        if (slash < 0) {
            if (entry.equals("*")) return true;
            ns = ref.clusterScoped() ? pod.namespace() : ref.namespace();
            name = entry;
        } else {
            ns = entry.substring(0, slash);
            name = entry.substring(slash + 1);
        }
        return (ns.equals("*") || ns.equals(s.namespace())) && (name.equals("*") || name.equals(s.name()));
    }
}
