package io.netattach.ipam.api;

import io.netattach.ipam.domain.IpamException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;

/** Every refusal as {"error", "reason"}: Invalid 422, NotFound 404, Exhausted 409, Conflict 409. */
@Provider
public class IpamErrors implements ExceptionMapper<IpamException> {

    static int status(IpamException.Reason reason) {
        return switch (reason) {
            case Invalid -> 422;
            case NotFound -> 404;
            case Exhausted, Conflict -> 409;
        };
    }

    @Override
    public Response toResponse(IpamException e) {
        return Response.status(status(e.reason())).type(MediaType.APPLICATION_JSON)
                .entity(new Views.ErrorBody(e.getMessage(), e.reason().name())).build();
    }
}
