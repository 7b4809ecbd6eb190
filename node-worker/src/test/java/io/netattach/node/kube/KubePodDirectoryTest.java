package io.netattach.node.kube;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.netattach.node.domain.InterfaceReport;
import io.netattach.node.domain.PodRef;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An ADD's wait for the pod's network-status (what Multus writes within the ADD), on the node's watch of its pods. */
@QuarkusTest
@WithKubernetesTestServer(crud = true)
class KubePodDirectoryTest {
    private static final String STATUS = "k8s.v1.cni.cncf.io/network-status";
    @Inject KubernetesClient kube;

    private PodRef pod(String node, String status) {
        var meta = new PodBuilder().withNewMetadata().withNamespace("default").withName("gate-" + UUID.randomUUID().toString().substring(0, 8))
                .addToAnnotations("k8s.v1.cni.cncf.io/networks", "macvlan-conf");
        if (status != null) meta.addToAnnotations(STATUS, status);
        Pod p = kube.pods().inNamespace("default").resource(meta.endMetadata().withNewSpec().withNodeName(node)
                .addNewContainer().withName("app").withImage("nicolaka/netshoot").endContainer().endSpec().build()).create();
        return new PodRef("default", p.getMetadata().getName(), p.getMetadata().getUid());
    }

    /** The node's directory, its cache watching the namespace (the mock API server ignores the spec.nodeName field selector). */
    private KubePodDirectory directory(String node) {
        return new KubePodDirectory(kube, kube.pods().inNamespace("default").runnableInformer(0), "the test's pods");
    }

    private static InterfaceReport made(String iface, String mac) {
        return new InterfaceReport("default/macvlan-conf", iface, mac, 1500, List.of("10.1.0.5/24"), "/var/run/netns/x", null);
    }

    private static String status(String mac) {
        return "[{\"name\":\"k8s-pod-network\",\"interface\":\"eth0\",\"default\":true},"
                + "{\"name\":\"default/macvlan-conf\",\"interface\":\"net1\",\"mac\":\"" + mac + "\",\"ips\":[\"10.1.0.5\"]}]";
    }

    @Test
    void anAddWaitsUntilNetworkStatusListsItsInterfaceWithTheMacItWasMadeWith() throws Exception {
        String node = "gate-" + UUID.randomUUID().toString().substring(0, 6);
        // a re-created sandbox: the status still lists net1 with the old sandbox's MAC
        PodRef ref = pod(node, status("02:00:00:00:00:01"));
        List<InterfaceReport> made = List.of(made("net1", "02:00:00:00:00:02"), InterfaceReport.skipped("default/ipvlan-conf", "net2", "/x", "Unsupported"));
        try (KubePodDirectory directory = directory(node)) {
            assertFalse(directory.awaitListed(ref, made, Duration.ofMillis(300)), "the old sandbox's entry does not count");
            CompletableFuture<Boolean> listed = CompletableFuture.supplyAsync(() -> {
                try {
                    return directory.awaitListed(ref, made, Duration.ofSeconds(20));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            kube.pods().inNamespace("default").withName(ref.name()).edit(p -> new PodBuilder(p).editMetadata()
                    .addToAnnotations(STATUS, status("02:00:00:00:00:02")).endMetadata().build());
            assertTrue(listed.get(20, TimeUnit.SECONDS), "listed once attach-service wrote the new MAC (the skipped net2 has no entry)");
            assertTrue(directory.awaitListed(ref, made, Duration.ofSeconds(20)), "already listed: at once");
        }
    }

    @Test
    void aStatusThatNeverListsTheInterfaceEndsTheWaitAtTheBound() throws Exception {
        String node = "gate-" + UUID.randomUUID().toString().substring(0, 6);
        PodRef ref = pod(node, null);
        try (KubePodDirectory directory = directory(node)) {
            assertFalse(directory.awaitListed(ref, List.of(made("net1", "02:00:00:00:00:03")), Duration.ofMillis(500)));
            kube.pods().inNamespace("default").withName(ref.name()).edit(p -> new PodBuilder(p).editMetadata()
                    .addToAnnotations(STATUS, "not json").endMetadata().build());
            assertFalse(directory.awaitListed(ref, List.of(made("net1", "02:00:00:00:00:03")), Duration.ofMillis(500)), "an unreadable status lists nothing");
        }
        assertTrue(KubePodDirectory.lists(new PodBuilder().withNewMetadata().addToAnnotations(STATUS, status("02:AA:00:00:00:04")).endMetadata().build(),
                Map.of("net1", "02:aa:00:00:00:04")), "MACs compare without case");
    }
}
