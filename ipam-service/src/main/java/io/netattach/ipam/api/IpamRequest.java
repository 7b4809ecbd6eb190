package io.netattach.ipam.api;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netattach.ipam.domain.IpamConfig;
import io.netattach.ipam.domain.IpamException;
import io.netattach.ipam.domain.Owner;
import io.netattach.ipam.domain.PoolDefinition;

import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One record of netattach.ipam.requests, read: what it asks (docs/asyncapi.yaml IpamAllocate, IpamRelease,
 * IpamReconcile) and where its answer goes. A record without a requestId cannot be answered: {@link #read} throws
 * {@link Unreadable}. A request that can be answered but is wrong (a field missing or invalid, a type that is no
 * ipam request) reads as {@link Refused}, so the caller, who waits for the requestId, gets an error result.
 *
 * @param type      the CloudEvent type as sent
 * @param network   the NAD as namespace/name, or null (allocate; reported in audit events)
 * @param resultKey the record key of the answer: the request's key, else the owner's pod UID, else data.cluster
 * @param subject   the owner's pod as namespace/name, or null
 */
public record IpamRequest(String requestId, String type, Owner owner, String network, String resultKey, String subject, Body body) {
    static final String ALLOCATE = "io.netattach.ipam.allocate";
    static final String RELEASE = "io.netattach.ipam.release";
    static final String RECONCILE = "io.netattach.ipam.reconcile";

    /** What the request asks, checked. */
    public sealed interface Body permits Allocate, Release, Reconcile, Refused {
    }

    /**
     * Addresses for the owner from the NAD's ipam section.
     *
     * @param ipam the section as written; {@code section} is it parsed
     * @param ips  the annotation's static requests, or null
     */
    public record Allocate(Map<String, Object> ipam, PoolDefinition section, List<String> ips, boolean dryRun) implements Body {
        /** A dynamic allocation from a pool (no static requests, no dry run): the store can answer it without a thread. */
        boolean dynamic() {
            return !dryRun && (ips == null || ips.isEmpty()) && section.hasPool();
        }
    }

    /** Free what the owner holds (owner.interface null: every interface of the pod). */
    public record Release() implements Body {
    }

    /** Free what pods of the cluster that are not live hold, if allocated before the snapshot. */
    public record Reconcile(String cluster, Set<String> liveOwners, OffsetDateTime snapshotTime) implements Body {
    }

    /** A request that is answered with this error (an {@link IpamException} names the field and value). */
    public record Refused(RuntimeException reason) implements Body {
    }

    /** A record that names no request to answer; the message names the field and value. */
    public static final class Unreadable extends RuntimeException {
        Unreadable(String message) {
            super(message);
        }
    }

    /**
     * Reads one record (key = pod UID, or the cluster id for a reconcile; value = a CloudEvent in structured JSON).
     *
     * @throws Unreadable when the value is not JSON or names no requestId (data.requestId, else the event id)
     */
    public static IpamRequest read(ObjectMapper json, String key, String value) {
        if (value == null) throw new Unreadable("value: missing (a record without a value), key " + quoted(key));
        JsonNode event;
        try {
            event = json.readTree(value);
        } catch (Exception e) {
            throw new Unreadable("value: " + quoted(abbreviated(value)) + " is not JSON (" + firstLine(e.getMessage()) + "), key " + quoted(key));
        }
        String type = event.path("type").asText("");
        JsonNode data = event.path("data");
        String requestId = data.path("requestId").asText(event.path("id").asText(""));
        if (requestId.isEmpty()) {
            throw new Unreadable("data.requestId: missing, and no id either: nothing to answer under (type " + quoted(type) + ", key " + quoted(key) + ")");
        }
        Owner owner = data.has("owner") ? owner(data.path("owner")) : null;
        String subject = owner != null && owner.namespace() != null ? owner.podRef() : null;
        String resultKey = key != null ? key : owner != null && owner.podUid() != null ? owner.podUid() : data.path("cluster").asText(null);
        Body body;
        try {
            body = switch (type) {
                case ALLOCATE -> allocate(json, data, owner);
                case RELEASE -> release(owner);
                case RECONCILE -> reconcile(data);
                default -> throw IpamException.invalid("type", type, "is not an ipam request (io.netattach.ipam.allocate, release, reconcile)");
            };
        } catch (RuntimeException e) {
            body = new Refused(e);
        }
        return new IpamRequest(requestId, type, owner, data.path("network").asText(null), resultKey, subject, body);
    }

    private static Allocate allocate(ObjectMapper json, JsonNode data, Owner owner) {
        if (owner == null) throw IpamException.missing("data.owner");
        owner.validated(true);
        if (!data.path("ipam").isObject()) throw IpamException.missing("data.ipam");
        Map<String, Object> ipam = json.convertValue(data.path("ipam"), new TypeReference<>() { });
        List<String> ips;
        try {
            ips = data.path("ips").isArray() ? json.convertValue(data.path("ips"), new TypeReference<>() { }) : null;
        } catch (IllegalArgumentException e) {
            throw IpamException.invalid("data.ips", data.path("ips").toString(), "is not a list of addresses");
        }
        return new Allocate(ipam, IpamConfig.parse(ipam), ips, data.path("dryRun").asBoolean(false));
    }

    private static Release release(Owner owner) {
        if (owner == null) throw IpamException.missing("data.owner");
        owner.validated(false);
        return new Release();
    }

    private static Reconcile reconcile(JsonNode data) {
        String cluster = data.path("cluster").asText("");
        if (cluster.isBlank()) throw IpamException.missing("data.cluster");
        if (!data.path("liveOwners").isArray()) throw IpamException.missing("data.liveOwners");
        Set<String> live = new HashSet<>();
        data.path("liveOwners").forEach(n -> live.add(n.asText()));
        String snapshot = data.path("snapshotTime").asText("");
        try {
            return new Reconcile(cluster, live, OffsetDateTime.parse(snapshot));
        } catch (DateTimeParseException e) {
            throw IpamException.invalid("data.snapshotTime", snapshot, "is not an RFC 3339 date-time");
        }
    }

    private static Owner owner(JsonNode o) {
        return new Owner(text(o, "cluster"), text(o, "namespace"), text(o, "pod"), text(o, "podUid"), text(o, "interface"));
    }

    private static String text(JsonNode o, String field) {
        JsonNode n = o.path(field);
        return n.isTextual() ? n.asText() : null;
    }

    private static String quoted(String s) {
        return s == null ? "null" : "\"" + s + "\"";
    }

    private static String abbreviated(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }

    private static String firstLine(String s) {
        if (s == null) return "unreadable";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
