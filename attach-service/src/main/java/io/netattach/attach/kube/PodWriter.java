package io.netattach.attach.kube;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.netattach.attach.domain.NetworkStatus;
import io.netattach.attach.domain.SkippedNetwork;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.time.Instant;
import java.util.ArrayList;
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
     * Applies change to the pod's secondary network-status entries (entries of other writers are kept) and, in the
     * same write, skippedChange to the {@value PodView#SKIPPED_NETWORKS} annotation (removed when the list becomes
     * empty). Starts from {@code known} (the informer's view, or a fresh read; without a resourceVersion the pod is
     * read first), so the usual attach costs
     * one request: a JSON merge patch of the two annotations that carries {@code known}'s resourceVersion, which
     * the API server checks like an update's. A pod changed meanwhile answers 409; it is then read, the change is
     * applied again to what it holds now, and written again (no lost update).
     *
     * @return false when the pod no longer exists (or is another pod with the same name)
     */
    public boolean updateStatus(PodView known, UnaryOperator<List<NetworkStatus>> change, UnaryOperator<List<SkippedNetwork>> skippedChange) {
        return updateStatus(known, null, change, skippedChange);
    }

    /**
     * As {@link #updateStatus(PodView, UnaryOperator, UnaryOperator)}, and {@code cluster} (when not null) becomes the
     * first entry, replacing an entry of the same name or interface: the cluster network, as Multus writes it.
     */
    public boolean updateStatus(PodView known, NetworkStatus cluster, UnaryOperator<List<NetworkStatus>> change,
                                UnaryOperator<List<SkippedNetwork>> skippedChange) {
        Annotations start = known.resourceVersion() == null ? read(known.namespace(), known.name(), known.uid())
                : new Annotations(known.resourceVersion(), known.networkStatus(), known.skippedNetworks());
        return write(known.namespace(), known.name(), known.uid(), start, cluster, change, skippedChange);
    }

    /** What a status write starts from: the pod's resourceVersion and its two annotations (null = pod gone). */
    private record Annotations(String resourceVersion, String networkStatus, String skippedNetworks) {
    }

    private Annotations read(String namespace, String name, String uid) {
        Pod pod = client.pods().inNamespace(namespace).withName(name).get();
        if (pod == null || !uid.equals(pod.getMetadata().getUid())) return null;
        Map<String, String> a = pod.getMetadata().getAnnotations() == null ? Map.of() : pod.getMetadata().getAnnotations();
        return new Annotations(pod.getMetadata().getResourceVersion(), a.get(PodView.NETWORK_STATUS), a.get(PodView.SKIPPED_NETWORKS));
    }

    private boolean write(String namespace, String name, String uid, Annotations now, NetworkStatus cluster,
                          UnaryOperator<List<NetworkStatus>> change, UnaryOperator<List<SkippedNetwork>> skippedChange) {
        for (int attempt = 1; ; attempt++) {
            if (now == null) return false;
            List<NetworkStatus> all = readStatus(json, now.networkStatus());
            List<NetworkStatus> next = new ArrayList<>();
            if (cluster != null) next.add(cluster);
            all.stream().filter(s -> !s.isSecondary())
                    .filter(s -> cluster == null || !(java.util.Objects.equals(s.name(), cluster.name()) || java.util.Objects.equals(s.iface(), cluster.iface())))
                    .forEach(next::add);
            next.addAll(change.apply(all.stream().filter(NetworkStatus::isSecondary).toList()));
            List<SkippedNetwork> skipped = skippedChange.apply(readSkipped(json, now.skippedNetworks()));
            try {
                String value = json.writeValueAsString(next);
                String skippedValue = skipped.isEmpty() ? null : json.writeValueAsString(skipped);
                if (value.equals(now.networkStatus()) && java.util.Objects.equals(skippedValue, now.skippedNetworks())) return true;
                var patch = json.createObjectNode();
                var meta = patch.putObject("metadata");
                meta.put("resourceVersion", now.resourceVersion()); // the precondition: 409 if the pod changed since
                var annotations = meta.putObject("annotations");
                annotations.put(PodView.NETWORK_STATUS, value);
                if (skippedValue != null) annotations.put(PodView.SKIPPED_NETWORKS, skippedValue);
                else if (now.skippedNetworks() != null) annotations.putNull(PodView.SKIPPED_NETWORKS); // merge patch: null removes
                // resource(pod), not withName(name): fabric8's patch(String) on a name GETs the pod first (to learn where
                // to send it), a second request per write
                client.pods().resource(new PodBuilder().withNewMetadata().withNamespace(namespace).withName(name).endMetadata().build())
                        .patch(io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
                                json.writeValueAsString(patch));
                return true;
            } catch (KubernetesClientException e) {
                if (e.getCode() == 409 && attempt < CONFLICT_RETRIES) {
                    if (attempt > 1) sleep(ThreadLocalRandom.current().nextLong(20, 50L * attempt));
                    now = read(namespace, name, uid);
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
