package io.netattach.attach.kube;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.netattach.attach.domain.NetworkStatus;
import io.netattach.attach.domain.SkippedNetwork;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.UnaryOperator;

/** Writes to pods: the network-status annotation (read-modify-write, retried on 409) and Events. */
@ApplicationScoped
public class PodWriter {
    private static final Logger LOG = Logger.getLogger(PodWriter.class);
    private static final int CONFLICT_RETRIES = 8;

    @Inject KubernetesClient client;
    @Inject ObjectMapper json;

    // last event per pod and reason: the same message again is not repeated (a waiting pod would spam)
    private final Map<String, String> lastEvent = new ConcurrentHashMap<>();

    public static List<NetworkStatus> readStatus(ObjectMapper json, String annotation) {
        if (annotation == null || annotation.isBlank()) return List.of();
        try {
            return json.readValue(annotation, new TypeReference<List<NetworkStatus>>() { });
        } catch (Exception e) {
            return List.of(); // a status we cannot read is rebuilt from scratch
        }
    }

    public static List<SkippedNetwork> readSkipped(ObjectMapper json, String annotation) {
        if (annotation == null || annotation.isBlank()) return List.of();
        try {
            return json.readValue(annotation, new TypeReference<List<SkippedNetwork>>() { });
        } catch (Exception e) {
            return List.of(); // unreadable: every network is tried again
        }
    }

    /**
     * Applies change to the pod's secondary network-status entries (entries of other writers are kept).
     * Update with the read resourceVersion, so a concurrent writer causes a 409 and a retry on fresh data.
     *
     * @return false when the pod no longer exists (or is another pod with the same name)
     */
    public boolean updateStatus(String namespace, String name, String uid, UnaryOperator<List<NetworkStatus>> change) {
        return updateStatus(namespace, name, uid, change, UnaryOperator.identity());
    }

    /**
     * As {@link #updateStatus(String, String, String, UnaryOperator)}, and in the same write the
     * {@value PodView#SKIPPED_NETWORKS} annotation (removed when the list becomes empty).
     */
    public boolean updateStatus(String namespace, String name, String uid, UnaryOperator<List<NetworkStatus>> change,
                                UnaryOperator<List<SkippedNetwork>> skippedChange) {
        for (int attempt = 1; ; attempt++) {
            Pod pod = client.pods().inNamespace(namespace).withName(name).get();
            if (pod == null || !uid.equals(pod.getMetadata().getUid())) return false;
            Map<String, String> annotations = new HashMap<>(pod.getMetadata().getAnnotations() == null ? Map.of() : pod.getMetadata().getAnnotations());
            List<NetworkStatus> all = readStatus(json, annotations.get(PodView.NETWORK_STATUS));
            List<NetworkStatus> others = all.stream().filter(s -> !s.isSecondary()).toList();
            List<NetworkStatus> ours = all.stream().filter(NetworkStatus::isSecondary).toList();
            List<NetworkStatus> next = new ArrayList<>(others);
            next.addAll(change.apply(ours));
            List<SkippedNetwork> skipped = skippedChange.apply(readSkipped(json, annotations.get(PodView.SKIPPED_NETWORKS)));
            try {
                String value = json.writeValueAsString(next);
                String skippedValue = skipped.isEmpty() ? null : json.writeValueAsString(skipped);
                if (value.equals(annotations.get(PodView.NETWORK_STATUS))
                        && java.util.Objects.equals(skippedValue, annotations.get(PodView.SKIPPED_NETWORKS))) return true;
                annotations.put(PodView.NETWORK_STATUS, value);
                if (skippedValue == null) annotations.remove(PodView.SKIPPED_NETWORKS);
                else annotations.put(PodView.SKIPPED_NETWORKS, skippedValue);
                pod.getMetadata().setAnnotations(annotations);
                client.pods().inNamespace(namespace).resource(pod).update();
                return true;
            } catch (KubernetesClientException e) {
                if (e.getCode() == 409 && attempt < CONFLICT_RETRIES) {
                    sleep(ThreadLocalRandom.current().nextLong(20, 50L * attempt));
                    continue;
                }
                if (e.getCode() == 404) return false;
                throw e;
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** The pod as the API server has it now (the informer cache may lag behind our own writes). */
    public java.util.Optional<PodView> fetch(String namespace, String name, String uid) {
        Pod pod = client.pods().inNamespace(namespace).withName(name).get();
        if (pod == null || !uid.equals(pod.getMetadata().getUid()) || pod.getMetadata().getDeletionTimestamp() != null) return java.util.Optional.empty();
        return java.util.Optional.of(PodView.of(pod));
    }

    /** Records a Kubernetes Event on the pod; the same reason and message twice in a row is recorded once. */
    public void event(PodView pod, String type, String reason, String message) {
        String key = pod.uid() + "/" + reason;
        if (message.equals(lastEvent.put(key, message))) return;
        String now = Instant.now().toString();
        try {
            client.v1().events().inNamespace(pod.namespace()).resource(new EventBuilder()
                    .withNewMetadata()
                    .withName(pod.name() + "." + Long.toHexString(System.nanoTime()) + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000)))
                    .withNamespace(pod.namespace())
                    .endMetadata()
                    .withNewInvolvedObject().withApiVersion("v1").withKind("Pod").withNamespace(pod.namespace())
                    .withName(pod.name()).withUid(pod.uid()).endInvolvedObject()
                    .withType(type).withReason(reason).withMessage(message)
                    .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                    .withNewSource().withComponent("netattach-attach-service").endSource()
                    .build()).create();
        } catch (KubernetesClientException e) {
            LOG.warnf("cannot record event %s on pod %s: %s", reason, pod.ref(), e.getMessage());
        }
    }

    /** Forget de-duplication state once a pod is done or gone. */
    public void forgetEvents(String uid) {
        lastEvent.keySet().removeIf(k -> k.startsWith(uid + "/"));
    }

    /** Allows the same event again (the situation was resolved and may recur). */
    public void resetEvent(String uid, String reason) {
        lastEvent.remove(uid + "/" + reason);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
