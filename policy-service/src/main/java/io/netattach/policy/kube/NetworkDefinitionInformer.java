package io.netattach.policy.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.netattach.policy.domain.nad.NetworkDefinition;
import io.netattach.policy.domain.nad.NetworkDefinitions;
import org.jboss.logging.Logger;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An informer cache of NetworkAttachmentDefinitions in every namespace: the RBAC rule reads a NAD's
 * {@value NetworkDefinition#REQUIRE_RBAC} annotation from the API server's copy, not from the request.
 */
public class NetworkDefinitionInformer implements NetworkDefinitions, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(NetworkDefinitionInformer.class);
    public static final ResourceDefinitionContext NAD = new ResourceDefinitionContext.Builder()
            .withGroup("k8s.cni.cncf.io").withVersion("v1").withKind("NetworkAttachmentDefinition")
            .withPlural("network-attachment-definitions").withNamespaced(true).build();

    private final KubernetesClient client;
    private final AtomicLong version = new AtomicLong();
    private SharedIndexInformer<GenericKubernetesResource> informer;

    public NetworkDefinitionInformer(KubernetesClient client) {
        this.client = client;
    }

    /** Starts the informer without waiting: until it has listed once, {@link #ready()} is false and decisions fail closed. */
    public synchronized void start() {
        if (informer != null) return;
        informer = client.genericKubernetesResources(NAD).inAnyNamespace().runnableInformer(0);
        informer.addEventHandler(new ResourceEventHandler<>() {
            @Override public void onAdd(GenericKubernetesResource nad) {
                version.incrementAndGet();
                warnIfUnclear(nad);
            }
            @Override public void onUpdate(GenericKubernetesResource old, GenericKubernetesResource nad) {
                // a new CNI config changes no decision; the annotation does
                if (Objects.equals(annotation(old), annotation(nad))) return;
                version.incrementAndGet();
                warnIfUnclear(nad);
            }
            @Override public void onDelete(GenericKubernetesResource nad, boolean unknown) {
                version.incrementAndGet();
            }
        });
        Informers.start(informer, "NetworkAttachmentDefinitions", "RBAC");
    }

    @Override
    public boolean ready() {
        return informer != null && informer.hasSynced() && informer.isRunning();
    }

    @Override
    public long version() {
        return version.get();
    }

    @Override
    public Optional<NetworkDefinition> find(String namespace, String name) {
        return Optional.ofNullable(informer.getStore().getByKey(namespace + "/" + name)).map(NetworkDefinitionInformer::definition);
    }

    private static NetworkDefinition definition(GenericKubernetesResource nad) {
        return new NetworkDefinition(nad.getMetadata().getNamespace(), nad.getMetadata().getName(), annotation(nad));
    }

    private static String annotation(GenericKubernetesResource nad) {
        Map<String, String> annotations = nad.getMetadata().getAnnotations();
        return annotations == null ? null : annotations.get(NetworkDefinition.REQUIRE_RBAC);
    }

    /** Once per change, not per decision: the NAD's owner meant something, and it counts as "true". */
    private static void warnIfUnclear(GenericKubernetesResource nad) {
        NetworkDefinition d = definition(nad);
        if (d.annotationUnclear()) {
            LOG.warnf("NetworkAttachmentDefinition %s: annotation %s: \"%s\" is neither true nor false; counted as true "
                    + "(RBAC required for this NAD)", d.network(), NetworkDefinition.REQUIRE_RBAC, d.requireRbac());
        }
    }

    @Override
    public synchronized void close() {
        if (informer != null) informer.close();
    }
}
