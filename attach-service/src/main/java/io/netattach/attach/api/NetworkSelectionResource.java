package io.netattach.attach.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import io.netattach.attach.domain.InvalidSelectionException;
import io.netattach.attach.domain.NetworkSelection;
import io.netattach.attach.domain.NetworkSelectionParser;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.util.List;

/** Parses a networks annotation exactly as the controller would; no cluster access. */
@Path("/api/v1/network-selections")
@Consumes(MediaType.APPLICATION_JSON)
@Produces(MediaType.APPLICATION_JSON)
public class NetworkSelectionResource {

    public record ParseRequest(String namespace, String annotation) {
    }

    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Element(String name, String namespace, @com.fasterxml.jackson.annotation.JsonProperty("interface") String iface,
                          String interfaceRequest, List<String> ips, String mac, List<String> defaultRoute, JsonNode cniArgs,
                          JsonNode portMappings, JsonNode bandwidth, String infinibandGuid, String ipamClaimReference) {
        static Element of(NetworkSelection s) {
            return new Element(s.name(), s.namespace(), s.interfaceName(), s.interfaceRequest(), s.ips(), s.mac(), s.defaultRoute(),
                    s.cniArgs(), s.portMappings(), s.bandwidth(), s.infinibandGuid(), s.ipamClaimReference());
        }
    }

    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Elements(List<Element> elements) {
    }

    public record ErrorBody(String error) {
    }

    @POST
    public Response parse(ParseRequest request) {
        if (request == null) return invalid("body is required: {\"namespace\": \"...\", \"annotation\": \"...\"}");
        String namespace = request.namespace() == null || request.namespace().isEmpty() ? "default" : request.namespace();
        try {
            List<Element> elements = NetworkSelectionParser.parse(request.annotation(), namespace).stream().map(Element::of).toList();
            return Response.ok(new Elements(elements)).build();
        } catch (InvalidSelectionException e) {
            return invalid(e.getMessage());
        }
    }

    static Response invalid(String message) {
        return Response.status(422).type(MediaType.APPLICATION_JSON).entity(new ErrorBody(message)).build();
    }
}
