package io.netattach.ipam.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.netattach.ipam.domain.Dns;
import io.netattach.ipam.domain.Owner;
import io.netattach.ipam.domain.Route;

import java.util.List;

/**
 * What ipam-service writes for one request: its audit events, then its result (the data of docs/asyncapi.yaml's
 * IpamResult and AuditEvent). Every id derives from the requestId, so answering a redelivered request again writes
 * the same events under the same ids.
 */
public record IpamAnswer(IpamRequest request, Result result, List<Audit> audits) {

    /** The data of an io.netattach.ipam.result event (IpamResultData), one shape per outcome. */
    public sealed interface Result permits Leased, PoolNamed, Freed, Refusal {
    }

    /** Addresses held (or, for a dry run of a static section, the addresses it would give); error is always null. */
    public record Leased(String requestId, boolean ok, String pool, List<String> ips, List<String> gateways, List<Route> routes, Dns dns,
                         Error error) implements Result {
        Leased(String requestId, String pool, List<String> ips, List<String> gateways, List<Route> routes, Dns dns) {
            this(requestId, true, pool, ips, gateways, routes, dns, null);
        }
    }

    /** A dry run of a dynamic section: the pool it would allocate from. */
    public record PoolNamed(String requestId, boolean ok, String pool) implements Result {
        PoolNamed(String requestId, String pool) {
            this(requestId, true, pool);
        }
    }

    /** A release or a reconcile: how many addresses it freed; error is always null. */
    public record Freed(String requestId, boolean ok, int released, Error error) implements Result {
        Freed(String requestId, int released) {
            this(requestId, true, released, null);
        }
    }

    /** A request refused or failed. */
    public record Refusal(String requestId, boolean ok, Error error) implements Result {
        Refusal(String requestId, String reason, String message) {
            this(requestId, false, new Error(reason, message));
        }
    }

    /** reason: Invalid, NotFound, Exhausted, Conflict (IpamException.Reason) or Unavailable; message names field and value. */
    public record Error(String reason, String message) {
    }

    /**
     * One io.netattach.ipam.&lt;outcome&gt; audit event, keyed by the owner's pod UID.
     *
     * @param id the event id: &lt;requestId&gt;/audit (reconcile: /audit/&lt;podUid&gt;)
     */
    public record Audit(String id, String outcome, Owner owner, String network, List<String> ips, String reason) {
        AuditData data() {
            PodRef pod = owner == null || owner.namespace() == null ? null
                    : new PodRef(owner.namespace(), String.valueOf(owner.pod()), String.valueOf(owner.podUid()));
            return new AuditData(outcome, pod, network, owner == null ? null : owner.iface(), ips, reason);
        }
    }

    /** The data of an AuditEvent (AuditData). */
    public record AuditData(String outcome, PodRef pod, String network, @JsonProperty("interface") String iface, List<String> ips, String reason) {
    }

    public record PodRef(String namespace, String name, String uid) {
    }
}
