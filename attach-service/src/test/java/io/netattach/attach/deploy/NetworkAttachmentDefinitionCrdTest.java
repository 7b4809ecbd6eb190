package io.netattach.attach.deploy;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The NAD CRD must be interchangeable with the one Multus and the NPWG spec define, or NADs would not carry over. */
class NetworkAttachmentDefinitionCrdTest {

    @Test
    void crdHasTheUpstreamGroupNamesVersionAndConfigField() {
        for (String overlay : List.of("overlays/single-cluster", "overlays/multi-cluster-member")) {
            CustomResourceDefinition crd = RenderedManifests.of(overlay)
                    .get(CustomResourceDefinition.class, "network-attachment-definitions.k8s.cni.cncf.io");
            var spec = crd.getSpec();
            assertEquals("k8s.cni.cncf.io", spec.getGroup());
            assertEquals("Namespaced", spec.getScope());
            assertEquals("NetworkAttachmentDefinition", spec.getNames().getKind());
            assertEquals("network-attachment-definitions", spec.getNames().getPlural());
            assertEquals("network-attachment-definition", spec.getNames().getSingular());
            assertEquals(List.of("nad", "net-attach-def"), spec.getNames().getShortNames(), "kubectl get nad / net-attach-def keep working");
            assertEquals(1, spec.getVersions().size());
            CustomResourceDefinitionVersion v1 = spec.getVersions().getFirst();
            assertEquals("v1", v1.getName());
            assertTrue(v1.getServed() && v1.getStorage());
            JSONSchemaProps config = v1.getSchema().getOpenAPIV3Schema().getProperties().get("spec").getProperties().get("config");
            assertEquals("string", config.getType(), "spec.config is the CNI configuration as a JSON string");
        }
    }
}
