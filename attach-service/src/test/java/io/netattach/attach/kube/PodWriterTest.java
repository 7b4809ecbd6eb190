package io.netattach.attach.kube;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.netattach.attach.domain.NetworkStatus;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

@QuarkusTest
@WithKubernetesTestServer(crud = true)
class PodWriterTest {
    @Inject KubernetesClient client;
    @Inject PodWriter writer;
    @io.quarkus.test.kubernetes.client.KubernetesTestServer io.quarkus.test.kubernetes.client.KubernetesServer server;

    private Pod pod(String name, String status) {
        var b = new PodBuilder().withNewMetadata().withNamespace("writer").withName(name).withUid(UUID.randomUUID().toString())
                .addToAnnotations("k8s.v1.cni.cncf.io/networks", "a").endMetadata()
                .withNewSpec().withNodeName("node-a").addNewContainer().withName("c").withImage("i").endContainer().endSpec();
        if (status != null) b.editMetadata().addToAnnotations(PodView.NETWORK_STATUS, status).endMetadata();
        return client.pods().inNamespace("writer").resource(b.build()).create();
    }

    /** A pod known by name and UID only (no resourceVersion): the writer reads it first. */
    private static PodView notRead(String name, String uid) {
        return new PodView(uid, "writer", name, null, null, java.util.Map.of(), null, null);
    }

    @Test
    void aConcurrentWriteCausesAConflictAndARetryOnFreshDataNotALostUpdate() {
        Pod pod = pod("contended", null);
        AtomicInteger calls = new AtomicInteger();
        boolean present = writer.updateStatus(notRead("contended", pod.getMetadata().getUid()), ours -> {
            if (calls.incrementAndGet() == 1) {
                // someone else writes the pod between our read and our write
                client.pods().inNamespace("writer").withName("contended")
                        .edit(p -> new PodBuilder(p).editMetadata().addToLabels("other-writer", "was-here").endMetadata().build());
            }
            List<NetworkStatus> next = new ArrayList<>(ours);
            next.add(new NetworkStatus("writer/a", "net1", List.of("10.0.0.5"), "02:00:00:00:00:01", 1500, null, null, null, null));
            return next;
        }, skipped -> skipped);
        assertTrue(present);
        assertEquals(2, calls.get(), "the first write got 409 and the change was applied again on the fresh pod");
        Pod now = client.pods().inNamespace("writer").withName("contended").get();
        assertEquals("was-here", now.getMetadata().getLabels().get("other-writer"));
        assertTrue(now.getMetadata().getAnnotations().get(PodView.NETWORK_STATUS).contains("\"interface\":\"net1\""));
    }

    @Test
    void aWriteFromAStaleInformerViewIsRefusedThenAppliedToTheFreshPod() {
        // (the skipped entry names the pod's own network "a" as net1, so the controller running in this test has
        // nothing to do for the pod and does not write it meanwhile)
        Pod pod = pod("stale-view", null);
        PodView cached = PodView.of(pod); // what the informer had
        client.pods().inNamespace("writer").withName("stale-view")
                .edit(p -> new PodBuilder(p).editMetadata().addToLabels("other-writer", "was-here")
                        .addToAnnotations(PodView.SKIPPED_NETWORKS, "[{\"name\":\"writer/a\",\"interface\":\"net1\",\"node\":\"node-a\",\"reason\":\"x\"}]").endMetadata().build());
        AtomicInteger calls = new AtomicInteger();
        assertTrue(writer.updateStatus(cached, ours -> {
            calls.incrementAndGet();
            return List.of(new NetworkStatus("writer/a", "net1", List.of("10.0.0.7"), null, null, null, null, null, null));
        }, skipped -> skipped.stream().filter(k -> !k.iface().equals("net1")).toList()));
        assertEquals(2, calls.get(), "the patch with the cached resourceVersion got 409, the change ran again on the fresh pod");
        Pod now = client.pods().inNamespace("writer").withName("stale-view").get();
        assertEquals("was-here", now.getMetadata().getLabels().get("other-writer"), "the other writer's change is kept");
        assertTrue(now.getMetadata().getAnnotations().get(PodView.NETWORK_STATUS).contains("\"ips\":[\"10.0.0.7\"]"));
        // merge patch null = remove (the mock server may keep the key with a null value; a real one removes it)
        assertNull(now.getMetadata().getAnnotations().get(PodView.SKIPPED_NETWORKS), "an emptied skipped list is removed");

        // from a current view: one write, no read
        PodView current = PodView.of(now);
        calls.set(0);
        assertTrue(writer.updateStatus(current, ours -> {
            calls.incrementAndGet();
            return List.of();
        }, skipped -> skipped));
        assertEquals(1, calls.get());
        assertEquals("[]", client.pods().inNamespace("writer").withName("stale-view").get().getMetadata().getAnnotations().get(PodView.NETWORK_STATUS));
    }

    @Test
    void keepsTheEntriesOfOtherWritersSuchAsTheClusterNetwork() {
        String cluster = "[{\"name\":\"k8s-pod-network\",\"interface\":\"eth0\",\"ips\":[\"10.244.0.7\"],\"default\":true}]";
        Pod pod = pod("with-primary", cluster);
        writer.updateStatus(notRead("with-primary", pod.getMetadata().getUid()),
                ours -> List.of(new NetworkStatus("writer/a", "net1", List.of("10.0.0.6"), null, null, null, null, null, null)), skipped -> skipped);
        String status = client.pods().inNamespace("writer").withName("with-primary").get().getMetadata().getAnnotations().get(PodView.NETWORK_STATUS);
        assertTrue(status.startsWith("[{\"name\":\"k8s-pod-network\",\"interface\":\"eth0\""), status);
        assertTrue(status.contains("\"name\":\"writer/a\",\"interface\":\"net1\",\"ips\":[\"10.0.0.6\"]"), status);
        assertFalse(status.contains("\"mac\":null"), "absent fields are left out, as Multus does: " + status);
    }

    @Test
    void aPodReplacedUnderTheSameNameIsNotWritten() {
        pod("replaced", null);
        assertFalse(writer.updateStatus(notRead("replaced", "some-other-uid"), ours -> ours, skipped -> skipped));
    }

    @Test
    void aStatusWriteFromACurrentViewIsOneRequestAPatchWithNoReadBeforeIt() throws InterruptedException {
        // skipped entry for the pod's only network: the controller running in this test leaves the pod alone
        Pod pod = client.pods().inNamespace("writer").resource(new PodBuilder(pod("one-request", null)).editMetadata()
                .addToAnnotations(PodView.SKIPPED_NETWORKS, "[{\"name\":\"writer/a\",\"interface\":\"net1\",\"node\":\"node-a\",\"reason\":\"x\"}]")
                .endMetadata().build()).update();
        requestsFor("one-request"); // forget what came before
        assertTrue(writer.updateStatus(PodView.of(pod), ours -> List.of(new NetworkStatus("writer/a", "net1", List.of("10.0.0.9"), null, null, null, null, null, null)),
                skipped -> skipped));
        assertEquals(List.of("PATCH /api/v1/namespaces/writer/pods/one-request"), requestsFor("one-request"),
                "one request per status write, as the API server sees it");
    }

    /** The requests the mock API server received since the last call whose path names the pod (method and path). */
    private List<String> requestsFor(String name) throws InterruptedException {
        List<String> out = new ArrayList<>();
        for (var r = server.getKubernetesMockServer().takeRequest(50, java.util.concurrent.TimeUnit.MILLISECONDS); r != null;
             r = server.getKubernetesMockServer().takeRequest(50, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            if (r.getPath().startsWith("/api/v1/namespaces/writer/pods/" + name)) out.add(r.getMethod() + " " + r.getPath());
        }
        return out;
    }
}
