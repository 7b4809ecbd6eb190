package io.netattach.ipam.api;

import io.netattach.ipam.api.Views.AllocationBody;
import io.netattach.ipam.api.Views.HoldingView;
import io.netattach.ipam.api.Views.LeaseView;
import io.netattach.ipam.api.Views.PoolBody;
import io.netattach.ipam.api.Views.PoolView;
import io.netattach.ipam.domain.IpamException;
import io.netattach.ipam.domain.Owner;
import io.netattach.ipam.store.IpamStore;
import io.netattach.ipam.store.UpsertResult;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;

import java.util.List;

/**
 * Pools and allocations for operators (docs/api/ipam.md). Thin: HTTP in, store call, HTTP out. Allocate and
 * release return a Uni and run on the event loop (the store hands anything that blocks to a worker thread); the
 * other methods block, on worker threads.
 */
@Path("/api/v1/pools")
@Produces(MediaType.APPLICATION_JSON)
@Tag(name = "pools")
public class PoolResource {

    @Inject IpamStore store;
    @Inject IpamMetrics metrics;

    @PUT
    @Path("{name}")
    @Operation(summary = "Create (201) or update (200) a pool from a CNI ipam section; 422 when invalid")
    public Response put(@PathParam("name") String name, PoolBody body) {
        if (body == null || body.ipam() == null) throw IpamException.missing("ipam");
        UpsertResult r = store.putPool(name, body.cluster(), body.ipam());
        return Response.status(r.created() ? 201 : 200).entity(PoolView.of(r.pool())).build();
    }

    @GET
    @Operation(summary = "Every pool with its utilization (total, used, free)")
    public List<PoolView> list() {
        return store.pools().stream().map(PoolView::of).toList();
    }

    @GET
    @Path("{name}")
    public PoolView get(@PathParam("name") String name) {
        return PoolView.of(store.pool(name).orElseThrow(() -> notFound(name)));
    }

    @DELETE
    @Path("{name}")
    @Operation(summary = "Delete a pool; 409 while it has allocations unless force=true")
    public Response delete(@PathParam("name") String name, @QueryParam("force") @DefaultValue("false") boolean force) {
        if (!store.deletePool(name, force)) throw notFound(name);
        return Response.noContent().build();
    }

    @POST
    @Path("{name}/allocations")
    @Operation(summary = "Allocate one address per range set for an owner: 201 new, 200 already held")
    public Uni<Response> allocate(@PathParam("name") String name, AllocationBody body) {
        // on the event loop: a dynamic request waits for its pool's batch without holding a thread; deferred, so that
        // a request refused before it reaches the store is counted like the others
        return Uni.createFrom().deferred(() -> {
                    if (body == null || body.owner() == null) throw IpamException.missing("owner");
                    return store.allocateAsync(name, body.owner().toOwner(), body.ips(), null);
                })
                .invoke(metrics::allocated).onFailure().invoke(metrics::refused)
                .map(lease -> Response.status(lease.created() ? 201 : 200).entity(LeaseView.of(lease)).build());
    }

    @GET
    @Path("{name}/allocations")
    @Operation(summary = "Who holds each address of the pool")
    public List<HoldingView> allocations(@PathParam("name") String name) {
        return store.allocations(name).stream().map(HoldingView::of).toList();
    }

    @DELETE
    @Path("{name}/allocations")
    @Operation(summary = "Release what a pod holds in the pool (interface omitted: every interface); releasing twice is fine")
    public Uni<Views.Released> release(@PathParam("name") String name, @QueryParam("podUid") String podUid,
                                       @QueryParam("interface") String iface, @QueryParam("cluster") String cluster) {
        if (podUid == null || podUid.isBlank()) throw IpamException.missing("podUid");
        if (iface != null) new Owner("-", "-", "-", podUid, iface).validated(true);
        // the pool is looked up only when nothing was freed: a release that freed rows proves the pool exists,
        // and the common case saves a round trip
        return store.releaseAsync(cluster, podUid, iface, name).invoke(freed -> metrics.released(freed.size(), "release"))
                .onItem().transformToUni(freed -> freed.isEmpty()
                ? store.poolExistsAsync(name).map(exists -> {
                    if (!exists) throw notFound(name);
                    return new Views.Released(0);
                })
                : Uni.createFrom().item(new Views.Released(freed.size())));
    }

    private static IpamException notFound(String name) {
        return new IpamException(IpamException.Reason.NotFound, "pool \"" + name + "\" not found");
    }
}
