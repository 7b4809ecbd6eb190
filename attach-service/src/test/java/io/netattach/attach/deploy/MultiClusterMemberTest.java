package io.netattach.attach.deploy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MultiClusterMemberTest {

    private final RenderedManifests member = RenderedManifests.of("overlays/multi-cluster-member");
    private final RenderedManifests single = RenderedManifests.of("overlays/single-cluster");

    @Test
    void memberRunsAttachServiceAndNodeWorkersButNoIpamOrPolicyService() {
        assertEquals(List.of("attach-service"), member.all(Deployment.class).stream().map(d -> d.getMetadata().getName()).toList());
        member.get(DaemonSet.class, "node-worker");
        List<String> central = member.objects().stream()
                .filter(o -> o.getMetadata().getName().contains("ipam") || o.getMetadata().getName().contains("policy"))
                .map(o -> o.getKind() + " " + o.getMetadata().getName()).toList();
        assertEquals(List.of(), central, "objects of the shared services in a member cluster");
    }

    @Test
    void memberKeepsTheNadCrdButNotThePolicyCrdsWhichOnlyTheHubReads() {
        List<String> crds = member.all(CustomResourceDefinition.class).stream().map(HasMetadata::getMetadata).map(m -> m.getName()).toList();
        assertEquals(List.of("network-attachment-definitions.k8s.cni.cncf.io"), crds);
        assertEquals(List.of("clusternetworkattachmentpolicies.policy.netattach.io", "network-attachment-definitions.k8s.cni.cncf.io",
                        "networkattachmentpolicies.policy.netattach.io"),
                single.all(CustomResourceDefinition.class).stream().map(c -> c.getMetadata().getName()).sorted().toList());
    }

    @Test
    void memberHasItsOwnClusterIdAndPointsAtTheSharedEndpoints() {
        var memberConfig = member.generated(ConfigMap.class, "netattach-config").getData();
        var singleConfig = single.generated(ConfigMap.class, "netattach-config").getData();
        assertNotEquals(singleConfig.get("NETATTACH_CLUSTER_ID"), memberConfig.get("NETATTACH_CLUSTER_ID"));
        for (String key : List.of("KAFKA_BOOTSTRAP_SERVERS", "NETATTACH_IPAM_URL", "NETATTACH_POLICY_URL")) {
            assertTrue(memberConfig.containsKey(key), key);
            assertTrue(!memberConfig.get(key).contains(".svc"), key + " of a member must leave the cluster: " + memberConfig.get(key));
        }
        String configName = member.generated(ConfigMap.class, "netattach-config").getMetadata().getName();
        for (PodTemplates.Located c : PodTemplates.containers(member)) {
            if (c.init() || !List.of("attach-service", "node-worker").contains(c.container().getName())) continue;
            assertTrue(c.container().getEnvFrom().stream().anyMatch(e -> e.getConfigMapRef() != null && configName.equals(e.getConfigMapRef().getName())),
                    c + " does not read " + configName);
        }
    }
}
