package io.netattach.policy.kube;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.netattach.policy.domain.Cidr;
import io.netattach.policy.domain.PolicyRef;
import io.netattach.policy.domain.crd.AttachmentPolicy;
import io.netattach.policy.domain.crd.LabelSelector;
import io.netattach.policy.domain.crd.PolicySource;
import org.jboss.logging.Logger;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/** Informer caches of NetworkAttachmentPolicies, ClusterNetworkAttachmentPolicies and Namespaces (for namespaceSelector). */
public class PolicyInformers implements PolicySource, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(PolicyInformers.class);
    public static final ResourceDefinitionContext NAMESPACED = new ResourceDefinitionContext.Builder()
            .withGroup("policy.netattach.io").withVersion("v1alpha1").withKind("NetworkAttachmentPolicy")
            .withPlural("networkattachmentpolicies").withNamespaced(true).build();
    public static final ResourceDefinitionContext CLUSTER = new ResourceDefinitionContext.Builder()
            .withGroup("policy.netattach.io").withVersion("v1alpha1").withKind("ClusterNetworkAttachmentPolicy")
            .withPlural("clusternetworkattachmentpolicies").withNamespaced(false).build();

    private final KubernetesClient client;
    private final ObjectMapper json;
    private final AtomicLong version = new AtomicLong();
    /** Parsed specs by uid, reused while the resourceVersion is unchanged: decisions read policies, they do not parse them. */
    private final Map<String, Map.Entry<String, AttachmentPolicy>> parsed = new java.util.concurrent.ConcurrentHashMap<>();
    private SharedIndexInformer<GenericKubernetesResource> namespaced;
    private SharedIndexInformer<GenericKubernetesResource> cluster;
    private SharedIndexInformer<Namespace> namespaces;

    public PolicyInformers(KubernetesClient client, ObjectMapper json) {
        this.client = client;
        this.json = json;
    }

    public synchronized void start() {
        if (namespaced != null) return;
        namespaced = watch(client.genericKubernetesResources(NAMESPACED).inAnyNamespace().runnableInformer(0), "NetworkAttachmentPolicies");
        cluster = watch(client.genericKubernetesResources(CLUSTER).runnableInformer(0), "ClusterNetworkAttachmentPolicies");
        namespaces = watch(client.namespaces().runnableInformer(0), "Namespaces");
    }

    private <T extends HasMetadata> SharedIndexInformer<T> watch(SharedIndexInformer<T> informer, String what) {
        informer.addEventHandler(new ResourceEventHandler<>() {
            @Override public void onAdd(T obj) { version.incrementAndGet(); }
            @Override public void onUpdate(T oldObj, T newObj) {
                // Status writes (our own counters) change nothing a decision reads.
                if (!java.util.Objects.equals(oldObj.getMetadata().getGeneration(), newObj.getMetadata().getGeneration())
                        || newObj.getMetadata().getGeneration() == null) version.incrementAndGet();
            }
            @Override public void onDelete(T obj, boolean unknown) { version.incrementAndGet(); }
        });
        return Informers.start(informer, what, "policy");
    }

    @Override
    public boolean ready() {
        return namespaced != null && namespaced.hasSynced() && cluster.hasSynced() && namespaces.hasSynced()
                && namespaced.isRunning() && cluster.isRunning() && namespaces.isRunning();
    }

    @Override
    public long version() {
        return version.get();
    }

    @Override
    public List<AttachmentPolicy> policies() {
        List<GenericKubernetesResource> all = Stream.concat(namespaced.getStore().list().stream(), cluster.getStore().list().stream()).toList();
        if (parsed.size() > all.size() * 2 + 16) parsed.clear(); // forget deleted policies now and then
        return all.stream().map(r -> {
            String uid = r.getMetadata().getUid() == null ? r.getMetadata().getNamespace() + "/" + r.getMetadata().getName() : r.getMetadata().getUid();
            String rv = String.valueOf(r.getMetadata().getResourceVersion());
            var hit = parsed.get(uid);
            if (hit != null && hit.getKey().equals(rv)) return hit.getValue();
            AttachmentPolicy p = toPolicy(r);
            parsed.put(uid, Map.entry(rv, p));
            return p;
        }).toList();
    }

    @Override
    public Map<String, String> namespaceLabels(String namespace) {
        Namespace ns = namespaces.getStore().getByKey(namespace);
        return ns == null || ns.getMetadata().getLabels() == null ? Map.of() : ns.getMetadata().getLabels();
    }

    /**
     * A spec that cannot be read grants nothing to the pods its namespace holds (cluster policy: every pod), so a
     * typo never widens access; the error is logged with the policy's name and the field.
     */
    AttachmentPolicy toPolicy(GenericKubernetesResource r) {
        PolicyRef ref = new PolicyRef(r.getMetadata().getNamespace(), r.getMetadata().getName());
        JsonNode spec = json.valueToTree(r.getAdditionalProperties().getOrDefault("spec", Map.of()));
        try {
            List<String> networks = spec.has("networks") && !spec.get("networks").isNull() ? strings(spec.get("networks")) : null;
            Integer max = spec.hasNonNull("maxInterfaces") ? spec.get("maxInterfaces").asInt() : null;
            List<String> cidrs = strings(spec.path("staticIPs").path("cidrs"));
            for (String c : cidrs) Cidr.parse(ref.rule() + " spec.staticIPs.cidrs", c);
            return new AttachmentPolicy(ref, selector(spec.path("namespaceSelector")), selector(spec.path("podSelector")), networks, max,
                    spec.path("staticIPs").path("allowed").asBoolean(false), cidrs,
                    spec.path("macAddresses").path("allowed").asBoolean(false), spec.path("defaultRoute").path("allowed").asBoolean(false));
        } catch (RuntimeException e) {
            LOG.errorf("%s has an unreadable spec (%s); it grants nothing until fixed", ref.rule(), e.getMessage());
            return new AttachmentPolicy(ref, null, null, List.of(), 0, false, List.of(), false, false);
        }
    }

    private static LabelSelector selector(JsonNode node) {
        if (node.isMissingNode() || node.isNull()) return LabelSelector.EVERYTHING;
        Map<String, String> labels = new java.util.HashMap<>();
        node.path("matchLabels").properties().forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
        List<LabelSelector.Requirement> reqs = new ArrayList<>();
        for (JsonNode e : node.path("matchExpressions")) {
            reqs.add(new LabelSelector.Requirement(e.path("key").asText(), e.path("operator").asText(), strings(e.path("values"))));
        }
        return new LabelSelector(labels, reqs);
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        for (JsonNode n : array) out.add(n.asText());
        return out;
    }

    @Override
    public synchronized void close() {
        for (var i : new SharedIndexInformer<?>[] {namespaced, cluster, namespaces}) if (i != null) i.close();
    }
}
