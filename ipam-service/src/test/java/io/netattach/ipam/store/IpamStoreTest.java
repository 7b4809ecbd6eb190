package io.netattach.ipam.store;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netattach.ipam.domain.IpamConfig;
import io.netattach.ipam.domain.IpamException;
import io.netattach.ipam.domain.IpamException.Reason;
import io.netattach.ipam.domain.Lease;
import io.netattach.ipam.domain.Owner;
import io.netattach.ipam.domain.StaticSegment;
import io.quarkus.test.junit.QuarkusTest;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.PoolOptions;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@QuarkusTest
class IpamStoreTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject IpamStore store;
    @Inject NadAddresses nads;
    @Inject Pool db;
    @Inject Vertx vertx;

    static Map<String, Object> ipam(String json) {
        try {
            return JSON.readValue(json, new TypeReference<>() { });
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException(e);
        }
    }

    static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static Owner pod(String name, String uid, String iface) {
        return new Owner("c1", "default", name, uid, iface);
    }

    String put(String json) {
        String name = unique("p");
        store.putPool(name, null, ipam(json));
        return name;
    }

    @Test
    void seedPoolsGiveTheAddressesHostLocalWould() {
        String macvlan = put("{\"type\":\"host-local\",\"subnet\":\"192.168.1.0/24\",\"rangeStart\":\"192.168.1.200\",\"rangeEnd\":\"192.168.1.250\",\"gateway\":\"192.168.1.1\"}");
        Lease l = store.allocate(macvlan, pod("multi-net-pod", "u1", "net1"), null, null);
        assertEquals(List.of("192.168.1.200/24"), l.ips());
        assertEquals(List.of("192.168.1.1"), l.gateways());
        assertTrue(l.created());
        String bridge = put("{\"type\":\"host-local\",\"subnet\":\"10.20.0.0/24\"}");
        assertEquals(List.of("10.20.0.2/24"), store.allocate(bridge, pod("triple-net-pod", "u2", "net3"), null, null).ips());
        assertEquals(List.of("10.20.0.3/24"), store.allocate(bridge, pod("other", "u3", "net1"), null, null).ips());
        String storage = put("{\"type\":\"host-local\",\"subnet\":\"172.16.0.0/16\",\"rangeStart\":\"172.16.10.0\",\"rangeEnd\":\"172.16.10.255\"}");
        assertEquals(List.of("172.16.10.0/16"), store.allocate(storage, pod("postgres-0", "u4", "net1"), null, null).ips());
    }

    @Test
    void allocatingAgainForTheSameOwnerReturnsTheSameAddresses() {
        String p = put("{\"type\":\"whereabouts\",\"range\":\"10.50.0.0/24\"}");
        Lease first = store.allocate(p, pod("a", "uid-a", "net1"), null, null);
        Lease again = store.allocate(p, pod("a", "uid-a", "net1"), null, null);
        assertEquals(first.ips(), again.ips());
        assertTrue(first.created());
        assertFalse(again.created());
        assertEquals(List.of("10.50.0.2/24"), store.allocate(p, pod("a", "uid-a", "net2"), null, null).ips()); // another interface: another address
        assertEquals(2, store.allocations(p).size());
    }

    @Test
    void releasedAddressIsHandedOutAgainLowestFirst() {
        String p = put("{\"type\":\"whereabouts\",\"range\":\"10.51.0.0/24\",\"exclude\":[\"10.51.0.2\"]}");
        assertEquals("10.51.0.1/24", store.allocate(p, pod("a", "ua", "net1"), null, null).ips().getFirst());
        assertEquals("10.51.0.3/24", store.allocate(p, pod("b", "ub", "net1"), null, null).ips().getFirst());
        assertEquals("10.51.0.4/24", store.allocate(p, pod("c", "uc", "net1"), null, null).ips().getFirst());
        assertEquals(1, store.release("c1", "ub", "net1", p).size());
        assertEquals(0, store.release("c1", "ub", "net1", p).size()); // twice is fine
        assertEquals("10.51.0.3/24", store.allocate(p, pod("d", "ud", "net1"), null, null).ips().getFirst());
        assertEquals("10.51.0.5/24", store.allocate(p, pod("e", "ue", "net1"), null, null).ips().getFirst());
    }

    @Test
    void releaseWithoutInterfaceFreesEveryInterfaceOfThePod() {
        String p = put("{\"type\":\"whereabouts\",\"range\":\"10.52.0.0/24\"}");
        String q = put("{\"type\":\"whereabouts\",\"range\":\"10.52.1.0/24\"}");
        String ua = unique("ua");
        store.allocate(p, pod("a", ua, "net1"), null, null);
        store.allocate(q, pod("a", ua, "net2"), null, null);
        store.allocate(p, pod("b", "ub", "net1"), null, null);
        assertEquals(2, store.release("c1", ua, null, null).size()); // both interfaces, both pools
        assertEquals(List.of("ub"), store.allocations(p).stream().map(h -> h.owner().podUid()).toList());
        assertEquals(List.of(), store.allocations(q));
    }

    @Test
    void staticRequestIsGrantedWhenFreeAndAnotherOwnerGetsAConflictNamingTheHolder() {
        String p = put("{\"type\":\"host-local\",\"subnet\":\"192.168.1.0/24\",\"rangeStart\":\"192.168.1.200\",\"rangeEnd\":\"192.168.1.250\",\"gateway\":\"192.168.1.1\"}");
        Lease l = store.allocate(p, pod("static-ip-pod", "us", "net1"), List.of("192.168.1.100/24"), null);
        assertEquals(List.of("192.168.1.100/24"), l.ips());
        IpamException e = assertThrows(IpamException.class, () -> store.allocate(p, pod("thief", "ut", "net1"), List.of("192.168.1.100"), null));
        assertEquals(Reason.Conflict, e.reason());
        assertTrue(e.getMessage().contains("held by default/static-ip-pod"), e.getMessage());
        // a static address inside the dynamic range is taken out of it
        assertEquals(List.of("192.168.1.200/24"), store.allocate(p, pod("s2", "u2", "net1"), List.of("192.168.1.200"), null).ips());
        assertEquals(List.of("192.168.1.201/24"), store.allocate(p, pod("d", "ud", "net1"), null, null).ips());
    }

    @Test
    void exhaustionNamesThePoolAndItsSize() {
        String p = put("{\"type\":\"host-local\",\"subnet\":\"10.53.0.0/24\",\"rangeStart\":\"10.53.0.10\",\"rangeEnd\":\"10.53.0.12\"}");
        for (int i = 0; i < 3; i++) store.allocate(p, pod("p" + i, "u" + i, "net1"), null, null);
        IpamException e = assertThrows(IpamException.class, () -> store.allocate(p, pod("late", "ul", "net1"), null, null));
        assertEquals(Reason.Exhausted, e.reason());
        assertTrue(e.getMessage().startsWith("pool \"" + p + "\" is exhausted: all 3 addresses"), e.getMessage());
    }

    @Test
    void dualStackIsAllOrNothing() {
        String p = put("{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"fd00:54::/64\"}],[{\"subnet\":\"10.54.0.0/30\"}]]}");
        Lease first = store.allocate(p, pod("a", "ua", "net1"), null, null);
        assertEquals(List.of("fd00:54::2/64", "10.54.0.2/30"), first.ips());
        assertEquals(List.of("fd00:54::1", "10.54.0.1"), first.gateways());
        IpamException e = assertThrows(IpamException.class, () -> store.allocate(p, pod("b", "ub", "net1"), null, null));
        assertEquals(Reason.Exhausted, e.reason());
        assertEquals(1, store.allocations(p).stream().filter(h -> h.address().startsWith("fd00")).count()); // the IPv6 of "b" was rolled back
        store.release("c1", "ua", "net1", p);
        assertEquals(List.of("fd00:54::2/64", "10.54.0.2/30"), store.allocate(p, pod("b", "ub", "net1"), null, null).ips());
    }

    @Test
    void reconcileFreesGonePodsButSparesALivePodReusingTheName() {
        String cluster = unique("rc");
        String p = unique("p");
        store.putPool(p, cluster, ipam("{\"type\":\"whereabouts\",\"range\":\"10.55.0.0/24\"}"));
        store.allocate(p, new Owner(cluster, "database", "postgres-0", "old-uid", "net1"), null, null);
        store.allocate(p, new Owner(cluster, "database", "postgres-1", "live-uid", "net1"), null, null);
        // the StatefulSet brought postgres-0 back under the same name with a new UID
        assertEquals("10.55.0.3/24", store.allocate(p, new Owner(cluster, "database", "postgres-0", "new-uid", "net1"), null, null).ips().getFirst());
        List<IpamStore.Released> released = store.reconcile(cluster, Set.of("live-uid", "new-uid"), dbNow());
        assertEquals(List.of("old-uid"), released.stream().map(r -> r.owner().podUid()).toList());
        assertEquals(List.of("10.55.0.1"), released.stream().map(IpamStore.Released::address).toList());
        assertEquals(Set.of("live-uid", "new-uid"), Set.copyOf(store.allocations(p).stream().map(h -> h.owner().podUid()).toList()));
        assertEquals(0, store.reconcile(cluster, Set.of("live-uid", "new-uid"), dbNow()).size());
    }

    @Test
    void reconcileNeverFreesAllocationsYoungerThanTheSnapshot() {
        String cluster = unique("rc");
        String p = unique("p");
        store.putPool(p, null, ipam("{\"type\":\"whereabouts\",\"range\":\"10.56.0.0/24\"}"));
        OffsetDateTime snapshot = dbNow();
        store.allocate(p, new Owner(cluster, "ns", "young", "young-uid", "net1"), null, null); // made after the snapshot was taken
        assertEquals(0, store.reconcile(cluster, Set.of(), snapshot).size());
        // another cluster's reconcile never touches this cluster's owners
        assertEquals(0, store.reconcile(unique("other"), Set.of(), OffsetDateTime.now().plusMinutes(1)).size());
        assertEquals(1, store.reconcile(cluster, Set.of(), dbNow()).size());
    }

    /** The database's clock, which stamps created_at: the snapshot compares against it. */
    OffsetDateTime dbNow() {
        return db.query("select clock_timestamp()").execute().await().atMost(Duration.ofSeconds(10)).iterator().next().getOffsetDateTime(0);
    }

    @Test
    void clusterPoolRefusesOwnersOfAnotherCluster() {
        String p = unique("p");
        store.putPool(p, "east", ipam("{\"type\":\"whereabouts\",\"range\":\"10.57.0.0/24\"}"));
        IpamException e = assertThrows(IpamException.class, () -> store.allocate(p, new Owner("west", "ns", "a", "u", "net1"), null, null));
        assertEquals("owner.cluster: \"west\" may not allocate from pool \"" + p + "\" of cluster \"east\"", e.getMessage());
        assertEquals(List.of("10.57.0.1/24"), store.allocate(p, new Owner("east", "ns", "a", "u", "net1"), null, null).ips());
    }

    @Test
    void rangesOfAPoolWithAllocationsCannotChangeAndDeleteNeedsForce() {
        String p = put("{\"type\":\"whereabouts\",\"range\":\"10.58.0.0/24\"}");
        store.allocate(p, pod("a", "ua", "net1"), null, null);
        assertEquals(Reason.Conflict, assertThrows(IpamException.class, () -> store.putPool(p, null, ipam("{\"type\":\"whereabouts\",\"range\":\"10.58.1.0/24\"}"))).reason());
        assertFalse(store.putPool(p, null, ipam("{\"type\":\"whereabouts\",\"range\":\"10.58.0.0/24\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.58.0.1\"}]}")).created());
        assertEquals(Reason.Conflict, assertThrows(IpamException.class, () -> store.deletePool(p, false)).reason());
        assertTrue(store.deletePool(p, true));
        assertTrue(store.pool(p).isEmpty());
    }

    @Test
    void slash8AndIpv6Slash64PoolsWorkWithoutMaterializing() {
        String big = put("{\"type\":\"whereabouts\",\"range\":\"10.0.0.0/8\"}");
        assertEquals(16777214L, store.pool(big).orElseThrow().total().longValueExact());
        assertEquals(List.of("10.0.0.1/8"), store.allocate(big, pod("a", "ua", "net1"), null, null).ips());
        assertEquals(List.of("10.255.255.254/8"), store.allocate(big, pod("b", "ub", "net1"), List.of("10.255.255.254"), null).ips());
        String v6 = put("{\"type\":\"whereabouts\",\"range\":\"2001:db8:1::/64\"}");
        assertEquals(List.of("2001:db8:1::1/64"), store.allocate(v6, pod("a", "ua", "net1"), null, null).ips());
        assertEquals(List.of("2001:db8:1:0:ffff:ffff:ffff:fffe/64"), store.allocate(v6, pod("b", "ub", "net1"), List.of("2001:db8:1:0:ffff:ffff:ffff:fffe/64"), null).ips());
        assertEquals(List.of("2001:db8:1::2/64"), store.allocate(v6, pod("c", "uc", "net1"), null, null).ips());
        assertEquals(new java.math.BigInteger("18446744073709551611"), store.pool(v6).orElseThrow().free());
    }

    @Test
    void twoStoreInstancesWithSeparateConnectionPoolsNeverHandOutADuplicate() throws Exception {
        String p = put("{\"type\":\"whereabouts\",\"range\":\"10.60.0.0/16\"}");
        int threads = 16;
        int perThread = 40;
        List<String> handedOut = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger released = new AtomicInteger();
        onTwoInstances(threads, (thread, s) -> {
            for (int i = 0; i < perThread; i++) {
                String uid = "t" + thread + "-" + i;
                handedOut.add(s.allocate(p, pod("pod-" + uid, uid, "net1"), null, null).ips().getFirst());
                if (i % 4 == 3) { // churn: release an earlier one now and then
                    String old = "t" + thread + "-" + (i - 2);
                    released.addAndGet(s.release("c1", old, "net1", p).size());
                }
            }
        });
        Row dup = db.preparedQuery("select count(*) - count(distinct (range_set, ordinal, value)), count(*) from allocation where pool = $1").execute(Tuple.of(p))
                .await().atMost(Duration.ofSeconds(10)).iterator().next();
        assertEquals(0L, dup.getLong(0), "duplicate addresses in SQL");
        assertEquals((long) threads * perThread - released.get(), dup.getLong(1));
        // lowest free first: everything handed out stays within the first threads*perThread addresses
        Set<String> distinctNow = new HashSet<>(store.allocations(p).stream().map(Holding::address).toList());
        assertEquals(dup.getLong(1), distinctNow.size());
        assertTrue(handedOut.stream().allMatch(a -> {
            String[] o = a.split("/")[0].split("\\.");
            return Integer.parseInt(o[2]) * 256 + Integer.parseInt(o[3]) <= threads * perThread;
        }));
    }

    /** What one thread of a concurrency test does, on the store instance it was given. */
    interface OnInstance {
        void run(int thread, IpamStore s) throws Exception;
    }

    /**
     * Runs body on {@code threads} threads at once: even threads on this test's store, odd ones on a second
     * IpamStore with its own connection pool (another replica, coordinated by PostgreSQL alone). Waits up to
     * 120 s for all of them (an assertion failing in one fails the test), then closes that second pool.
     */
    void onTwoInstances(int threads, OnInstance body) throws Exception {
        String url = ConfigProvider.getConfig().getValue("quarkus.datasource.reactive.url", String.class);
        PgConnectOptions options = PgConnectOptions.fromUri(url).setUser("netattach_ipam").setPassword("netattach");
        Pool otherDb = Pool.newInstance(PgBuilder.pool().with(new PoolOptions().setMaxSize(8)).connectingTo(options).using(vertx.getDelegate()).build());
        IpamStore replica = new IpamStore(otherDb, JSON);
        ExecutorService exec = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                IpamStore s = t % 2 == 0 ? store : replica;
                futures.add(exec.submit(() -> {
                    body.run(thread, s);
                    return null;
                }));
            }
            for (Future<?> f : futures) f.get(120, TimeUnit.SECONDS);
        } finally {
            exec.shutdownNow();
            otherDb.close().await().atMost(Duration.ofSeconds(10));
        }
    }

    @Test
    void concurrentAllocatorsOnTwoInstancesExhaustASlash24Exactly() throws Exception {
        String p = put("{\"type\":\"whereabouts\",\"range\":\"10.61.0.0/24\"}");
        Set<String> granted = Collections.synchronizedSet(new HashSet<>());
        AtomicInteger grants = new AtomicInteger();
        AtomicInteger exhausted = new AtomicInteger();
        onTwoInstances(8, (thread, s) -> {
            for (int i = 0; ; i++) {
                try {
                    granted.add(s.allocate(p, pod("x", "ex-" + thread + "-" + i, "net1"), null, null).ips().getFirst());
                    grants.incrementAndGet();
                } catch (IpamException e) {
                    assertEquals(Reason.Exhausted, e.reason(), e.getMessage());
                    assertTrue(e.getMessage().contains("all 254 addresses"), e.getMessage());
                    exhausted.incrementAndGet();
                    return;
                }
            }
        });
        assertEquals(254, grants.get());
        assertEquals(254, granted.size()); // no address given twice
        assertEquals(8, exhausted.get());
        assertEquals(0L, store.pool(p).orElseThrow().free().longValueExact());
    }

    @Test
    void staticRequestsRacingDynamicAllocatorsNeverShareAnAddress() throws Exception {
        String p = put("{\"type\":\"whereabouts\",\"range\":\"10.62.0.0/24\"}");
        Map<String, String> holders = new java.util.concurrent.ConcurrentHashMap<>();
        AtomicInteger conflicts = new AtomicInteger();
        AtomicInteger duplicates = new AtomicInteger();
        onTwoInstances(6, (thread, s) -> {
            if (thread < 4) { // dynamic allocators
                for (int i = 0; i < 25; i++) {
                    String uid = "dyn-" + thread + "-" + i;
                    if (holders.putIfAbsent(s.allocate(p, pod(uid, uid, "net1"), null, null).ips().getFirst(), uid) != null) duplicates.incrementAndGet();
                }
                return;
            }
            // threads 4 and 5 (one per instance): static requests over the same low addresses, evens and odds
            for (int host = 1 + thread - 4; host <= 120; host += 2) {
                String uid = "st-" + host;
                try {
                    Lease l = s.allocate(p, pod(uid, uid, "net1"), List.of("10.62.0." + host), null);
                    assertEquals("10.62.0." + host + "/24", l.ips().getFirst());
                    if (holders.putIfAbsent(l.ips().getFirst(), uid) != null) duplicates.incrementAndGet();
                } catch (IpamException e) {
                    assertEquals(Reason.Conflict, e.reason(), e.getMessage());
                    conflicts.incrementAndGet();
                }
            }
        });
        assertEquals(0, duplicates.get());
        assertEquals(100 + 120 - conflicts.get(), store.allocations(p).size());
        assertEquals(store.allocations(p).size(), Set.copyOf(store.allocations(p).stream().map(Holding::address).toList()).size());
        Row dup = db.preparedQuery("select count(*) - count(distinct (range_set, ordinal, value)) from allocation where pool = $1").execute(Tuple.of(p))
                .await().atMost(Duration.ofSeconds(10)).iterator().next();
        assertEquals(0L, dup.getLong(0));
    }

    @Test
    void oneBatchServesRepeatsAndRefusesOnlyTheOwnerThatDoesNotFit() {
        String p = put("{\"type\":\"host-local\",\"ranges\":[[{\"subnet\":\"10.63.0.0/24\",\"rangeStart\":\"10.63.0.10\",\"rangeEnd\":\"10.63.0.11\"}],"
                + "[{\"subnet\":\"10.64.0.0/24\",\"rangeStart\":\"10.64.0.10\",\"rangeEnd\":\"10.64.0.12\"}]]}");
        String owners = "[" + String.join(",",
                "{\"cluster\":\"c1\",\"namespace\":\"n\",\"pod\":\"a\",\"podUid\":\"ba\",\"interface\":\"net1\"}",
                "{\"cluster\":\"c1\",\"namespace\":\"n\",\"pod\":\"b\",\"podUid\":\"bb\",\"interface\":\"net1\"}",
                "{\"cluster\":\"c1\",\"namespace\":\"n\",\"pod\":\"a\",\"podUid\":\"ba\",\"interface\":\"net1\"}",
                "{\"cluster\":\"c1\",\"namespace\":\"n\",\"pod\":\"c\",\"podUid\":\"bc\",\"interface\":\"net1\"}") + "]";
        List<String> rows = new ArrayList<>();
        for (Row r : db.preparedQuery("select o_idx, o_set, o_ordinal::text, o_created, o_state, o_message from ipam_allocate_batch($1, $2::text::jsonb)")
                .execute(Tuple.of(p, owners)).await().atMost(Duration.ofSeconds(10))) {
            rows.add(r.getInteger(0) + ":" + r.getValue(1) + ":" + r.getString(2) + ":" + r.getBoolean(3) + ":" + r.getString(4) + ":" + r.getString(5));
        }
        assertEquals(List.of("0:0:0:true:null:null", "0:1:0:true:null:null", "1:0:1:true:null:null", "1:1:1:true:null:null",
                "2:0:0:false:null:null", "2:1:0:false:null:null", "3:null:null:false:NA409:0"), rows);
        // the refused owner left nothing behind, and the IPv4 second set's next address is still the lowest free
        assertEquals(4, store.allocations(p).size());
        store.release("c1", "ba", "net1", p);
        assertEquals(List.of("10.63.0.10/24", "10.64.0.10/24"), store.allocate(p, pod("d", unique("bd"), "net1"), null, null).ips());
        IpamException e = assertThrows(IpamException.class, () -> store.allocate(p, pod("e", unique("be"), "net1"), null, null));
        assertTrue(e.getMessage().startsWith("pool \"" + p + "\" is exhausted: all 2 addresses of range set 0 (10.63.0.10-10.63.0.11 in 10.63.0.0/24)"), e.getMessage());
        // the exhausted request rolled back its second-set address too
        assertEquals(List.of("10.64.0.10", "10.64.0.11"), store.allocations(p).stream().map(Holding::address).filter(a -> a.startsWith("10.64")).sorted().toList());
    }

    @Test
    void anAnsweredAllocationOrReleaseIsOnDisk() {
        // nothing is answered before it is on disk: the batches commit synchronously (V8). Until V7 they were answered
        // after V6's flush wait, which waited for nothing, and this failed
        String p = put("{\"type\":\"whereabouts\",\"range\":\"10.71.0.0/24\"}");
        var conn = db.getConnection().await().atMost(Duration.ofSeconds(10));
        try {
            for (int i = 0; i < 10; i++) {
                String uid = unique("d" + i);
                String before = insertLsn(conn);
                store.allocate(p, pod("d" + i, uid, "net1"), null, null);
                assertTrue(flushedPast(conn, before), "allocation " + i + " answered before its WAL was flushed");
                before = insertLsn(conn);
                assertEquals(1, store.release("c1", uid, "net1", p).size());
                assertTrue(flushedPast(conn, before), "release " + i + " answered before its WAL was flushed");
            }
        } finally {
            conn.close().await().atMost(Duration.ofSeconds(10));
        }
    }

    private static String insertLsn(io.vertx.mutiny.sqlclient.SqlConnection conn) {
        return conn.query("select pg_current_wal_insert_lsn()::text").execute().await().atMost(Duration.ofSeconds(10)).iterator().next().getString(0);
    }

    /** Whether the WAL is on disk beyond the given LSN (strictly: something written at or after it is flushed). */
    private static boolean flushedPast(io.vertx.mutiny.sqlclient.SqlConnection conn, String lsn) {
        return conn.preparedQuery("select pg_current_wal_flush_lsn() > $1::pg_lsn").execute(Tuple.of(lsn)).await().atMost(Duration.ofSeconds(10))
                .iterator().next().getBoolean(0);
    }

    /** Runs ipam_pool_batch directly; one line per row: idx:set:ordinal:created:state. */
    List<String> poolBatch(String pool, String... ops) {
        List<String> rows = new ArrayList<>();
        for (Row r : db.preparedQuery("select o_idx, o_set, o_ordinal::text, o_created, o_state from ipam_pool_batch($1, $2::text::jsonb)")
                .execute(Tuple.of(pool, "[" + String.join(",", ops) + "]")).await().atMost(Duration.ofSeconds(10))) {
            rows.add(r.getInteger(0) + ":" + r.getValue(1) + ":" + r.getString(2) + ":" + r.getBoolean(3) + ":" + r.getString(4));
        }
        return rows;
    }

    static String op(String op, String uid) {
        return "{\"op\":\"" + op + "\",\"cluster\":\"c1\",\"namespace\":\"n\",\"pod\":\"" + uid + "\",\"podUid\":\"" + uid + "\",\"interface\":\"net1\"}";
    }

    @Test
    void aReleaseAndAnAllocateOfTheSameOwnerInOneBatchRunInQueueOrder() {
        String p = put("{\"type\":\"whereabouts\",\"range\":\"10.65.0.0/24\"}");
        // allocate a, b; release a; c takes a's address (the release lowered the hint inside the batch); a comes back
        assertEquals(List.of("0:0:0:true:null", "1:0:1:true:null", "2:0:0:false:null", "3:0:0:true:null", "4:0:2:true:null"),
                poolBatch(p, op("allocate", "a"), op("allocate", "b"), op("release", "a"), op("allocate", "c"), op("allocate", "a")));
        // release then allocate of the same owner in one batch: freed, then the same lowest address again (created)
        assertEquals(List.of("0:0:1:false:null", "1:0:1:true:null"), poolBatch(p, op("release", "b"), op("allocate", "b")));
        // allocate then release: the owner ends with nothing; a release of what is not held yields no row
        assertEquals(List.of("0:0:3:true:null", "1:0:3:false:null"), poolBatch(p, op("allocate", "d"), op("release", "d"), op("release", "nobody")));
        assertEquals(Set.of("10.65.0.1", "10.65.0.2", "10.65.0.3"), Set.copyOf(store.allocations(p).stream().map(Holding::address).toList()));
        assertEquals("10.65.0.4/24", store.allocate(p, pod("e", unique("ue"), "net1"), null, null).ips().getFirst()); // d's release lowered the hint
    }

    @Test
    void aBatchOfAHundredIsOneTransactionWithoutASubtransactionPerOperation() {
        // >64 subtransactions in one transaction overflow PostgreSQL's per-backend cache (every other snapshot then
        // reads pg_subtrans); a subtransaction that writes takes an XID of its own, so the XIDs used tell
        String p = put("{\"type\":\"whereabouts\",\"range\":\"10.67.0.0/24\"}");
        String[] ops = new String[100];
        for (int i = 0; i < ops.length; i++) ops[i] = op("allocate", "h" + i);
        long before = xid();
        List<String> rows = poolBatch(p, ops);
        long used = xid() - before - 1; // the second xid() takes one itself
        assertEquals(100, rows.size());
        assertEquals(100, rows.stream().map(r -> r.split(":")[2]).distinct().count(), "100 distinct addresses: " + rows);
        assertTrue(rows.stream().allMatch(r -> r.endsWith(":true:null")), rows.toString());
        assertTrue(used < 10, "XIDs used by the batch (1 expected; one per operation with subtransactions): " + used);
    }

    @Test
    void theBatchReadsThroughTheIndexesWhateverTheStatisticsSay() {
        // statistics that describe a small table (as after a vacuum of a new cluster), then churn: plans made from
        // them scanned the whole table, dead rows included, on every lookup (docs/benchmarks.md, session 5)
        String p = put("{\"type\":\"whereabouts\",\"range\":\"10.68.0.0/24\"}");
        db.query("analyze allocation").execute().await().atMost(Duration.ofSeconds(10));
        db.query("analyze pool").execute().await().atMost(Duration.ofSeconds(10));
        var conn = db.getConnection().await().atMost(Duration.ofSeconds(10));
        try {
            var tx = conn.begin().await().atMost(Duration.ofSeconds(10));
            assertEquals("off", conn.query("show enable_seqscan").execute().await().atMost(Duration.ofSeconds(10)).iterator().next().getString(0),
                    "ipam-service's sessions plan on the indexes (application.properties)");
            long[] before = seqScans(conn);
            for (int i = 0; i < 20; i++) {
                conn.preparedQuery("select o_idx from ipam_pool_batch($1, $2::text::jsonb)")
                        .execute(Tuple.of(p, "[" + op("allocate", "s" + i) + "," + op("release", "s" + (i - 1)) + "]")).await().atMost(Duration.ofSeconds(10));
            }
            conn.preparedQuery("select o_pool from ipam_pools_of($1)").execute(Tuple.of("s19")).await().atMost(Duration.ofSeconds(10));
            long[] after = seqScans(conn);
            assertEquals(0L, after[0] - before[0], "sequential scans of allocation in 20 batches");
            assertEquals(0L, after[1] - before[1], "sequential scans of pool in 20 batches");
            tx.rollback().await().atMost(Duration.ofSeconds(10));
        } finally {
            conn.close().await().atMost(Duration.ofSeconds(10));
        }
    }

    @Test
    void theIndexesStillRefuseATakenStaticValueOrOrdinalAndASecondRowForAnOwner() {
        // V5 made the value index partial (static values only) and moved the pod UID first in the owner index: a
        // duplicate must stay impossible to write, whatever writes it
        String p = put("{\"type\":\"host-local\",\"subnet\":\"192.168.7.0/24\",\"rangeStart\":\"192.168.7.200\",\"rangeEnd\":\"192.168.7.250\"}");
        store.allocate(p, pod("v1", "uv1", "net1"), List.of("192.168.7.100"), null);
        store.allocate(p, pod("d1", "ud1", "net1"), null, null);
        String insert = "insert into allocation (pool, range_set, value, ordinal, cluster, namespace, pod, pod_uid, interface, static) "
                + "select pool, range_set, value, ordinal, cluster, namespace, pod, $2, interface, static from allocation where pool = $1 and pod_uid = $3";
        assertEquals("23505", sqlState(() -> db.preparedQuery(insert).execute(Tuple.of(p, "other", "uv1")).await().atMost(Duration.ofSeconds(10))),
                "the same static value twice");
        assertEquals("23505", sqlState(() -> db.preparedQuery(insert).execute(Tuple.of(p, "other", "ud1")).await().atMost(Duration.ofSeconds(10))),
                "the same ordinal twice");
        assertEquals("23505", sqlState(() -> db.preparedQuery("insert into allocation (pool, range_set, ordinal, cluster, namespace, pod, pod_uid, interface, static) "
                + "values ($1, 0, 40, 'c1', 'default', 'd1', 'ud1', 'net1', false)").execute(Tuple.of(p)).await().atMost(Duration.ofSeconds(10))),
                "a second address in one range set for one owner");
        assertEquals(2, store.allocations(p).size());
    }

    private static String sqlState(Runnable r) {
        try {
            r.run();
            return "no error";
        } catch (io.vertx.pgclient.PgException e) {
            return e.getSqlState();
        }
    }

    /** This session's sequential scans of allocation and pool not yet flushed to the shared statistics (PG 15: pg_stat_xact_*). */
    private static long[] seqScans(io.vertx.mutiny.sqlclient.SqlConnection conn) {
        Row r = conn.query("select coalesce(sum(seq_scan) filter (where relname = 'allocation'), 0), coalesce(sum(seq_scan) filter (where relname = 'pool'), 0) "
                + "from pg_stat_xact_user_tables").execute().await().atMost(Duration.ofSeconds(10)).iterator().next();
        return new long[]{r.getLong(0), r.getLong(1)};
    }

    /** A new transaction's XID (each call takes one). */
    private long xid() {
        return Long.parseLong(db.query("select pg_current_xact_id()::text").execute().await().atMost(Duration.ofSeconds(10)).iterator().next().getString(0));
    }

    @Test
    void aFailingMemberOfABatchLeavesTheOthersDone() {
        String p = put("{\"type\":\"host-local\",\"subnet\":\"10.66.0.0/24\",\"rangeStart\":\"10.66.0.10\",\"rangeEnd\":\"10.66.0.11\"}");
        store.allocate(p, pod("x", "ux", "net1"), null, null);
        // y fits, z does not (exhausted), an unknown operation fails alone, x's release and w's allocate still happen
        assertEquals(List.of("0:0:1:true:null", "1:null:null:false:NA409", "2:null:null:false:22023", "3:0:0:false:null", "4:0:0:true:null"),
                poolBatch(p, op("allocate", "y"), op("allocate", "z"), op("bogus", "q"), op("release", "ux"), op("allocate", "w")));
        assertEquals(Set.of("y", "w"), Set.copyOf(store.allocations(p).stream().map(h -> h.owner().pod()).toList()));
        // and through the store: the exhausted owner is refused, the pool unchanged
        assertEquals(Reason.Exhausted, assertThrows(IpamException.class, () -> store.allocate(p, pod("v", "uv", "net1"), null, null)).reason());
        assertEquals(List.of("10.66.0.11"), store.release(null, "y", null, p).stream().map(IpamStore.Released::address).toList());
    }

    @Test
    void releasesOfOnePoolFromManyThreadsAndBothInstancesGoThroughTheBatchAndNeverLoseOrDuplicate() throws Exception {
        String p = put("{\"type\":\"whereabouts\",\"range\":\"10.67.0.0/16\"}");
        int threads = 12;
        AtomicInteger freed = new AtomicInteger();
        Map<String, String> live = new java.util.concurrent.ConcurrentHashMap<>();
        AtomicInteger duplicates = new AtomicInteger();
        onTwoInstances(threads, (thread, s) -> {
            java.util.ArrayDeque<String[]> held = new java.util.ArrayDeque<>();
            for (int i = 0; i < 30; i++) {
                String uid = "rb-" + thread + "-" + i;
                String ip = s.allocate(p, pod(uid, uid, "net1"), null, null).ips().getFirst();
                if (live.putIfAbsent(ip, uid) != null) duplicates.incrementAndGet();
                held.add(new String[]{uid, ip});
                if (held.size() > 3) {
                    String[] old = held.poll();
                    live.remove(old[1]);
                    // the pool given (REST) or not (Kafka: looked up by pod UID), alternately
                    List<IpamStore.Released> r = s.release(i % 2 == 0 ? "c1" : null, old[0], null, i % 2 == 0 ? p : null);
                    assertEquals(List.of(old[1].split("/")[0]), r.stream().map(IpamStore.Released::address).toList());
                    assertEquals(old[0], r.getFirst().owner().podUid());
                    freed.addAndGet(r.size());
                }
            }
        });
        assertEquals(0, duplicates.get());
        assertEquals(threads * 30 - freed.get(), store.allocations(p).size());
        assertEquals(threads * 3, store.allocations(p).size());
        Row dup = db.preparedQuery("select count(*) - count(distinct (range_set, ordinal, value)) from allocation where pool = $1").execute(Tuple.of(p))
                .await().atMost(Duration.ofSeconds(10)).iterator().next();
        assertEquals(0L, dup.getLong(0));
    }

    @Test
    void releaseOfAnUnknownPoolFreesNothing() {
        assertEquals(List.of(), store.release("c1", "u-none", "net1", unique("missing")));
        assertEquals(List.of(), store.release("c1", "u-none", null, null));
    }

    // ---------------------------------------------------------------- static segments

    /** An allocate as the Kafka consumer makes it: the NAD's name and section as written, the annotation's ips. */
    Lease viaNad(NadAddresses n, String network, String section, Owner owner, List<String> ips) {
        Map<String, Object> m = ipam(section);
        return n.allocate(network, m, IpamConfig.parse(m), owner, ips);
    }

    Lease viaNad(String network, String section, Owner owner, List<String> ips) {
        return viaNad(nads, network, section, owner, ips);
    }

    static String staticSection(String networkName, String... addresses) {
        return "{\"type\":\"static\"" + (networkName == null ? "" : ",\"network_name\":\"" + networkName + "\"") + ",\"addresses\":["
                + String.join(",", java.util.Arrays.stream(addresses).map(a -> "{\"address\":\"" + a.split(" via ")[0] + "\""
                + (a.contains(" via ") ? ",\"gateway\":\"" + a.split(" via ")[1] + "\"" : "") + "}").toList()) + "],\"routes\":[{\"dst\":\"0.0.0.0/0\"}]}";
    }

    @Test
    void aSecondPodAskingForAHeldStaticAddressGetsAConflictNamingTheHolder() {
        String nad = "default/" + unique("static-nad");
        String section = staticSection(null, "10.90.0.5/24 via 10.90.0.1");
        Lease first = viaNad(nad, section, pod("static-a", "sa-" + nad, "net1"), null);
        assertEquals(List.of("10.90.0.5/24"), first.ips());
        assertEquals(List.of("10.90.0.1"), first.gateways());
        assertEquals(1, first.routes().size());
        assertTrue(first.created());
        assertTrue(first.pool().startsWith("static-default-static-nad-"), first.pool());
        IpamException e = assertThrows(IpamException.class, () -> viaNad(nad, section, pod("static-b", "sb-" + nad, "net1"), null));
        assertEquals(Reason.Conflict, e.reason());
        assertEquals("ipam.addresses: 10.90.0.5 in pool \"" + first.pool() + "\" is held by default/static-a (uid sa-" + nad + ", interface net1, cluster c1)", e.getMessage());
        // the annotation's ips asking the same address, with another prefix length: the same address all the same
        IpamException byIps = assertThrows(IpamException.class, () -> viaNad(nad, section, pod("static-c", "sc-" + nad, "net1"), List.of("10.90.0.5/16")));
        assertEquals("ips: 10.90.0.5 in pool \"" + first.pool() + "\" is held by default/static-a (uid sa-" + nad + ", interface net1, cluster c1)", byIps.getMessage());
        // nothing was written for the refused pods
        assertEquals(List.of("sa-" + nad), store.allocations(first.pool()).stream().map(h -> h.owner().podUid()).toList());
    }

    @Test
    void theSameOwnerAskingAgainGetsWhatItHoldsAndOtherAddressesOnlyOnceReleased() {
        String nad = "default/" + unique("static-again");
        String section = staticSection(null, "10.90.1.5/24 via 10.90.1.1", "fd00:90:1::5/64");
        Owner owner = pod("again", unique("ua"), "net1");
        Lease first = viaNad(nad, section, owner, null);
        Lease again = viaNad(nad, section, owner, null);
        assertTrue(first.created());
        assertFalse(again.created());
        assertEquals(first.ips(), again.ips());
        assertEquals(List.of("10.90.1.5/24", "fd00:90:1::5/64"), again.ips());
        assertEquals(List.of("10.90.1.1"), again.gateways());
        IpamException moved = assertThrows(IpamException.class, () -> viaNad(nad, section, owner, List.of("10.90.1.6/24")));
        assertEquals(Reason.Conflict, moved.reason());
        assertEquals("ips: default/again (uid " + owner.podUid() + ", interface net1) already holds 10.90.1.5, fd00:90:1::5 in pool \"" + first.pool()
                + "\", not 10.90.1.6; release it first", moved.getMessage());
        // another interface of the same pod is another owner
        assertEquals(List.of("10.90.1.7/24"), viaNad(nad, section, pod("again", owner.podUid(), "net2"), List.of("10.90.1.7/24")).ips());
        assertEquals(2, store.release("c1", owner.podUid(), "net1", null).size());
        assertEquals(List.of("10.90.1.6/24"), viaNad(nad, section, owner, List.of("10.90.1.6/24")).ips());
    }

    @Test
    void nadsOfOneNetworkNameShareAStaticSegmentWhileOtherNadsAndClustersDoNot() {
        String segment = unique("storage");
        String address = "10.91.0.5/24";
        Lease a = viaNad("ns-a/nad-a", staticSection(segment, address), pod("a", unique("ua"), "net1"), null);
        assertEquals(Reason.Conflict, assertThrows(IpamException.class,
                () -> viaNad("ns-b/nad-b", staticSection(segment, address), pod("b", unique("ub"), "net1"), null)).reason());
        // a NAD without network_name is a segment of its own, and so is the same network_name in another cluster
        Lease other = viaNad("ns-b/" + unique("nad"), staticSection(null, address), pod("c", unique("uc"), "net1"), null);
        Lease east = viaNad("ns-a/nad-a", staticSection(segment, address), new Owner(unique("east"), "ns-a", "d", unique("ud"), "net1"), null);
        assertEquals(3, Set.of(a.pool(), other.pool(), east.pool()).size());
        assertEquals(List.of(address), east.ips());
        assertEquals(segment, store.pool(a.pool()).orElseThrow().definition().networkName());
    }

    @Test
    void ipv4AndIpv6StaticAddressesOfTheSameNumericValueDoNotCollide() {
        String nad = "default/" + unique("families");
        // 10.0.0.1 and ::a00:1 are both the number 167772161
        Lease v4 = viaNad(nad, staticSection(null, "10.0.0.1/8 via 10.0.0.254"), pod("v4", unique("u4"), "net1"), null);
        Lease v6 = viaNad(nad, staticSection(null, "::a00:1/96 via ::a00:fe"), pod("v6", unique("u6"), "net1"), null);
        assertEquals(List.of("10.0.0.1/8"), v4.ips());
        assertEquals(List.of("::a00:1/96"), v6.ips());
        assertEquals(List.of("::a00:fe"), v6.gateways());
        assertEquals(Set.of("10.0.0.1", "::a00:1"), Set.copyOf(store.allocations(v4.pool()).stream().map(Holding::address).toList()));
        assertEquals(Reason.Conflict, assertThrows(IpamException.class,
                () -> viaNad(nad, staticSection(null, "::a00:1/64"), pod("v6b", unique("u6b"), "net1"), null)).reason());
    }

    @Test
    void podsRacingForTheStaticAddressesOfANewSegmentOnTwoReplicasGetEachAddressOnce() throws Exception {
        String nad = "default/" + unique("race");
        String section = staticSection(null, "10.99.9.1/24");
        Map<String, String> holders = new java.util.concurrent.ConcurrentHashMap<>();
        AtomicInteger conflicts = new AtomicInteger();
        AtomicInteger duplicates = new AtomicInteger();
        onTwoInstances(8, (thread, s) -> {
            NadAddresses n = new NadAddresses(s);
            for (int host = 1; host <= 20; host++) { // every thread asks the same 20 addresses, in the same order
                String uid = "race-" + thread + "-" + host;
                try {
                    Lease l = viaNad(n, nad, section, pod(uid, uid, "net1"), List.of("10.99.9." + host + "/24"));
                    if (holders.putIfAbsent(l.ips().getFirst(), uid) != null) duplicates.incrementAndGet();
                } catch (IpamException e) {
                    assertEquals(Reason.Conflict, e.reason(), e.getMessage());
                    conflicts.incrementAndGet();
                }
            }
        });
        assertEquals(0, duplicates.get());
        assertEquals(20, holders.size());
        assertEquals(8 * 20 - 20, conflicts.get());
        String pool = StaticSegment.of(IpamConfig.parse(ipam(section)), nad, "c1").pool();
        Row r = db.preparedQuery("select count(*), count(distinct (range_set, value)) from allocation where pool = $1").execute(Tuple.of(pool))
                .await().atMost(Duration.ofSeconds(10)).iterator().next();
        assertEquals(20L, r.getLong(0));
        assertEquals(20L, r.getLong(1));
    }

    @Test
    void staticHoldingsAreListedReleasedByOwnerAndReconciled() {
        String cluster = unique("sc");
        String nad = "default/" + unique("held");
        String gone = unique("gone");
        String live = unique("live");
        String section = staticSection(null, "10.92.0.5/24");
        Lease l = viaNad(nad, section, new Owner(cluster, "default", "gone", gone, "net1"), List.of("10.92.0.5/24", "fd00:92::5/64"));
        viaNad(nad, section, new Owner(cluster, "default", "gone", gone, "net2"), List.of("10.92.0.6/24"));
        viaNad(nad, section, new Owner(cluster, "default", "live", live, "net1"), List.of("10.92.0.7/24"));
        PoolRecord pool = store.pool(l.pool()).orElseThrow();
        assertEquals("static", pool.definition().kind().cniType);
        assertEquals(Map.of("type", "static", "network", nad), pool.ipam());
        assertEquals(cluster, pool.cluster());
        assertEquals(4, pool.used());
        assertEquals(java.math.BigInteger.ZERO, pool.total());
        assertTrue(store.pools().stream().anyMatch(p -> p.name().equals(l.pool())));
        List<Holding> held = store.allocations(l.pool());
        assertEquals(List.of("10.92.0.5", "10.92.0.6", "10.92.0.7", "fd00:92::5"), held.stream().map(Holding::address).toList());
        assertTrue(held.stream().allMatch(Holding::fixed));
        // release by owner without a pool (the Kafka path): only the interface asked
        List<IpamStore.Released> released = store.release(cluster, gone, "net1", null);
        assertEquals(Set.of("10.92.0.5", "fd00:92::5"), Set.copyOf(released.stream().map(IpamStore.Released::address).toList()));
        // the leak sweep frees the rest of the pod that is gone, never the live one
        List<IpamStore.Released> swept = store.reconcile(cluster, Set.of(live), dbNow());
        assertEquals(List.of("10.92.0.6"), swept.stream().map(IpamStore.Released::address).toList());
        assertEquals(List.of(live), store.allocations(l.pool()).stream().map(h -> h.owner().podUid()).toList());
        // the freed address can be taken again
        assertEquals(List.of("10.92.0.5/24"), viaNad(nad, section, new Owner(cluster, "default", "next", unique("next"), "net1"), null).ips());
    }

    @Test
    void aStaticSegmentIsNoRestPoolAndGivesNoAddressOfItsOwn() {
        String nad = "default/" + unique("seg-rest");
        Lease l = viaNad(nad, staticSection(null, "10.93.0.5/24"), pod("a", unique("ua"), "net1"), null);
        IpamException put = assertThrows(IpamException.class, () -> store.putPool(l.pool(), "c1", ipam("{\"type\":\"whereabouts\",\"range\":\"10.93.0.0/24\"}")));
        assertEquals(Reason.Conflict, put.reason());
        assertTrue(put.getMessage().startsWith("pool \"" + l.pool() + "\" is a static segment"), put.getMessage());
        IpamException dynamic = assertThrows(IpamException.class, () -> store.allocate(l.pool(), pod("b", unique("ub"), "net1"), null, null));
        assertEquals("ips: missing (pool \"" + l.pool() + "\" is a static segment: it holds addresses asked by name and gives none of its own)", dynamic.getMessage());
        // a static request by pool name (REST) is a request to the segment, checked as the NAD's are
        assertEquals(List.of("10.93.0.6/24"), store.allocate(l.pool(), pod("c", unique("uc"), "net1"), List.of("10.93.0.6/24"), null).ips());
        assertEquals(Reason.Conflict, assertThrows(IpamException.class, () -> store.allocate(l.pool(), pod("d", unique("ud"), "net1"), List.of("10.93.0.5/24"), null)).reason());
        assertEquals(Reason.Invalid, assertThrows(IpamException.class, () -> store.allocate(l.pool(), new Owner("c2", "default", "e", unique("ue"), "net1"), List.of("10.93.0.8/24"), null)).reason());
    }

    // ---------------------------------------------------------------- dry runs

    @Test
    void aDryRunNamesThePoolAndWritesNothingForAnyKind() {
        String cluster = unique("dry");
        Map<String, Object> dynamic = ipam("{\"type\":\"whereabouts\",\"range\":\"10.94.0.0/24\"}");
        String derived = nads.dryRun("default/dyn", IpamConfig.parse(dynamic), cluster, null).pool();
        assertEquals(IpamConfig.parse(dynamic).derivedPoolName(cluster), derived);
        assertTrue(store.pool(derived).isEmpty(), "a dry run created the derived pool");

        Map<String, Object> fixed = ipam(staticSection(null, "10.94.1.5/24 via 10.94.1.1"));
        Lease would = nads.dryRun("default/" + unique("dry-static"), IpamConfig.parse(fixed), cluster, null);
        assertTrue(would.pool().startsWith("static-default-dry-static-"), would.pool());
        assertEquals(List.of("10.94.1.5/24"), would.ips());
        assertEquals(List.of("10.94.1.1"), would.gateways());
        assertTrue(store.pool(would.pool()).isEmpty(), "a dry run created the static segment");

        String global = unique("dry-global");
        store.putPool(global, null, ipam("{\"type\":\"whereabouts\",\"range\":\"10.94.2.0/24\"}"));
        Map<String, Object> naming = ipam("{\"type\":\"whereabouts\",\"network_name\":\"" + global + "\"}");
        assertEquals(global, nads.dryRun("default/g", IpamConfig.parse(naming), cluster, null).pool());
        Map<String, Object> staticNaming = ipam(staticSection(global, "10.94.2.9/24"));
        assertEquals(global, nads.dryRun("default/g", IpamConfig.parse(staticNaming), cluster, null).pool());
        assertEquals(List.of(), store.allocations(global));
        assertEquals(0L, db.preparedQuery("select count(*) from pool where cluster = $1").execute(Tuple.of(cluster)).await().atMost(Duration.ofSeconds(10))
                .iterator().next().getLong(0));
    }

    // ---------------------------------------------------------------- global pools named by NADs

    @Test
    void nadsOfTwoClustersNamingAGlobalPoolNeverShareAnAddressWhateverTheReplica() throws Exception {
        String global = unique("global");
        store.putPool(global, null, ipam("{\"type\":\"whereabouts\",\"range\":\"10.95.0.0/22\"}"));
        // the member clusters' NADs: one repeats the pool's range, the other leaves it out
        String withRange = "{\"type\":\"whereabouts\",\"network_name\":\"" + global + "\",\"range\":\"10.95.0.0/22\"}";
        String withoutRange = "{\"type\":\"whereabouts\",\"network_name\":\"" + global + "\"}";
        String east = unique("east");
        String west = unique("west");
        int threads = 8;
        int perThread = 40;
        AtomicInteger released = new AtomicInteger();
        onTwoInstances(threads, (thread, s) -> {
            NadAddresses n = new NadAddresses(s);
            boolean inEast = thread % 4 < 2; // both clusters on both instances
            for (int i = 0; i < perThread; i++) {
                String uid = "g-" + thread + "-" + i;
                Owner owner = new Owner(inEast ? east : west, "default", "pod-" + uid, uid, "net1");
                Lease l = viaNad(n, "default/shared", inEast ? withRange : withoutRange, owner, null);
                assertEquals(global, l.pool());
                if (i % 5 == 4) released.addAndGet(s.release(owner.cluster(), "g-" + thread + "-" + (i - 1), null, null).size());
            }
        });
        Row r = db.preparedQuery("select count(*) - count(distinct (range_set, ordinal, value)), count(*), count(distinct cluster) from allocation where pool = $1")
                .execute(Tuple.of(global)).await().atMost(Duration.ofSeconds(10)).iterator().next();
        assertEquals(0L, r.getLong(0), "duplicate addresses in SQL");
        assertEquals((long) threads * perThread - released.get(), r.getLong(1));
        assertEquals(2L, r.getLong(2), "owners of both clusters in the global pool");
        assertEquals(0L, db.preparedQuery("select count(*) from pool where cluster = any($1)").execute(Tuple.of(new String[]{east, west}))
                .await().atMost(Duration.ofSeconds(10)).iterator().next().getLong(0), "no pool derived for either cluster");
    }

    @Test
    void aNadWhoseNetworkNameNamesNoGlobalPoolStillDerivesAPoolPerCluster() {
        String name = unique("blue");
        String section = "{\"type\":\"whereabouts\",\"network_name\":\"" + name + "\",\"range\":\"10.96.0.0/24\"}";
        String east = unique("east");
        Lease inEast = viaNad("default/blue", section, new Owner(east, "default", "a", unique("ua"), "net1"), null);
        Lease inWest = viaNad("default/blue", section, new Owner(unique("west"), "default", "b", unique("ub"), "net1"), null);
        assertEquals(IpamConfig.parse(ipam(section)).derivedPoolName(east), inEast.pool());
        assertNotEquals(inEast.pool(), inWest.pool());
        assertEquals(List.of("10.96.0.1/24"), inEast.ips());
        assertEquals(List.of("10.96.0.1/24"), inWest.ips());
        assertEquals(east, store.pool(inEast.pool()).orElseThrow().cluster());
        // a pool of that name that belongs to a cluster is not global: the NAD keeps its derived pool
        store.putPool(name, east, ipam("{\"type\":\"whereabouts\",\"range\":\"10.96.0.0/24\"}"));
        assertEquals(inEast.pool(), viaNad("default/blue", section, new Owner(east, "default", "c", unique("uc"), "net1"), null).pool());
        // without ranges and without a global pool, the section has nothing to derive a pool from
        IpamException e = assertThrows(IpamException.class,
                () -> viaNad("default/blue", "{\"type\":\"whereabouts\",\"network_name\":\"" + name + "\"}", new Owner(east, "default", "d", unique("ud"), "net1"), null));
        assertTrue(e.getMessage().endsWith("there is no global pool \"" + name + "\")"), e.getMessage());
    }

    @Test
    void aNadWhoseRangesDifferFromTheGlobalPoolItNamesIsRefusedNamingBoth() {
        String global = unique("global");
        store.putPool(global, null, ipam("{\"type\":\"whereabouts\",\"range\":\"10.97.0.0/24\"}"));
        String narrower = "{\"type\":\"whereabouts\",\"network_name\":\"" + global + "\",\"range\":\"10.97.0.0/25\"}";
        IpamException e = assertThrows(IpamException.class, () -> viaNad("default/n", narrower, pod("a", unique("ua"), "net1"), null));
        assertEquals(Reason.Invalid, e.reason());
        assertEquals("ipam.network_name: \"" + global + "\" names the global pool \"" + global + "\", whose addresses differ from the ranges this section gives "
                + "(range set 0: the pool gives 10.97.0.0/24: 10.97.0.1-10.97.0.254, this section 10.97.0.0/25: 10.97.0.1-10.97.0.126): "
                + "leave the ranges out of the section, or give the pool's", e.getMessage());
        assertEquals(e.getMessage(), assertThrows(IpamException.class, () -> nads.dryRun("default/n", IpamConfig.parse(ipam(narrower)), "c1", null)).getMessage());
        // the same eligible addresses in host-local's syntax are the pool's
        String hostLocal = "{\"type\":\"host-local\",\"network_name\":\"" + global + "\",\"subnet\":\"10.97.0.0/24\",\"rangeStart\":\"10.97.0.1\",\"gateway\":\"10.97.0.255\"}";
        Lease l = viaNad("default/h", hostLocal, pod("b", unique("ub"), "net1"), null);
        assertEquals(global, l.pool());
        assertEquals(List.of("10.97.0.1/24"), l.ips());
        assertEquals(List.of(), store.allocations(global).stream().filter(h -> !h.owner().pod().equals("b")).toList());
    }

    @Test
    void aStaticNadNamingAGlobalPoolTakesItsAddressesThereWithItsOwnGateway() {
        String global = unique("global");
        store.putPool(global, null, ipam("{\"type\":\"host-local\",\"subnet\":\"10.98.0.0/24\",\"rangeStart\":\"10.98.0.100\",\"gateway\":\"10.98.0.1\"}"));
        Lease dynamic = viaNad("default/d", "{\"type\":\"host-local\",\"network_name\":\"" + global + "\"}", new Owner(unique("east"), "default", "d", unique("ud"), "net1"), null);
        assertEquals(List.of("10.98.0.100/24"), dynamic.ips());
        Lease fixed = viaNad("default/s", staticSection(global, "10.98.0.5/24 via 10.98.0.254"), new Owner(unique("west"), "default", "s", unique("us"), "net1"), null);
        assertEquals(global, fixed.pool());
        assertEquals(List.of("10.98.0.5/24"), fixed.ips());
        assertEquals(List.of("10.98.0.254"), fixed.gateways());
        // in the global pool, a static address is checked against every holder, dynamic ones included
        IpamException e = assertThrows(IpamException.class,
                () -> viaNad("default/s", staticSection(global, "10.98.0.100/24"), new Owner(unique("west"), "default", "t", unique("ut"), "net1"), null));
        assertEquals(Reason.Conflict, e.reason());
        assertTrue(e.getMessage().startsWith("ipam.addresses: 10.98.0.100 in pool \"" + global + "\" is held by default/d"), e.getMessage());
        assertTrue(assertThrows(IpamException.class, () -> viaNad("default/s", staticSection(global, "10.99.0.5/24"), pod("u", unique("uu"), "net1"), null))
                .getMessage().startsWith("ipam.addresses[0].address: \"10.99.0.5/24\" is not inside pool \"" + global + "\""));
    }
}
