package io.netattach.policy.api;

import io.netattach.policy.api.Messages.PolicyDecisionData;
import io.netattach.policy.api.Messages.PolicyRequestData;
import io.netattach.policy.domain.InvalidRequest;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.util.Map;

/** POST /api/v1/decisions: a dry run. Body = the data of a policy request; answer = the data of the decision. */
@Path("/api/v1/decisions")
public class DecisionResource {
    @Inject Gatekeeper gatekeeper;
    @ConfigProperty(name = "netattach.cluster-id") String cluster;

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    public Response dryRun(PolicyRequestData body) {
        if (body == null) return bad("body: missing; expected the PolicyRequestData of docs/asyncapi.yaml");
        // requestId and cluster are optional here: a dry run answers the caller, not a correlation.
        var request = new PolicyRequestData(body.requestId() == null || body.requestId().isBlank() ? "dry-run" : body.requestId(),
                body.cluster() == null ? cluster : body.cluster(), body.pod(), body.selections());
        try {
            return Response.ok(PolicyDecisionData.of(gatekeeper.dryRun(request.toDomain()))).build();
        } catch (InvalidRequest e) {
            return bad(e.getMessage());
        }
    }

    /** A body that is not JSON, or has a field of the wrong type, gets the same error shape as a bad value. */
    @org.jboss.resteasy.reactive.server.ServerExceptionMapper
    public Response unreadable(com.fasterxml.jackson.core.JsonProcessingException e) {
        return bad("body: not a PolicyRequestData: " + e.getOriginalMessage());
    }

    private static Response bad(String message) {
        return Response.status(Response.Status.BAD_REQUEST).type(MediaType.APPLICATION_JSON).entity(Map.of("error", message)).build();
    }
}
