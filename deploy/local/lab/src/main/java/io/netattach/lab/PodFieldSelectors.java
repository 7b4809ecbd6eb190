package io.netattach.lab;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.server.mock.CustomResourceDefinitionProcessor;
import io.fabric8.kubernetes.client.server.mock.KubernetesAttributesExtractor;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.crud.Attribute;
import io.fabric8.mockwebserver.crud.AttributeSet;
import io.fabric8.mockwebserver.crud.CrudDispatcher;

import java.lang.reflect.Field;

/**
 * The pod field selector a real API server serves and the mock does not: {@code spec.nodeName}, with which a
 * kubelet (and node-worker) watches the pods of its node. The mock matches a field selector against attributes it
 * extracts from each stored object; this extractor adds the pod's node name to them. Installed into the mock's pod
 * store by reflection (the mock builds its extractor in its constructor): test infrastructure only.
 */
final class PodFieldSelectors extends KubernetesAttributesExtractor {
    private PodFieldSelectors() {
    }

    @Override
    public AttributeSet extract(HasMetadata resource) {
        AttributeSet attributes = super.extract(resource);
        String node = null;
        if (resource instanceof Pod p && p.getSpec() != null) {
            node = p.getSpec().getNodeName();
        } else if (resource instanceof GenericKubernetesResource g && "Pod".equals(g.getKind())) {
            // what the mock parses stored objects into
            node = g.get("spec", "nodeName");
        }
        return node == null || node.isEmpty() ? attributes : attributes.add(new Attribute("spec.nodeName", node));
    }

    static void install(KubernetesCrudDispatcher pods) {
        try {
            PodFieldSelectors extractor = new PodFieldSelectors();
            Field processor = KubernetesCrudDispatcher.class.getDeclaredField("crdProcessor");
            processor.setAccessible(true);
            extractor.setCustomResourceDefinitionProcessor((CustomResourceDefinitionProcessor) processor.get(pods));
            for (Field f : new Field[] {KubernetesCrudDispatcher.class.getDeclaredField("kubernetesAttributesExtractor"),
                    CrudDispatcher.class.getDeclaredField("attributeExtractor")}) {
                f.setAccessible(true);
                f.set(pods, extractor);
            }
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot teach the mock's pod store the spec.nodeName field selector", e);
        }
    }
}
