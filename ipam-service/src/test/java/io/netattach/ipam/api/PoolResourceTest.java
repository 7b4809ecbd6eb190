package io.netattach.ipam.api;

import io.netattach.ipam.domain.IpamConfig;
import io.netattach.ipam.domain.Owner;
import io.netattach.ipam.store.NadAddresses;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import io.restassured.http.ContentType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@QuarkusTest
class PoolResourceTest {

    @Inject NadAddresses nads;

    static String name() {
        return "rest-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static void put(String pool, String ipam, int status) {
        given().contentType(ContentType.JSON).body("{\"ipam\":" + ipam + "}").put("/api/v1/pools/" + pool).then().statusCode(status);
    }

    static String allocation(String uid, String iface, String ips) {
        return "{\"owner\":{\"cluster\":\"c1\",\"namespace\":\"default\",\"pod\":\"pod-" + uid + "\",\"podUid\":\"" + uid + "\",\"interface\":\"" + iface + "\"}"
                + (ips == null ? "" : ",\"ips\":" + ips) + "}";
    }

    @Test
    void putCreatesThenUpdatesAndReturnsTheNormalizedPool() {
        String p = name();
        given().contentType(ContentType.JSON)
                .body("{\"ipam\":{\"type\":\"host-local\",\"subnet\":\"192.168.1.0/24\",\"rangeStart\":\"192.168.1.200\",\"rangeEnd\":\"192.168.1.250\",\"gateway\":\"192.168.1.1\"}}")
                .put("/api/v1/pools/" + p).then().statusCode(201)
                .body("name", equalTo(p)).body("type", equalTo("host-local")).body("cluster", nullValue())
                .body("ranges[0][0].subnet", equalTo("192.168.1.0/24"))
                .body("ranges[0][0].rangeStart", equalTo("192.168.1.200"))
                .body("ranges[0][0].rangeEnd", equalTo("192.168.1.250"))
                .body("ranges[0][0].gateway", equalTo("192.168.1.1"))
                .body("utilization.total", equalTo(51)).body("utilization.used", equalTo(0)).body("utilization.free", equalTo(51));
        given().contentType(ContentType.JSON).body("{\"ipam\":{\"type\":\"host-local\",\"subnet\":\"192.168.1.0/24\",\"rangeStart\":\"192.168.1.200\",\"rangeEnd\":\"192.168.1.250\"},\"cluster\":\"east\"}")
                .put("/api/v1/pools/" + p).then().statusCode(200).body("cluster", equalTo("east"));
    }

    @Test
    void invalidSectionIs422WithFieldAndValue() {
        given().contentType(ContentType.JSON).body("{\"ipam\":{\"type\":\"whereabouts\",\"range\":\"10.0.0.0/33\"}}")
                .put("/api/v1/pools/" + name()).then().statusCode(422)
                .body("error", equalTo("ipam.range: \"10.0.0.0/33\" has a prefix length beyond the 32 bits of an IPv4 address")).body("reason", equalTo("Invalid"));
        given().contentType(ContentType.JSON).body("{}").put("/api/v1/pools/" + name()).then().statusCode(422)
                .body("error", equalTo("ipam: missing"));
        given().contentType(ContentType.JSON).body("{\"ipam\":{\"type\":\"static\",\"addresses\":[{\"address\":\"10.0.0.1/24\"}]}}")
                .put("/api/v1/pools/" + name()).then().statusCode(422).body("reason", equalTo("Invalid"));
    }

    @Test
    void allocateIs201ThenIdempotent200AndListedWithItsHolder() {
        String p = name();
        put(p, "{\"type\":\"host-local\",\"subnet\":\"10.20.0.0/24\",\"routes\":[{\"dst\":\"192.168.200.0/24\",\"gw\":\"10.20.0.1\"}],\"dns\":{\"nameservers\":[\"10.20.0.53\"]}}", 201);
        String uid = UUID.randomUUID().toString();
        given().contentType(ContentType.JSON).body(allocation(uid, "net1", null)).post("/api/v1/pools/" + p + "/allocations").then().statusCode(201)
                .body("ips", contains("10.20.0.2/24")).body("gateway", equalTo("10.20.0.1")).body("gateways", contains("10.20.0.1"))
                .body("routes[0].dst", equalTo("192.168.200.0/24")).body("routes[0].gw", equalTo("10.20.0.1"))
                .body("dns.nameservers", contains("10.20.0.53")).body("pool", equalTo(p));
        given().contentType(ContentType.JSON).body(allocation(uid, "net1", null)).post("/api/v1/pools/" + p + "/allocations").then().statusCode(200)
                .body("ips", contains("10.20.0.2/24"));
        given().get("/api/v1/pools/" + p + "/allocations").then().statusCode(200)
                .body("[0].address", equalTo("10.20.0.2")).body("[0].owner.podUid", equalTo(uid)).body("[0].owner.interface", equalTo("net1"))
                .body("[0].owner.namespace", equalTo("default")).body("[0].static", equalTo(false));
        given().get("/api/v1/pools/" + p).then().statusCode(200).body("utilization.used", equalTo(1)).body("utilization.free", equalTo(252));
        given().get("/api/v1/pools").then().statusCode(200).body("name", hasItem(p));
        given().delete("/api/v1/pools/" + p + "/allocations?podUid=" + uid + "&interface=net1").then().statusCode(200).body("released", equalTo(1));
        given().delete("/api/v1/pools/" + p + "/allocations?podUid=" + uid + "&interface=net1").then().statusCode(200).body("released", equalTo(0));
        given().get("/api/v1/pools/" + p).then().body("utilization.used", equalTo(0));
    }

    @Test
    void conflictExhaustionAndNotFoundCarryTheirReason() {
        String p = name();
        put(p, "{\"type\":\"host-local\",\"subnet\":\"10.21.0.0/30\"}", 201);
        given().contentType(ContentType.JSON).body(allocation("holder-" + p, "net1", "[\"10.21.0.2/30\"]")).post("/api/v1/pools/" + p + "/allocations").then().statusCode(201)
                .body("ips", contains("10.21.0.2/30"));
        given().contentType(ContentType.JSON).body(allocation("other-" + p, "net1", "[\"10.21.0.2\"]")).post("/api/v1/pools/" + p + "/allocations").then().statusCode(409)
                .body("reason", equalTo("Conflict")).body("error", startsWith("ips: 10.21.0.2 in pool \"" + p + "\" is held by default/pod-holder-" + p));
        given().contentType(ContentType.JSON).body(allocation("third-" + p, "net1", null)).post("/api/v1/pools/" + p + "/allocations").then().statusCode(409)
                .body("reason", equalTo("Exhausted")).body("error", startsWith("pool \"" + p + "\" is exhausted: all 1 addresses"));
        given().contentType(ContentType.JSON).body(allocation("x", "bad/name", null)).post("/api/v1/pools/" + p + "/allocations").then().statusCode(422)
                .body("error", startsWith("owner.interface: \"bad/name\" is not a valid interface name"));
        given().get("/api/v1/pools/nope-" + p).then().statusCode(404).body("reason", equalTo("NotFound")).body("error", equalTo("pool \"nope-" + p + "\" not found"));
        given().contentType(ContentType.JSON).body(allocation("x", "net1", null)).post("/api/v1/pools/nope-" + p + "/allocations").then().statusCode(404);
        given().delete("/api/v1/pools/nope-" + p + "/allocations?podUid=x").then().statusCode(404).body("reason", equalTo("NotFound"));
        given().delete("/api/v1/pools/" + p).then().statusCode(409).body("reason", equalTo("Conflict"));
        given().delete("/api/v1/pools/" + p + "?force=true").then().statusCode(204);
        given().get("/api/v1/pools/" + p).then().statusCode(404);
    }

    @Test
    void concurrentRestAllocationsAndReleasesOfOnePoolShareBatchesAndNeverShareAnAddress() throws Exception {
        // allocate and release run on the event loop and meet in the pool's batches; 8 threads at once
        String p = name();
        put(p, "{\"type\":\"whereabouts\",\"range\":\"10.22.0.0/24\"}", 201);
        ExecutorService threads = Executors.newFixedThreadPool(8);
        try {
            List<Future<List<String>>> got = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                final int thread = t;
                got.add(threads.submit(() -> {
                    List<String> ips = new ArrayList<>();
                    for (int i = 0; i < 10; i++) {
                        String uid = "conc-" + thread + "-" + i + "-" + p;
                        ips.add(given().contentType(ContentType.JSON).body(allocation(uid, "net1", null)).post("/api/v1/pools/" + p + "/allocations")
                                .then().statusCode(201).extract().path("ips[0]"));
                        if (i % 2 == 1) { // churn: release every second one at once
                            given().delete("/api/v1/pools/" + p + "/allocations?podUid=" + uid).then().statusCode(200).body("released", equalTo(1));
                            ips.removeLast();
                        }
                    }
                    return ips;
                }));
            }
            Set<String> held = new HashSet<>();
            for (Future<List<String>> f : got) for (String ip : f.get(60, TimeUnit.SECONDS)) assertTrue(held.add(ip), "handed out twice: " + ip);
            assertEquals(40, held.size());
            given().get("/api/v1/pools/" + p).then().statusCode(200).body("utilization.used", equalTo(40));
            List<String> listed = given().get("/api/v1/pools/" + p + "/allocations").then().statusCode(200).extract().path("address");
            assertEquals(held, Set.copyOf(listed.stream().map(a -> a + "/24").toList()));
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    void openApiDocumentListsThePoolEndpoints() {
        given().get("/q/openapi?format=json").then().statusCode(200)
                .body("paths.'/api/v1/pools/{name}/allocations'.post.summary", startsWith("Allocate"));
    }

    @Test
    void staticSegmentsAreListedWithTheAddressesTheyHoldAndCannotBePut() {
        String nad = "default/" + name();
        Map<String, Object> section = Map.of("type", "static", "addresses", List.of(Map.of("address", "10.23.0.5/24", "gateway", "10.23.0.1")));
        String uid = UUID.randomUUID().toString();
        String segment = nads.allocate(nad, section, IpamConfig.parse(section), new Owner("c1", "default", "pod-" + uid, uid, "net1"), null).pool();
        given().get("/api/v1/pools/" + segment).then().statusCode(200)
                .body("type", equalTo("static")).body("derived", equalTo(true)).body("cluster", equalTo("c1")).body("ranges", empty())
                .body("ipam.network", equalTo(nad))
                .body("utilization.total", equalTo(0)).body("utilization.used", equalTo(1)).body("utilization.free", equalTo(0));
        given().get("/api/v1/pools").then().statusCode(200).body("find { it.name == '" + segment + "' }.type", equalTo("static"));
        given().get("/api/v1/pools/" + segment + "/allocations").then().statusCode(200)
                .body("[0].address", equalTo("10.23.0.5")).body("[0].static", equalTo(true)).body("[0].owner.podUid", equalTo(uid));
        // a static request by the segment's name is checked against its holders
        given().contentType(ContentType.JSON).body(allocation("other-" + uid, "net1", "[\"10.23.0.5/24\"]")).post("/api/v1/pools/" + segment + "/allocations")
                .then().statusCode(409).body("reason", equalTo("Conflict")).body("error", startsWith("ips: 10.23.0.5 in pool \"" + segment + "\" is held by default/pod-" + uid));
        given().contentType(ContentType.JSON).body("{\"ipam\":{\"type\":\"whereabouts\",\"range\":\"10.23.0.0/24\"}}").put("/api/v1/pools/" + segment)
                .then().statusCode(409).body("reason", equalTo("Conflict"));
        given().delete("/api/v1/pools/" + segment + "/allocations?podUid=" + uid).then().statusCode(200).body("released", equalTo(1));
        given().get("/api/v1/pools/" + segment).then().body("utilization.used", equalTo(0));
    }
}
