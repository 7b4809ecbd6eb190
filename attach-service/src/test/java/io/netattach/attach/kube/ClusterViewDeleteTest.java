package io.netattach.attach.kube;

import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A deleted pod must never be missing from both {@link ClusterView#podUids()} and what the listener took
 * over: fabric8 drops it from the informer's store before it calls the delete handler, and a leak sweep that
 * read the live pods in between would have IPAM free the address of an interface that is still up (the
 * flaky CI failure of AttachFlowTest's sweep-during-teardown test, 2026-11-30).
 */
class ClusterViewDeleteTest {
    @Test
    void aDeletedPodIsAmongThePodUidsUntilItsDeleteHandlerHasRun() throws Exception {
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(List.of()), false);
        server.init();
        KubernetesClient client = server.createClient();
        ClusterView view = new ClusterView();
        view.client = client;
        Map<String, String> uids = new ConcurrentHashMap<>(); // name -> uid (the mock server assigns uids)
        Map<String, Boolean> listedWhileDeleting = new ConcurrentHashMap<>();
        ClusterView.Listener listener = new ClusterView.Listener() {
            public void podChanged(PodView now) { uids.put(now.name(), now.uid()); }
            public void podDeleted(PodView last) { listedWhileDeleting.put(last.uid(), view.podUids().contains(last.uid())); }
            public void definitionChanged(String key) { }
            public void nodeChanged(String node, boolean present) { }
        };
        try {
            view.startDefinitions(listener);
            view.startPods(listener);
            client.pods().inNamespace("default").resource(new PodBuilder().withNewMetadata().withName("p1")
                    .addToAnnotations(PodView.NETWORKS, "macvlan-conf").endMetadata()
                    .withNewSpec().withNodeName("node1").endSpec().build()).create();
            await(() -> uids.containsKey("p1"), "the pod seen");
            String uid = uids.get("p1");
            assertTrue(view.podUids().contains(uid));

            client.pods().inNamespace("default").withName("p1").delete();
            await(() -> listedWhileDeleting.containsKey(uid), "the pod's delete handled");
            assertEquals(Boolean.TRUE, listedWhileDeleting.get(uid), "podUids() lost the pod before its delete handler ran");
            await(() -> !view.podUids().contains(uid), "the pod gone from podUids() after its delete handler");
            assertFalse(view.pod(uid).isPresent());
        } finally {
            view.stop();
            client.close();
            server.destroy();
        }
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("not within 30 s: " + what);
            Thread.sleep(20);
        }
    }
}
