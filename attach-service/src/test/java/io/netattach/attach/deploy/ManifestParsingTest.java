package io.netattach.attach.deploy;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespaced;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ManifestParsingTest {

    /** Kinds whose model fabric8 does not ship: the Prometheus Operator's, in the optional component. */
    private static final Set<String> KINDS_WITHOUT_MODEL = Set.of("ServiceMonitor");

    static List<RenderedManifests> variants() {
        return RenderedManifests.everyVariant();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void everyRenderedObjectParsesIntoItsTypedModelClass(RenderedManifests rendered) {
        assertFalse(rendered.objects().isEmpty(), rendered + " rendered nothing");
        for (HasMetadata o : rendered.objects()) {
            if (KINDS_WITHOUT_MODEL.contains(o.getKind())) continue;
            assertFalse(o instanceof GenericKubernetesResource,
                    o.getKind() + " " + o.getMetadata().getName() + " in " + rendered + " has no typed model (apiVersion " + o.getApiVersion() + ")");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void everyNamespacedObjectLivesInNetattachSystem(RenderedManifests rendered) {
        for (HasMetadata o : rendered.objects()) {
            if (o instanceof Namespaced || o instanceof GenericKubernetesResource) {
                assertEquals("netattach-system", o.getMetadata().getNamespace(),
                        o.getKind() + " " + o.getMetadata().getName() + " in " + rendered);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void everyContainerImageIsANetattachImageWithAnExplicitTag(RenderedManifests rendered) {
        List<String> images = PodTemplates.containers(rendered).stream().map(c -> c.container().getImage()).toList();
        assertFalse(images.isEmpty(), rendered + " has no containers");
        for (String image : images) {
            assertTrue(image.matches("netattach/(ipam-service|policy-service|attach-service|node-worker):0\\.1\\.0"),
                    "image " + image + " in " + rendered + " is not set through kustomize images:");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void noObjectIsRenderedTwice(RenderedManifests rendered) {
        List<String> keys = rendered.objects().stream()
                .map(o -> o.getKind() + "/" + o.getMetadata().getNamespace() + "/" + o.getMetadata().getName()).toList();
        assertEquals(keys.size(), Set.copyOf(keys).size(), "duplicates in " + rendered + ": " + keys);
    }
}
