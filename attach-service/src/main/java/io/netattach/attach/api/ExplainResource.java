package io.netattach.attach.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.netattach.attach.kube.PodView;
import io.netattach.attach.orchestration.Explainer;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/** POST a Pod manifest (JSON): what attach-service would do for it, without doing it. */
@Path("/api/v1/explain")
@Consumes(MediaType.APPLICATION_JSON)
@Produces(MediaType.APPLICATION_JSON)
public class ExplainResource {
    @Inject Explainer explainer;

    @POST
    public Response explain(JsonNode manifest) {
        if (manifest == null || !manifest.isObject()) return NetworkSelectionResource.invalid("body must be a Pod manifest (JSON object)");
        if (!manifest.path("kind").isMissingNode() && !"Pod".equals(manifest.path("kind").asText())) {
            return NetworkSelectionResource.invalid("\"kind\" must be Pod, got \"" + manifest.path("kind").asText() + "\"");
        }
        JsonNode meta = manifest.path("metadata");
        String name = meta.path("name").asText("");
        if (name.isEmpty()) return NetworkSelectionResource.invalid("\"metadata.name\" is required");
        String namespace = meta.path("namespace").asText("default");
        // a manifest not created yet has no UID: a stable stand-in keeps dry-run request ids readable
        String uid = meta.path("uid").asText(UUID.nameUUIDFromBytes((namespace + "/" + name).getBytes(StandardCharsets.UTF_8)).toString());
        Map<String, String> labels = new HashMap<>();
        meta.path("labels").properties().forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
        JsonNode annotations = meta.path("annotations");
        PodView pod = new PodView(uid, namespace, name,
                manifest.path("spec").path("nodeName").asText(null),
                manifest.path("spec").path("serviceAccountName").asText("default"),
                Map.copyOf(labels),
                annotations.path(PodView.NETWORKS).asText(null),
                annotations.path(PodView.NETWORK_STATUS).asText(null));
        return Response.ok(explainer.explain(pod)).build();
    }
}
