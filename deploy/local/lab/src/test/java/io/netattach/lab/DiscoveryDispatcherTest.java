package io.netattach.lab;

import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertSame;

/** The stand-in API server keeps pods, Events and every other kind in three stores: which path goes where. */
class DiscoveryDispatcherTest {
    private final KubernetesCrudDispatcher others = new KubernetesCrudDispatcher(List.of());
    private final KubernetesCrudDispatcher pods = new KubernetesCrudDispatcher(List.of());
    private final KubernetesCrudDispatcher events = new KubernetesCrudDispatcher(List.of());
    private final DiscoveryDispatcher dispatcher = new DiscoveryDispatcher(others, pods, events, "127.0.0.1:6443");

    @Test
    void podsAndTheirSubresourcesGoToThePodStore() {
        for (String path : List.of("/api/v1/pods", "/api/v1/namespaces/default/pods", "/api/v1/namespaces/default/pods/web-0",
                "/api/v1/namespaces/default/pods/web-0/status")) {
            assertSame(pods, dispatcher.storeOf(path), path);
        }
    }

    @Test
    void coreAndEventsGroupEventsGoToTheEventStore() {
        for (String path : List.of("/api/v1/events", "/api/v1/namespaces/nfv/events", "/api/v1/namespaces/nfv/events/x.1",
                "/apis/events.k8s.io/v1/namespaces/nfv/events")) {
            assertSame(events, dispatcher.storeOf(path), path);
        }
    }

    @Test
    void everyOtherKindNamespacesAndCustomResourcesGoToTheThirdStore() {
        for (String path : List.of("/api/v1/namespaces", "/api/v1/namespaces/pods", "/api/v1/namespaces/events",
                "/api/v1/namespaces/default/serviceaccounts/app", "/api/v1/nodes/node1",
                "/apis/k8s.cni.cncf.io/v1/namespaces/default/network-attachment-definitions/macvlan-conf",
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", "/apis/apps/v1/namespaces/default/statefulsets")) {
            assertSame(others, dispatcher.storeOf(path), path);
        }
    }
}
