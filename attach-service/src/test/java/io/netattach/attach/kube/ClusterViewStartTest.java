package io.netattach.attach.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * attach-service started while the API server cannot be reached (it is restarting, or RBAC is not applied
 * yet): it must stay alive and not ready, keep trying, and become ready with its caches filled once the API
 * server answers; pods are watched only after the NADs are known. fabric8's default would stop the informer
 * for good at the first failed list.
 */
class ClusterViewStartTest {
    @Test
    void anApiServerThatAnswersOnlyLaterMakesItNotReadyThenReadyWithTheNadsThenThePods() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        KubernetesClient client = new KubernetesClientBuilder().withConfig(new ConfigBuilder()
                .withMasterUrl("http://127.0.0.1:" + port).withRequestRetryBackoffLimit(0).withConnectionTimeout(500).build()).build();
        ClusterView view = new ClusterView();
        view.client = client;
        Set<String> seen = ConcurrentHashMap.newKeySet();
        ClusterView.Listener listener = new ClusterView.Listener() {
            public void podChanged(PodView now) { seen.add("pod " + now.name()); }
            public void podDeleted(PodView last) { }
            public void definitionChanged(String key) { seen.add("nad " + key); }
            public void nodeChanged(String node, boolean present) { }
        };
        KubernetesMockServer server = null;
        try {
            view.startDefinitions(listener);
            view.startPods(listener);
            assertEquals(Optional.of("NetworkAttachmentDefinitions not listed yet"), view.notSynced());

            // the API server appears on that address: the informers find it by themselves
            server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), new KubernetesCrudDispatcher(List.of()), false);
            server.init(InetAddress.getByName("127.0.0.1"), port);
            GenericKubernetesResource nad = new GenericKubernetesResourceBuilder().withApiVersion("k8s.cni.cncf.io/v1")
                    .withKind("NetworkAttachmentDefinition").withNewMetadata().withNamespace("default").withName("macvlan-conf").endMetadata()
                    .withAdditionalProperties(Map.of("spec", Map.of("config", "{\"cniVersion\": \"0.3.1\", \"type\": \"macvlan\", \"master\": \"eth0\"}")))
                    .build();
            client.genericKubernetesResources(ClusterView.NAD).inNamespace("default").resource(nad).create();
            client.pods().inNamespace("default").resource(new io.fabric8.kubernetes.api.model.PodBuilder().withNewMetadata().withName("p1")
                    .withUid("uid-p1").addToAnnotations(PodView.NETWORKS, "macvlan-conf").endMetadata()
                    .withNewSpec().withNodeName("node1").endSpec().build()).create();

            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (view.notSynced().isPresent() || !seen.contains("pod p1")) {
                if (System.nanoTime() > deadline) fail("not ready 60 s after the API server appeared: " + view.notSynced() + ", seen " + seen);
                Thread.sleep(100);
            }
            assertTrue(seen.contains("nad default/macvlan-conf"), "the NAD is known: " + seen);
            assertTrue(view.definition("default/macvlan-conf").orElseThrow() instanceof ClusterView.Valid);
            assertTrue(view.podsSynced());
        } finally {
            view.stop();
            client.close();
            if (server != null) server.destroy();
        }
    }
}
