package io.netattach.policy.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.netattach.policy.domain.PolicyRef;
import org.jboss.logging.Logger;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts decisions per policy and adds them to the policy's status now and then (best effort): counters are
 * summed into what the status holds, so several replicas add up; a failed write keeps the counts for the next flush.
 */
public class PolicyStatus {
    private static final Logger LOG = Logger.getLogger(PolicyStatus.class);
    private record Counts(AtomicLong allowed, AtomicLong denied) {}

    private final KubernetesClient client;
    private final Map<PolicyRef, Counts> pending = new ConcurrentHashMap<>();

    public PolicyStatus(KubernetesClient client) {
        this.client = client;
    }

    public void count(PolicyRef ref, boolean allowed) {
        Counts c = pending.computeIfAbsent(ref, r -> new Counts(new AtomicLong(), new AtomicLong()));
        (allowed ? c.allowed() : c.denied()).incrementAndGet();
    }

    public void flush() {
        for (PolicyRef ref : pending.keySet()) {
            Counts c = pending.get(ref);
            long allowed = c.allowed().getAndSet(0);
            long denied = c.denied().getAndSet(0);
            if (allowed == 0 && denied == 0) continue;
            try {
                NonNamespaceOperation<GenericKubernetesResource, GenericKubernetesResourceList, Resource<GenericKubernetesResource>> op = ref.clusterScoped()
                        ? client.genericKubernetesResources(PolicyInformers.CLUSTER)
                        : client.genericKubernetesResources(PolicyInformers.NAMESPACED).inNamespace(ref.namespace());
                GenericKubernetesResource current = op.withName(ref.name()).get();
                if (current == null) continue; // deleted: nothing to count on
                @SuppressWarnings("unchecked")
                Map<String, Object> status = new HashMap<>((Map<String, Object>) current.getAdditionalProperties().getOrDefault("status", Map.of()));
                status.put("allowed", number(status.get("allowed")) + allowed);
                status.put("denied", number(status.get("denied")) + denied);
                status.put("lastDecisionTime", Instant.now().toString());
                current.getAdditionalProperties().put("status", status);
                // Optimistic concurrency: a stale resourceVersion answers 409 and the counts wait for the next flush.
                op.resource(current).updateStatus();
            } catch (RuntimeException e) {
                c.allowed().addAndGet(allowed);
                c.denied().addAndGet(denied);
                LOG.debugf("status of %s not updated (kept for next time): %s", ref.rule(), e.getMessage());
            }
        }
    }

    private static long number(Object o) {
        return o instanceof Number n ? n.longValue() : 0;
    }
}
