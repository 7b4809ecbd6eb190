package io.netattach.ipam.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.netattach.ipam.domain.Address;
import io.netattach.ipam.domain.Dns;
import io.netattach.ipam.domain.Lease;
import io.netattach.ipam.domain.Owner;
import io.netattach.ipam.domain.Range;
import io.netattach.ipam.domain.RangeSet;
import io.netattach.ipam.domain.Route;
import io.netattach.ipam.store.Holding;
import io.netattach.ipam.store.PoolRecord;

import java.math.BigInteger;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

/** JSON shapes of the REST API (docs/api/ipam.md). */
public final class Views {
    private Views() {
    }

    public record PoolBody(Map<String, Object> ipam, String cluster) {
    }

    public record OwnerBody(String cluster, String namespace, String pod, String podUid, @JsonProperty("interface") String iface) {
        Owner toOwner() {
            return new Owner(cluster, namespace, pod, podUid, iface);
        }

        static OwnerBody of(Owner o) {
            return new OwnerBody(o.cluster(), o.namespace(), o.pod(), o.podUid(), o.iface());
        }
    }

    public record AllocationBody(OwnerBody owner, List<String> ips) {
    }

    public record Utilization(BigInteger total, long used, BigInteger free) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record RangeView(String subnet, String rangeStart, String rangeEnd, String gateway, List<String> exclude, BigInteger size) {
        static RangeView of(Range r) {
            List<String> ex = r.excluded().stream().map(i -> {
                Address lo = new Address(r.subnet().bits(), i.lo());
                Address hi = new Address(r.subnet().bits(), i.hi());
                return lo.equals(hi) ? lo.toString() : lo + "-" + hi;
            }).toList();
            return new RangeView(r.subnet().networkText(), r.first().toString(), r.last().toString(),
                    r.gateway() == null ? null : r.gateway().toString(), ex.isEmpty() ? null : ex, r.size());
        }
    }

    public record PoolView(String name, String cluster, String type, boolean derived, String networkName,
                           List<List<RangeView>> ranges, List<Route> routes, Dns dns, Utilization utilization,
                           List<String> warnings, Map<String, Object> ipam, OffsetDateTime createdAt) {
        static PoolView of(PoolRecord p) {
            List<List<RangeView>> ranges = p.definition().rangeSets().stream().map((RangeSet s) -> s.ranges().stream().map(RangeView::of).toList()).toList();
            return new PoolView(p.name(), p.cluster(), p.definition().kind().cniType, p.derived(), p.definition().networkName(), ranges,
                    p.definition().routes(), p.definition().dns(), new Utilization(p.total(), p.used(), p.free()), p.warnings(), p.ipam(), p.createdAt());
        }
    }

    public record LeaseView(String pool, List<String> ips, String gateway, List<String> gateways, List<Route> routes, Dns dns) {
        static LeaseView of(Lease l) {
            return new LeaseView(l.pool(), l.ips(), l.gateways().isEmpty() ? null : l.gateways().getFirst(), l.gateways(), l.routes(), l.dns());
        }
    }

    public record HoldingView(String address, int rangeSet, @JsonProperty("static") boolean fixed, OwnerBody owner, OffsetDateTime createdAt) {
        static HoldingView of(Holding h) {
            return new HoldingView(h.address(), h.rangeSet(), h.fixed(), OwnerBody.of(h.owner()), h.createdAt());
        }
    }

    public record Released(int released) {
    }

    public record ErrorBody(String error, String reason) {
    }
}
