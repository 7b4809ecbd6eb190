package io.netattach.attach.deploy;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespaced;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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

    /**
     * fabric8 keeps fields its model does not know in additionalProperties instead of failing, so a misspelt
     * or misplaced field (say `mountPropagaton`) would parse and be silently ignored by the API server's
     * pruning too. Walk every typed object and require that nothing landed there.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void noFieldIsUnknownToTheModel(RenderedManifests rendered) {
        List<String> unknown = new ArrayList<>();
        for (HasMetadata o : rendered.objects()) {
            if (o instanceof GenericKubernetesResource) continue;
            collectUnknownFields(o, o.getKind() + " " + o.getMetadata().getName(), unknown);
        }
        assertEquals(List.of(), unknown, "fields the Kubernetes model does not know, in " + rendered);
    }

    private static void collectUnknownFields(Object value, String path, List<String> unknown) {
        switch (value) {
            case null -> {
            }
            case Map<?, ?> map -> map.forEach((k, v) -> collectUnknownFields(v, path + "." + k, unknown));
            case List<?> list -> {
                for (int i = 0; i < list.size(); i++) collectUnknownFields(list.get(i), path + "[" + i + "]", unknown);
            }
            default -> {
                if (!value.getClass().getPackageName().startsWith("io.fabric8.kubernetes.api.model")) return;
                // Model classes are plain beans: their getters are the fields.
                for (Method getter : value.getClass().getMethods()) {
                    if (getter.getParameterCount() != 0 || !getter.getName().startsWith("get") || getter.getDeclaringClass() == Object.class) continue;
                    Object field;
                    try {
                        field = getter.invoke(value);
                    } catch (ReflectiveOperationException e) {
                        throw new AssertionError(path + ": cannot read " + getter.getName(), e);
                    }
                    if (getter.getName().equals("getAdditionalProperties")) {
                        if (field instanceof Map<?, ?> extra && !extra.isEmpty()) unknown.add(path + ": " + extra.keySet());
                    } else {
                        collectUnknownFields(field, path + "." + getter.getName().substring(3), unknown);
                    }
                }
            }
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
