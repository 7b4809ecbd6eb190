package io.netattach.ipam.api;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * IPAM's metrics at /q/metrics follow what the API answered: allocation requests by outcome, addresses released,
 * operations per batch, and each pool's size and addresses held (the Grafana dashboard's IPAM panels).
 */
@QuarkusTest
class IpamMetricsTest {

    @Test
    void outcomesReleasesBatchesAndPoolUtilizationAreExported() throws InterruptedException {
        String p = "metrics-" + UUID.randomUUID().toString().substring(0, 8);
        PoolResourceTest.put(p, "{\"type\":\"whereabouts\",\"range\":\"10.93.0.0/29\"}", 201); // 6 addresses: .1 to .6
        String before = metrics();

        post(p, PoolResourceTest.allocation("a-" + p, "net1", null), 201);
        post(p, PoolResourceTest.allocation("a-" + p, "net1", null), 200);
        post(p, PoolResourceTest.allocation("b-" + p, "net1", "[\"10.93.0.1\"]"), 409); // held by a
        for (int i = 0; i < 5; i++) post(p, PoolResourceTest.allocation("f" + i + "-" + p, "net1", null), 201);
        post(p, PoolResourceTest.allocation("late-" + p, "net1", null), 409); // exhausted
        post(p, "{\"owner\":{\"cluster\":\"c1\",\"namespace\":\"default\",\"pod\":\"x\",\"podUid\":\"x\",\"interface\":\"bad name!\"}}", 422);
        given().contentType(ContentType.JSON).body("{}").post("/api/v1/pools/" + p + "/allocations").then().statusCode(422)
                .body("error", equalTo("owner: missing")).body("reason", equalTo("Invalid"));
        given().delete("/api/v1/pools/" + p + "/allocations?podUid=a-" + p).then().statusCode(200);
        String after = metrics();

        assertEquals(6, delta(before, after, "netattach_ipam_allocations_total", "outcome=\"allocated\""), 0.0);
        assertEquals(1, delta(before, after, "netattach_ipam_allocations_total", "outcome=\"existing\""), 0.0);
        assertEquals(1, delta(before, after, "netattach_ipam_allocations_total", "outcome=\"conflict\""), 0.0);
        assertEquals(1, delta(before, after, "netattach_ipam_allocations_total", "outcome=\"exhausted\""), 0.0);
        assertEquals(2, delta(before, after, "netattach_ipam_allocations_total", "outcome=\"invalid\""), 0.0);
        assertEquals(1, delta(before, after, "netattach_ipam_released_addresses_total", "cause=\"release\""), 0.0);
        // every dynamic allocate and the release went through a batch (static requests do not)
        double batches = delta(before, after, "netattach_ipam_batch_operations_count", "");
        double operations = delta(before, after, "netattach_ipam_batch_operations_sum", "");
        assertTrue(batches >= 1 && batches <= operations, "batches " + batches + ", operations " + operations);
        assertTrue(operations >= 9, "operations in batches: " + operations);

        // the pool's gauges catch up at the next refresh (1 s in tests): 5 held of 6 after the release
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        String pool = "pool=\"" + p + "\"";
        while (value(metrics(), "netattach_ipam_pool_used_addresses", pool) != 5 || value(metrics(), "netattach_ipam_pool_size_addresses", pool) != 6) {
            if (System.nanoTime() > deadline) fail("pool gauges of " + p + " not at 5 of 6 within 20 s: " + lines(metrics(), p));
            Thread.sleep(100);
        }
        given().delete("/api/v1/pools/" + p + "?force=true").then().statusCode(204);
        deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (metrics().contains(pool)) {
            if (System.nanoTime() > deadline) fail("a deleted pool stays in the metrics: " + lines(metrics(), p));
            Thread.sleep(100);
        }
    }

    private static void post(String pool, String body, int status) {
        given().contentType(ContentType.JSON).body(body).post("/api/v1/pools/" + pool + "/allocations").then().statusCode(status);
    }

    static String metrics() {
        return given().get("/q/metrics").then().statusCode(200).extract().asString();
    }

    static double delta(String before, String after, String name, String label) {
        return value(after, name, label) - Math.max(0, value(before, name, label));
    }

    /** The sample of name whose labels contain label; -1 when there is none. */
    private static double value(String text, String name, String label) {
        Matcher m = Pattern.compile("(?m)^" + name + "(\\{[^}]*})? ([-+0-9.eE]+|NaN)$").matcher(text);
        while (m.find()) {
            if (label.isEmpty() || (m.group(1) != null && m.group(1).contains(label))) return Double.parseDouble(m.group(2));
        }
        return -1;
    }

    private static String lines(String text, String pool) {
        return text.lines().filter(l -> l.contains(pool)).toList().toString();
    }
}
