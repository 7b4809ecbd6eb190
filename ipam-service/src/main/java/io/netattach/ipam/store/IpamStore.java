package io.netattach.ipam.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netattach.ipam.domain.Address;
import io.netattach.ipam.domain.Cidr;
import io.netattach.ipam.domain.IpamConfig;
import io.netattach.ipam.domain.IpamException;
import io.netattach.ipam.domain.IpamException.Reason;
import io.netattach.ipam.domain.Lease;
import io.netattach.ipam.domain.Owner;
import io.netattach.ipam.domain.PoolDefinition;
import io.netattach.ipam.domain.Range;
import io.netattach.ipam.domain.RangeSet;
import io.netattach.ipam.domain.StaticAddress;
import io.netattach.ipam.domain.StaticSegment;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.infrastructure.Infrastructure;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.SqlConnection;
import io.vertx.mutiny.sqlclient.Transaction;
import io.vertx.mutiny.sqlclient.Tuple;
import io.vertx.pgclient.PgException;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

import java.math.BigInteger;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * Pools and allocations in PostgreSQL. Correct with any number of replicas because PostgreSQL arbitrates:
 * an address is one row, unique per (pool, range set, ordinal) or (pool, range set, value), so a duplicate cannot
 * be written. Allocations lock their pool row (FOR UPDATE) so allocators of one pool queue instead of colliding;
 * the common dynamic case runs as one statement (ipam_allocate), so the lock is held only inside the server.
 * Anything that still collides (a static request racing, the same owner asking twice at once, a deadlock) rolls
 * back whole and is retried. Every multi-row change is one transaction.
 *
 * <p>Calls block: use them from worker or virtual threads (the Kafka consumer, REST resources that block), except
 * {@link #allocateAsync} and {@link #releaseAsync}, which never block the caller and may be used on an event loop.
 */
@Singleton
public class IpamStore {
    private static final Logger LOG = Logger.getLogger(IpamStore.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    /** How long a blocking caller waits for its operation: queued behind a few batches of at most TIMEOUT each. */
    private static final Duration QUEUE_TIMEOUT = Duration.ofSeconds(120);
    private static final int ATTEMPTS = 50;
    private static final Set<String> RETRYABLE = Set.of("23505", "40P01", "40001");

    private final Pool db;
    private final ObjectMapper json;
    private final Map<String, Parsed> definitions = new ConcurrentHashMap<>();
    /** Derived pools known to exist; a pool deleted meanwhile answers NotFound on allocate and is forgotten then. */
    private final Set<String> knownDerived = ConcurrentHashMap.newKeySet();

    private record Parsed(long version, PoolDefinition definition) {
    }

    /** Released addresses, for audit. */
    public record Released(String pool, String address, Owner owner) {
    }

    /** Operations per batch statement: how much concurrent work of a pool shared one lock and one commit. */
    private final DistributionSummary batchSizes;

    @Inject
    public IpamStore(Pool db, ObjectMapper json, MeterRegistry metrics) {
        this.db = db;
        this.json = json;
        this.batchSizes = DistributionSummary.builder("netattach.ipam.batch.operations")
                .description("Operations (allocations and releases of one pool) sent together in one statement and one transaction")
                .register(metrics);
    }

    /** A store that records its batch sizes nowhere (tests, a second replica in one JVM). */
    public IpamStore(Pool db, ObjectMapper json) {
        this(db, json, new SimpleMeterRegistry());
    }

    // ---------------------------------------------------------------- pools

    /** Creates or updates a pool from an ipam section. Changing the ranges of a pool that has allocations is refused. */
    public UpsertResult putPool(String name, String cluster, Map<String, Object> ipam) {
        validatePoolName(name);
        PoolDefinition def = IpamConfig.parse(ipam);
        if (!def.hasPool()) {
            throw IpamException.invalid("ipam.type", "static", "has no pool: static addresses are kept unique in their segment, which their NADs name");
        }
        def.requireRanges();
        String ipamText = write(ipam);
        boolean created = inTransaction(conn -> {
            RowSet<Row> existing = q(conn, "select canonical, array_to_string(hints, ','), kind from pool where name = $1 for update", Tuple.of(name));
            if (!existing.iterator().hasNext()) {
                RowSet<Row> ins = q(conn, "insert into pool (name, cluster, kind, ipam, canonical, derived, size, hints, set_sizes) "
                        + "values ($1, $2, $3, $4::text::jsonb, $5, false, $6::numeric, string_to_array($7, ',')::numeric[], string_to_array($8, ',')::numeric[]) on conflict (name) do nothing",
                        Tuple.of(name, cluster, def.kind().cniType, ipamText, def.canonicalRanges()).addValue(new java.math.BigDecimal(def.size())).addString(zeros(def)).addString(sizes(def)));
                if (ins.rowCount() == 0) throw new Retry(); // created meanwhile by another replica: take the update path
                return true;
            }
            Row row = existing.iterator().next();
            if (PoolDefinition.Kind.STATIC.cniType.equals(row.getString(2))) {
                throw new IpamException(Reason.Conflict, "pool \"" + name + "\" is a static segment, kept by the NADs that name it; it cannot become a pool over REST");
            }
            boolean rangesChanged = !row.getString(0).equals(def.canonicalRanges());
            String hints = row.getString(1);
            if (rangesChanged) {
                long held = count(conn, name);
                if (held > 0) {
                    throw new IpamException(Reason.Conflict, "pool \"" + name + "\" has " + held + " allocations; its ranges cannot change until they are released (or DELETE ?force=true)");
                }
                hints = zeros(def);
            }
            q(conn, "update pool set cluster = $2, kind = $3, ipam = $4::text::jsonb, canonical = $5, size = $6::numeric, "
                    + "hints = string_to_array($7, ',')::numeric[], set_sizes = string_to_array($8, ',')::numeric[], version = version + 1, updated_at = now() where name = $1",
                    Tuple.of(name, cluster, def.kind().cniType, ipamText, def.canonicalRanges()).addValue(new java.math.BigDecimal(def.size())).addString(hints).addString(sizes(def)));
            return false;
        });
        PoolRecord record = pool(name).orElseThrow();
        List<String> warnings = new ArrayList<>(record.warnings());
        warnings.addAll(overlaps(name, cluster, def));
        return new UpsertResult(new PoolRecord(record.name(), record.cluster(), record.derived(), record.ipam(), record.definition(),
                record.total(), record.used(), record.free(), record.createdAt(), warnings), created);
    }

    /**
     * The pool a NAD's ipam section maps to, created on first use (idempotent: every replica derives the same
     * name; the first insert wins, later ones change nothing).
     */
    public String derivedPool(PoolDefinition def, Map<String, Object> ipam, String cluster) {
        String name = def.requireRanges().derivedPoolName(cluster);
        if (knownDerived.contains(name)) return name; // saves a round trip per Kafka allocate; see forgetDerived
        if (poolExists(name)) {
            knownDerived.add(name);
            return name;
        }
        RowSet<Row> ins = db.preparedQuery("insert into pool (name, cluster, kind, ipam, canonical, derived, size, hints, set_sizes) "
                        + "values ($1, $2, $3, $4::text::jsonb, $5, true, $6::numeric, string_to_array($7, ',')::numeric[], string_to_array($8, ',')::numeric[]) on conflict (name) do nothing")
                .execute(Tuple.of(name, cluster, def.kind().cniType, write(ipam), def.canonicalRanges()).addValue(new java.math.BigDecimal(def.size())).addString(zeros(def)).addString(sizes(def)))
                .await().atMost(TIMEOUT);
        if (ins.rowCount() == 1) {
            for (String w : overlaps(name, cluster, def)) LOG.warnf("pool %s derived from a NAD: %s", name, w);
        }
        knownDerived.add(name);
        return name;
    }

    /** The pool a NAD's section maps to if this replica knows it exists (never queries), else null: see {@link #derivedPool}. */
    public String derivedPoolIfKnown(PoolDefinition def, String cluster) {
        if (def.rangeSets().isEmpty()) return null;
        String name = def.derivedPoolName(cluster);
        return knownDerived.contains(name) ? name : null;
    }

    /** A derived pool this replica believed to exist was not found (deleted, maybe by another replica): derive it again next time. */
    public void forgetDerived(String name) {
        knownDerived.remove(name);
    }

    /**
     * The global pool (cluster null) a section's network_name names, or null when it names none. The section may
     * leave its ranges out; if it gives them, they must be the pool's, else the section is refused rather than one
     * of the two silently used. Read on every call: a global pool created or deleted is seen by every replica at once.
     */
    public String globalPool(PoolDefinition def) {
        return globalPoolAsync(def).await().atMost(TIMEOUT);
    }

    /** {@link #globalPool} for callers that must not block; null item when the section names no global pool. */
    public Uni<String> globalPoolAsync(PoolDefinition def) {
        if (def.networkName() == null) return Uni.createFrom().nullItem();
        return db.preparedQuery("select name, version, ipam::text from pool where name = $1 and cluster is null and kind <> 'static'")
                .execute(Tuple.of(def.networkName())).map(rows -> {
                    if (!rows.iterator().hasNext()) return null;
                    Row r = rows.iterator().next();
                    PoolDefinition pool = definition(r.getString(0), r.getLong(1), r.getString(2));
                    String differs = def.hasPool() && !def.rangeSets().isEmpty() ? def.rangesDifferFrom(pool) : null;
                    if (differs != null) {
                        throw IpamException.invalid("ipam.network_name", def.networkName(), "names the global pool \"" + r.getString(0)
                                + "\", whose addresses differ from the ranges this section gives (" + differs + "): leave the ranges out of the section, or give the pool's");
                    }
                    return r.getString(0);
                });
    }

    public Optional<PoolRecord> pool(String name) {
        return pools(name).stream().findFirst();
    }

    public List<PoolRecord> pools() {
        return pools(null);
    }

    private List<PoolRecord> pools(String only) {
        RowSet<Row> rows = db.preparedQuery("select p.name, p.cluster, p.derived, p.ipam::text, p.version, p.size::text, p.created_at, "
                        + "(select count(*) from allocation a where a.pool = p.name), "
                        + "(select count(*) from allocation a where a.pool = p.name and a.ordinal is not null) "
                        + "from pool p where ($1::text is null or p.name = $1) order by p.name")
                .execute(Tuple.of(only)).await().atMost(TIMEOUT);
        List<PoolRecord> out = new ArrayList<>();
        for (Row r : rows) {
            PoolDefinition def = definition(r.getString(0), r.getLong(4), r.getString(3));
            BigInteger total = new BigInteger(r.getString(5));
            out.add(new PoolRecord(r.getString(0), r.getString(1), r.getBoolean(2), read(r.getString(3)), def, total,
                    r.getLong(7), total.subtract(BigInteger.valueOf(r.getLong(8))), r.getOffsetDateTime(6), def.warnings()));
        }
        return out;
    }

    /** Deletes a pool; refused while it has allocations unless force (which drops them too). */
    public boolean deletePool(String name, boolean force) {
        return inTransaction(conn -> {
            RowSet<Row> locked = q(conn, "select 1 from pool where name = $1 for update", Tuple.of(name));
            if (!locked.iterator().hasNext()) return false;
            long held = count(conn, name);
            if (held > 0 && !force) {
                throw new IpamException(Reason.Conflict, "pool \"" + name + "\" has " + held + " allocations; release them first or delete with ?force=true");
            }
            q(conn, "delete from pool where name = $1", Tuple.of(name));
            knownDerived.remove(name);
            return true;
        });
    }

    // ---------------------------------------------------------------- allocations

    /**
     * One address per range set for the owner, all or nothing. Static requests (ips) are granted when inside the
     * pool and free; range sets without one get their lowest free address. The same owner asking again gets what
     * it holds (created=false). Routes, DNS and gateways come from {@code reported} when given (the NAD's own
     * section, for NAD-derived pools), else from the pool.
     */
    public Lease allocate(String poolName, Owner owner, List<String> ips, PoolDefinition reported) {
        owner.validated(true);
        List<PoolDefinition.Asked> asked = asked(ips, reported);
        if (asked.isEmpty()) return allocateAsync(poolName, owner, null, reported).await().atMost(QUEUE_TIMEOUT);
        return allocateStatic(poolName, owner, asked, reported);
    }

    /** The addresses a request names: its ips, else the addresses of a static section (which then go into the pool). */
    private static List<PoolDefinition.Asked> asked(List<String> ips, PoolDefinition reported) {
        return reported != null ? reported.asked(ips) : PoolDefinition.askedIps(ips);
    }

    /** An operation (a dynamic allocate or a release) waiting for its pool's next batch. */
    private record Pending(boolean release, Owner owner, CompletableFuture<List<Row>> done) {
    }

    /** Operations of one pool waiting in this replica, and whether a batch of it is in flight. */
    private static final class Batch {
        final ConcurrentLinkedQueue<Pending> queue = new ConcurrentLinkedQueue<>();
        final AtomicBoolean running = new AtomicBoolean();
    }

    private static final int BATCH_MAX = 128;
    private static final String BATCH = "select o_idx, o_set, o_ordinal::text, o_value::text, o_created, o_version, o_state, o_message, "
            + "o_cluster, o_namespace, o_pod, o_pod_uid, o_interface from ipam_pool_batch($1, $2::text::jsonb)";
    private final Map<String, Batch> batches = new ConcurrentHashMap<>();

    /**
     * {@link #allocate} for callers that must not block, such as a REST request on the event loop. The common case,
     * a dynamic request, joins its pool's batch: concurrent dynamic requests for one pool are sent together as one
     * ipam_pool_batch statement (one lock, one commit for all of them), and the answer is built where the batch
     * completed when that needs no query (the pool's definition is cached, nothing was refused). Otherwise, and for
     * static requests, the work goes to a worker thread; a batch that failed on a collision (which the pool lock
     * should make impossible) is retried owner by owner, each alone.
     */
    public Uni<Lease> allocateAsync(String poolName, Owner owner, List<String> ips, PoolDefinition reported) {
        List<PoolDefinition.Asked> asked = asked(ips, reported);
        if (!asked.isEmpty()) return blocking(() -> allocateStatic(poolName, owner.validated(true), asked, reported));
        return Uni.createFrom().deferred(() -> {
            owner.validated(true);
            return Uni.createFrom().completionStage(submit(poolName, false, owner));
        }).onItemOrFailure().transformToUni((rows, failure) -> {
            if (failure == null && !rows.isEmpty() && rows.getFirst().getString(6) == null) {
                PoolDefinition def = cachedDefinition(poolName, rows.getFirst().getLong(5));
                if (def != null) return Uni.createFrom().item(leaseOf(poolName, def, reported, rows));
            }
            if (failure instanceof IpamException) return Uni.createFrom().failure(failure); // the owner, before anything ran
            return blocking(() -> allocated(poolName, owner, reported, rows, unwrap(failure)));
        });
    }

    /** The answer to a dynamic allocation from its batch's rows, or from the batch's failure (may query: blocks). */
    private Lease allocated(String poolName, Owner owner, PoolDefinition reported, List<Row> rows, Throwable failure) {
        if (failure != null) {
            if (failure instanceof PgException pg && RETRYABLE.contains(pg.getSqlState())) return allocateOne(poolName, owner, reported);
            if (failure instanceof PgException pg) throw translate(pg, poolName, owner);
            throw failure instanceof RuntimeException re ? re : new IllegalStateException(failure);
        }
        if (rows.isEmpty()) {
            if (definition(poolName, -1, null).kind() == PoolDefinition.Kind.STATIC) throw staticSegmentAskedNothing(poolName);
            throw new IllegalStateException("ipam_pool_batch gave no row for an allocate in pool " + poolName);
        }
        Row first = rows.getFirst();
        String state = first.getString(6);
        // a row's state is a refusal (NA403, NA409: V3); a collision fails the whole statement, handled above
        if (state != null) throw translate(state, first.getString(7), poolName, owner);
        return leaseOf(poolName, definition(poolName, first.getLong(5), null), reported, rows);
    }

    private static Lease leaseOf(String poolName, PoolDefinition def, PoolDefinition reported, List<Row> rows) {
        if (def.kind() == PoolDefinition.Kind.STATIC) throw staticSegmentAskedNothing(poolName);
        Map<Integer, Address> chosen = new LinkedHashMap<>();
        for (Row r : rows) chosen.put(r.getInteger(1), address(def, r.getInteger(1), r.getString(2), r.getString(3)));
        return lease(poolName, def, reported != null ? reported : def, chosen, rows.getFirst().getBoolean(4));
    }

    /** A dynamic request (no ips) for a static segment, which has no addresses of its own to give. */
    private static IpamException staticSegmentAskedNothing(String poolName) {
        return new IpamException(Reason.Invalid, "ips: missing (pool \"" + poolName + "\" is a static segment: it holds addresses asked by name and gives none of its own)");
    }

    private static Throwable unwrap(Throwable t) {
        return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    }

    /** Work that may block (queries awaited), run on a worker thread for a caller that must not block. */
    private static <T> Uni<T> blocking(java.util.function.Supplier<T> work) {
        return Uni.createFrom().item(work).runSubscriptionOn(Infrastructure.getDefaultWorkerPool());
    }

    /**
     * Queues one operation for its pool; the future completes with its rows (on a Vert.x thread) once a batch ran
     * it. No thread waits to lead a batch: whoever finds no batch of the pool in flight sends everything queued,
     * and each batch's completion sends the next. Releases and allocations of a pool share the queue, in arrival
     * order, so a busy pool takes its row lock and commits once per batch instead of once per operation.
     */
    private CompletableFuture<List<Row>> submit(String poolName, boolean release, Owner owner) {
        Batch batch = batches.computeIfAbsent(poolName, k -> new Batch());
        CompletableFuture<List<Row>> done = new CompletableFuture<>();
        batch.queue.add(new Pending(release, owner, done));
        drain(poolName, batch);
        return done;
    }

    /**
     * Sends the pool's next batch unless one is in flight. Called after every queueing and by every batch's
     * completion: an operation queued while a batch was in flight is sent by that batch's completion, or by its
     * own call if the completion had already looked.
     */
    private void drain(String poolName, Batch batch) {
        while (!batch.queue.isEmpty() && batch.running.compareAndSet(false, true)) {
            List<Pending> taken = new ArrayList<>();
            for (Pending p; taken.size() < BATCH_MAX && (p = batch.queue.poll()) != null; ) taken.add(p);
            if (taken.isEmpty()) {
                batch.running.set(false);
                continue;
            }
            batchSizes.record(taken.size());
            send(poolName, taken).subscribe().with(rows -> finish(poolName, batch, taken, rows, null), failure -> finish(poolName, batch, taken, null, failure));
            return;
        }
    }

    /**
     * A batch came back: the pool's next batch leaves first, then this one's callers are answered. The batch
     * committed synchronously (its commit returned once its WAL was on disk), so what is answered is durable.
     */
    private void finish(String poolName, Batch batch, List<Pending> taken, RowSet<Row> rows, Throwable failure) {
        Map<Integer, List<Row>> byOp = new HashMap<>();
        try {
            if (rows != null) for (Row r : rows) byOp.computeIfAbsent(r.getInteger(0), k -> new ArrayList<>()).add(r);
        } catch (RuntimeException e) {
            failure = e;
        } finally {
            batch.running.set(false); // whatever happened: a pool whose flag stayed set would never send again
            drain(poolName, batch);
        }
        for (int i = 0; i < taken.size(); i++) {
            if (failure != null) taken.get(i).done().completeExceptionally(failure);
            else taken.get(i).done().complete(byOp.getOrDefault(i, List.of())); // a release that freed nothing has no row
        }
    }

    /** One batch: one ipam_pool_batch statement, one transaction, committed synchronously. */
    private Uni<RowSet<Row>> send(String poolName, List<Pending> taken) {
        return Uni.createFrom().deferred(() -> {
            List<Map<String, String>> ops = new ArrayList<>(taken.size());
            for (Pending p : taken) {
                Map<String, String> op = new HashMap<>();
                op.put("op", p.release() ? "release" : "allocate");
                op.put("cluster", p.owner().cluster());
                op.put("namespace", p.owner().namespace());
                op.put("pod", p.owner().pod());
                op.put("podUid", p.owner().podUid());
                op.put("interface", p.owner().iface());
                ops.add(op);
            }
            return db.preparedQuery(BATCH).execute(Tuple.of(poolName, write(ops)));
        }).ifNoItem().after(TIMEOUT).fail();
    }

    private IpamException translate(PgException e, String poolName, Owner owner) {
        IpamException known = translate(e.getSqlState(), e.getErrorMessage(), poolName, owner);
        if (known != null) return known;
        throw e;
    }

    /** The function's own error codes as refusals; null for any other state. */
    private IpamException translate(String state, String message, String poolName, Owner owner) {
        return switch (String.valueOf(state)) {
            case "NA404" -> new IpamException(Reason.NotFound, "pool \"" + poolName + "\" not found");
            case "NA403" -> IpamException.invalid("owner.cluster", owner.cluster(), "may not allocate from pool \"" + poolName + "\" of cluster \"" + message + "\"");
            case "NA409" -> exhausted(poolName, definition(poolName, -1, null), Integer.parseInt(message));
            default -> {
                if (state != null && state.length() == 5) throw new IllegalStateException("allocation in pool " + poolName + " failed: " + state + " " + message);
                yield null;
            }
        };
    }

    /** One owner in one statement (ipam_allocate): the pool lock lives only inside the server. */
    private Lease allocateOne(String poolName, Owner owner, PoolDefinition reported) {
        for (int attempt = 1; ; attempt++) {
            try {
                RowSet<Row> rows = db.preparedQuery("select range_set, ordinal::text, value::text, created, version from ipam_allocate($1, $2, $3, $4, $5, $6)")
                        .execute(Tuple.of(poolName, owner.cluster(), owner.namespace(), owner.pod(), owner.podUid(), owner.iface()))
                        .await().atMost(TIMEOUT);
                Map<Integer, Address> chosen = new LinkedHashMap<>();
                boolean created = false;
                PoolDefinition def = null;
                for (Row r : rows) {
                    if (def == null) def = definition(poolName, r.getLong(4), null);
                    chosen.put(r.getInteger(0), address(def, r.getInteger(0), r.getString(1), r.getString(2)));
                    created = r.getBoolean(3);
                }
                if (def == null) throw new IllegalStateException("ipam_allocate returned nothing for pool " + poolName);
                return lease(poolName, def, reported != null ? reported : def, chosen, created);
            } catch (PgException e) {
                switch (String.valueOf(e.getSqlState())) {
                    case "NA404" -> throw new IpamException(Reason.NotFound, "pool \"" + poolName + "\" not found");
                    case "NA403" -> throw IpamException.invalid("owner.cluster", owner.cluster(),
                            "may not allocate from pool \"" + poolName + "\" of cluster \"" + e.getErrorMessage() + "\"");
                    case "NA409" -> throw exhausted(poolName, definition(poolName, -1, null), Integer.parseInt(e.getErrorMessage()));
                    default -> {
                        if (!RETRYABLE.contains(e.getSqlState()) || attempt >= ATTEMPTS) throw e;
                    }
                }
            }
        }
    }

    private static IpamException exhausted(String poolName, PoolDefinition def, int k) {
        RangeSet set = def.rangeSets().get(k);
        return new IpamException(Reason.Exhausted, "pool \"" + poolName + "\" is exhausted: all " + set.size() + " addresses of "
                + (def.rangeSets().size() > 1 ? "range set " + k + " (" + set.describe() + ")" : set.describe()) + " are allocated");
    }

    /** An address from its stored form: the ordinal inside the dynamic range, else the numeric value. */
    private static Address address(PoolDefinition def, int rangeSet, String ordinal, String value) {
        if (def.kind() == PoolDefinition.Kind.STATIC) return new Address(StaticSegment.bitsOf(rangeSet), new BigInteger(value));
        RangeSet set = def.rangeSets().get(rangeSet);
        if (ordinal != null) return set.addressAt(new BigInteger(ordinal));
        return new Address(set.ranges().getFirst().subnet().bits(), new BigInteger(value));
    }

    /** Static requests (the request's ips, or a static section's addresses) in a pool, or in a static segment's pool. */
    private Lease allocateStatic(String poolName, Owner owner, List<PoolDefinition.Asked> asked, PoolDefinition reported) {
        return inTransaction(conn -> {
            Row row = lockPool(conn, poolName, owner);
            PoolDefinition def = definition(poolName, row.getLong(2), row.getString(1));
            PoolDefinition shown = reported != null ? reported : def;
            if (def.kind() == PoolDefinition.Kind.STATIC) {
                return inSegment(conn, poolName, owner, StaticSegment.wanted(asked, poolName, "ips"), reported);
            }
            List<RangeSet> sets = def.rangeSets();

            Map<Integer, Address> held = new HashMap<>();
            for (Row r : q(conn, "select range_set, ordinal::text, value::text from allocation where pool = $1 and cluster = $2 and pod_uid = $3 and interface = $4",
                    Tuple.of(poolName, owner.cluster(), owner.podUid(), owner.iface()))) {
                held.put(r.getInteger(0), address(def, r.getInteger(0), r.getString(1), r.getString(2)));
            }
            if (held.size() == sets.size()) return lease(poolName, def, shown, held, false);

            List<PoolDefinition.Placement> placements = def.place(asked, poolName);
            BigInteger[] hints = Arrays.stream(row.getString(3).split(",")).map(BigInteger::new).toArray(BigInteger[]::new);
            boolean hintsChanged = false;
            Map<Integer, Address> chosen = new LinkedHashMap<>(held);
            for (PoolDefinition.Placement pl : placements) {
                if (held.containsKey(pl.rangeSet())) continue;
                RowSet<Row> holder = pl.ordinal() != null
                        ? q(conn, "select namespace, pod, pod_uid, interface, cluster from allocation where pool = $1 and range_set = $2 and ordinal = $3",
                                Tuple.of(poolName, pl.rangeSet(), new java.math.BigDecimal(pl.ordinal())))
                        : q(conn, "select namespace, pod, pod_uid, interface, cluster from allocation where pool = $1 and range_set = $2 and value = $3",
                                Tuple.of(poolName, pl.rangeSet(), new java.math.BigDecimal(pl.address().value())));
                if (holder.iterator().hasNext()) throw heldBy(asked.getFirst().list(), pl.address(), poolName, holder.iterator().next());
                insert(conn, poolName, pl.rangeSet(), pl.ordinal() == null ? pl.address().value() : null, pl.ordinal(), owner, true);
                chosen.put(pl.rangeSet(), pl.address());
            }
            for (int k = 0; k < sets.size(); k++) {
                if (chosen.containsKey(k)) continue;
                RangeSet set = sets.get(k);
                BigInteger ordinal = lowestFree(conn, poolName, k, hints[k]);
                if (ordinal.compareTo(set.size()) >= 0) throw exhausted(poolName, def, k);
                insert(conn, poolName, k, null, ordinal, owner, false);
                chosen.put(k, set.addressAt(ordinal));
                hints[k] = ordinal.add(BigInteger.ONE);
                hintsChanged = true;
            }
            if (hintsChanged) {
                q(conn, "update pool set hints = string_to_array($2, ',')::numeric[] where name = $1",
                        Tuple.of(poolName, Arrays.stream(hints).map(BigInteger::toString).collect(Collectors.joining(","))));
            }
            return lease(poolName, def, shown, chosen, true);
        });
    }

    /**
     * The pool row, locked: allocators of one pool queue here instead of racing for the same address. Refuses an
     * owner of another cluster than the pool's. Columns: cluster, ipam, version, hints, kind.
     */
    private Row lockPool(SqlConnection conn, String poolName, Owner owner) {
        RowSet<Row> p = q(conn, "select cluster, ipam::text, version, array_to_string(hints, ','), kind from pool where name = $1 for update", Tuple.of(poolName));
        if (!p.iterator().hasNext()) throw new IpamException(Reason.NotFound, "pool \"" + poolName + "\" not found");
        Row row = p.iterator().next();
        String poolCluster = row.getString(0);
        if (poolCluster != null && !poolCluster.equals(owner.cluster())) {
            throw IpamException.invalid("owner.cluster", owner.cluster(), "may not allocate from pool \"" + poolName + "\" of cluster \"" + poolCluster + "\"");
        }
        return row;
    }

    /** A static address held by another owner: who holds it. Row: namespace, pod, pod_uid, interface, cluster. */
    private static IpamException heldBy(String field, Address a, String poolName, Row h) {
        return new IpamException(Reason.Conflict, field + ": " + a + " in pool \"" + poolName + "\" is held by " + h.getString(0) + "/" + h.getString(1)
                + " (uid " + h.getString(2) + ", interface " + h.getString(3) + ", cluster " + h.getString(4) + ")");
    }

    /**
     * The addresses of a static section (or the request's ips, which replace them) in the section's segment, whose
     * pool is created on first use; one transaction under that pool's lock. Each address is granted when no other
     * owner of the segment holds it; the same owner asking again for what it holds gets it (created=false).
     */
    public Lease allocateInSegment(StaticSegment segment, Owner owner, List<String> ips, PoolDefinition section) {
        owner.validated(true);
        List<StaticSegment.Wanted> wanted = StaticSegment.wanted(section, ips, segment.pool());
        String ipamText = write(segment.ipam());
        return inTransaction(conn -> {
            q(conn, "insert into pool (name, cluster, kind, ipam, canonical, derived, size, hints, set_sizes) "
                    + "values ($1, $2, 'static', $3::text::jsonb, '', true, 0, '{}', '{}') on conflict (name) do nothing", Tuple.of(segment.pool(), segment.cluster(), ipamText));
            Row row = lockPool(conn, segment.pool(), owner);
            if (!PoolDefinition.Kind.STATIC.cniType.equals(row.getString(4))) {
                throw new IllegalStateException("pool " + segment.pool() + " is of kind " + row.getString(4) + ", not the static segment its name derives from");
            }
            return inSegment(conn, segment.pool(), owner, wanted, section);
        });
    }

    /** Under the segment pool's lock: what the owner holds there if it asks the same again, else the wanted addresses if free. */
    private Lease inSegment(SqlConnection conn, String poolName, Owner owner, List<StaticSegment.Wanted> wanted, PoolDefinition section) {
        Map<Integer, Address> held = new HashMap<>();
        for (Row r : q(conn, "select range_set, value::text from allocation where pool = $1 and cluster = $2 and pod_uid = $3 and interface = $4",
                Tuple.of(poolName, owner.cluster(), owner.podUid(), owner.iface()))) {
            held.put(r.getInteger(0), new Address(StaticSegment.bitsOf(r.getInteger(0)), new BigInteger(r.getString(1))));
        }
        String list = wanted.getFirst().asked().list();
        if (!held.isEmpty()) {
            Map<Integer, Address> asked = new HashMap<>();
            for (StaticSegment.Wanted w : wanted) asked.put(w.rangeSet(), w.address());
            if (held.equals(asked)) return StaticSegment.lease(poolName, wanted, section, false);
            // the segment keeps no prefix length nor gateway to answer with other addresses than those asked
            throw new IpamException(Reason.Conflict, list + ": " + owner.podRef() + " (uid " + owner.podUid() + ", interface " + owner.iface() + ") already holds "
                    + held.values().stream().sorted().map(Address::toString).collect(Collectors.joining(", ")) + " in pool \"" + poolName + "\", not "
                    + wanted.stream().map(w -> w.address().toString()).collect(Collectors.joining(", ")) + "; release it first");
        }
        for (StaticSegment.Wanted w : wanted) {
            RowSet<Row> holder = q(conn, "select namespace, pod, pod_uid, interface, cluster from allocation where pool = $1 and range_set = $2 and value = $3",
                    Tuple.of(poolName, w.rangeSet(), new java.math.BigDecimal(w.address().value())));
            if (holder.iterator().hasNext()) throw heldBy(list, w.address(), poolName, holder.iterator().next());
            insert(conn, poolName, w.rangeSet(), w.address().value(), null, owner, true);
        }
        return StaticSegment.lease(poolName, wanted, section, true);
    }

    /** Lowest free ordinal at or above the hint (every ordinal below the hint is taken). */
    private BigInteger lowestFree(SqlConnection conn, String pool, int set, BigInteger hint) {
        RowSet<Row> r = q(conn, "select (case when not exists (select 1 from allocation where pool = $1 and range_set = $2 and ordinal = $3::numeric) then $3::numeric "
                + "else (select a.ordinal + 1 from allocation a where a.pool = $1 and a.range_set = $2 and a.ordinal >= $3::numeric "
                + "and not exists (select 1 from allocation b where b.pool = $1 and b.range_set = $2 and b.ordinal = a.ordinal + 1) "
                + "order by a.ordinal limit 1) end)::text", Tuple.of(pool, set, new java.math.BigDecimal(hint)));
        return new BigInteger(r.iterator().next().getString(0));
    }

    private void insert(SqlConnection conn, String pool, int set, BigInteger value, BigInteger ordinal, Owner o, boolean fixed) {
        q(conn, "insert into allocation (pool, range_set, value, ordinal, cluster, namespace, pod, pod_uid, interface, static) "
                        + "values ($1, $2, $3::numeric, $4::numeric, $5, $6, $7, $8, $9, $10)",
                Tuple.of(pool, set, value == null ? null : new java.math.BigDecimal(value), ordinal == null ? null : new java.math.BigDecimal(ordinal), o.cluster(), o.namespace())
                        .addString(o.pod()).addString(o.podUid()).addString(o.iface()).addBoolean(fixed));
    }

    private static Lease lease(String pool, PoolDefinition def, PoolDefinition shown, Map<Integer, Address> chosen, boolean created) {
        List<String> ips = new ArrayList<>();
        List<String> gateways = new ArrayList<>();
        for (int k = 0; k < def.rangeSets().size(); k++) {
            Address a = chosen.get(k);
            Range r = def.rangeSets().get(k).rangeFor(a);
            ips.add(a + "/" + r.subnet().prefix());
            Range shownRange = shown.rangeSets().size() > k ? shown.rangeSets().get(k).rangeFor(a) : null;
            String gw = shownRange != null ? text(shownRange.gateway()) : text(r.gateway());
            // a static section's address in a global pool reports the gateway the section gives it, if any
            for (StaticAddress sa : shown.addresses()) {
                Cidr c = Cidr.parseOrNull(sa.address());
                if (c != null && c.address().equals(a) && sa.gateway() != null) gw = sa.gateway();
            }
            if (gw != null) gateways.add(gw);
        }
        return new Lease(pool, ips, gateways, shown.routes(), shown.dns(), created);
    }

    private static String text(Address a) {
        return a == null ? null : a.toString();
    }

    /** Who holds each address of a pool. */
    public List<Holding> allocations(String poolName) {
        PoolDefinition def = pool(poolName).orElseThrow(() -> new IpamException(Reason.NotFound, "pool \"" + poolName + "\" not found")).definition();
        RowSet<Row> rows = db.preparedQuery("select ordinal::text, value::text, range_set, static, cluster, namespace, pod, pod_uid, interface, created_at "
                + "from allocation where pool = $1 order by range_set, ordinal nulls last, value").execute(Tuple.of(poolName)).await().atMost(TIMEOUT);
        List<Holding> out = new ArrayList<>();
        for (Row r : rows) {
            out.add(new Holding(poolName, address(def, r.getInteger(2), r.getString(0), r.getString(1)).toString(), r.getInteger(2), r.getBoolean(3),
                    new Owner(r.getString(4), r.getString(5), r.getString(6), r.getString(7), r.getString(8)), r.getOffsetDateTime(9)));
        }
        return out;
    }

    /**
     * Releases what a pod holds (interface null: every interface; cluster null: any cluster), in one pool or in all.
     * Releasing twice is fine. A release confined to one pool (given, or the only pool the pod holds addresses in)
     * joins that pool's batch; a pod in several pools is released by one ipam_release statement (all or nothing).
     */
    public List<Released> release(String cluster, String podUid, String iface, String poolOrNull) {
        return releaseAsync(cluster, podUid, iface, poolOrNull).await().atMost(QUEUE_TIMEOUT);
    }

    /**
     * {@link #release} for callers that must not block (see {@link #allocateAsync}): through the pool's batch, the
     * answer built where the batch completed when the pool's definition is cached; a pod in several pools is
     * released by ipam_release on a worker thread.
     */
    public Uni<List<Released>> releaseAsync(String cluster, String podUid, String iface, String poolOrNull) {
        if (poolOrNull != null) return releaseAsyncIn(cluster, podUid, iface, poolOrNull);
        // which pools, as release() finds them, without waiting for the answer on a thread
        return db.preparedQuery("select o_pool, o_cluster, o_interface from ipam_pools_of($1)").execute(Tuple.of(podUid)).onItem().transformToUni(found -> {
            Set<String> pools = new java.util.TreeSet<>();
            for (Row r : found) {
                if ((cluster == null || cluster.equals(r.getString(1))) && (iface == null || iface.equals(r.getString(2)))) pools.add(r.getString(0));
            }
            if (pools.isEmpty()) return Uni.createFrom().item(List.<Released>of());
            if (pools.size() > 1) return blocking(() -> freed("select * from ipam_release($1, $2, $3, $4)", Tuple.of(cluster, podUid, iface, null)));
            return releaseAsyncIn(cluster, podUid, iface, pools.iterator().next());
        });
    }

    private Uni<List<Released>> releaseAsyncIn(String cluster, String podUid, String iface, String pool) {
        return Uni.createFrom().deferred(() -> Uni.createFrom().completionStage(submit(pool, true, new Owner(cluster, null, null, podUid, iface))))
                .onItemOrFailure().transformToUni((rows, failure) -> {
                    if (failure == null) {
                        List<Released> out = new ArrayList<>(rows.size());
                        for (Row r : rows) {
                            PoolDefinition def = r.getString(6) == null ? cachedDefinition(pool, r.getLong(5)) : null;
                            if (def == null) break;
                            out.add(releasedOf(pool, def, r));
                        }
                        if (out.size() == rows.size()) return Uni.createFrom().item(out);
                    }
                    return blocking(() -> released(cluster, podUid, iface, pool, rows, unwrap(failure)));
                });
    }

    /** What a release in one pool freed, from its batch's rows or failure (may query: blocks). */
    private List<Released> released(String cluster, String podUid, String iface, String pool, List<Row> rows, Throwable failure) {
        if (failure != null) {
            if (failure instanceof PgException pg && "NA404".equals(pg.getSqlState())) return List.of(); // no such pool: nothing held there
            if (failure instanceof PgException pg && RETRYABLE.contains(pg.getSqlState())) {
                return freed("select * from ipam_release($1, $2, $3, $4)", Tuple.of(cluster, podUid, iface, pool)); // alone, retried
            }
            throw failure instanceof RuntimeException re ? re : new IllegalStateException(failure);
        }
        List<Released> out = new ArrayList<>(rows.size());
        for (Row r : rows) {
            String state = r.getString(6);
            // a release's row carries no state since V3 (a collision fails the whole statement, handled above)
            if (state != null) throw new IllegalStateException("release in pool " + pool + " failed: " + state + " " + r.getString(7));
            out.add(releasedOf(pool, definition(pool, r.getLong(5), null), r));
        }
        return out;
    }

    private static Released releasedOf(String pool, PoolDefinition def, Row r) {
        return new Released(pool, address(def, r.getInteger(1), r.getString(2), r.getString(3)).toString(),
                new Owner(r.getString(8), r.getString(9), r.getString(10), r.getString(11), r.getString(12)));
    }

    /**
     * Releases the allocations of a cluster whose pod UID is not among the live ones and that are older than the
     * snapshot (an allocation made after the snapshot may belong to a pod the snapshot could not see).
     */
    public List<Released> reconcile(String cluster, Set<String> liveUids, OffsetDateTime snapshotTime) {
        return freed("select * from ipam_reconcile($1, $2, $3)", Tuple.of(cluster, liveUids.toArray(new String[0]), snapshotTime));
    }

    /** Runs ipam_release / ipam_reconcile (one statement each: lock, delete, lower the hints) and names what was freed. */
    private List<Released> freed(String sql, Tuple args) {
        for (int attempt = 1; ; attempt++) {
            try {
                RowSet<Row> rows = db.preparedQuery(sql.replace("select *", "select o_pool, o_set, o_ordinal::text, o_value::text, o_cluster, o_namespace, o_pod, o_pod_uid, o_interface, o_version"))
                        .execute(args).await().atMost(TIMEOUT);
                List<Released> out = new ArrayList<>();
                for (Row r : rows) {
                    PoolDefinition def = definition(r.getString(0), r.getLong(9), null);
                    out.add(new Released(r.getString(0), address(def, r.getInteger(1), r.getString(2), r.getString(3)).toString(),
                            new Owner(r.getString(4), r.getString(5), r.getString(6), r.getString(7), r.getString(8))));
                }
                return out;
            } catch (PgException e) {
                if (!RETRYABLE.contains(e.getSqlState()) || attempt >= ATTEMPTS) throw e;
            }
        }
    }

    public boolean poolExists(String name) {
        return poolExistsAsync(name).await().atMost(TIMEOUT);
    }

    /** {@link #poolExists} for callers that must not block. */
    public Uni<Boolean> poolExistsAsync(String name) {
        return db.preparedQuery("select 1 from pool where name = $1").execute(Tuple.of(name)).map(rows -> rows.iterator().hasNext());
    }

    // ---------------------------------------------------------------- plumbing

    private List<String> overlaps(String name, String cluster, PoolDefinition def) {
        List<String> out = new ArrayList<>();
        RowSet<Row> rows = db.preparedQuery("select name, version, ipam::text from pool where name <> $1 and ($2::text is null or cluster is null or cluster = $2)")
                .execute(Tuple.of(name, cluster)).await().atMost(TIMEOUT);
        for (Row r : rows) {
            PoolDefinition other = definition(r.getString(0), r.getLong(1), r.getString(2));
            for (RangeSet a : def.rangeSets()) for (Range x : a.ranges()) for (RangeSet b : other.rangeSets()) for (Range y : b.ranges()) {
                if (x.subnet().overlaps(y.subnet())) {
                    out.add("overlaps pool \"" + r.getString(0) + "\" (" + y.subnet().networkText() + "): addresses are not coordinated between the two pools");
                }
            }
        }
        return out.stream().distinct().toList();
    }

    /** The parsed section of a pool at this version if this replica has it, else null (never queries). */
    private PoolDefinition cachedDefinition(String name, long version) {
        Parsed p = definitions.get(name);
        return p != null && p.version() == version ? p.definition() : null;
    }

    /** The parsed section of a pool at this version (cached); ipamText null: read it (version -1: whatever is current). */
    private PoolDefinition definition(String name, long version, String ipamText) {
        PoolDefinition cached = cachedDefinition(name, version);
        if (cached != null) return cached;
        if (ipamText == null) {
            RowSet<Row> rows = db.preparedQuery("select version, ipam::text from pool where name = $1").execute(Tuple.of(name)).await().atMost(TIMEOUT);
            if (!rows.iterator().hasNext()) throw new IpamException(Reason.NotFound, "pool \"" + name + "\" not found");
            Row r = rows.iterator().next();
            version = r.getLong(0);
            ipamText = r.getString(1);
            cached = cachedDefinition(name, version);
            if (cached != null) return cached;
        }
        PoolDefinition def = IpamConfig.parse(read(ipamText));
        definitions.put(name, new Parsed(version, def));
        return def;
    }

    private static void validatePoolName(String name) {
        if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9._\\-]{0,127}")) {
            throw IpamException.invalid("name", name, "is not a valid pool name (1-128 of letters, digits, '.', '_', '-', starting with a letter or digit)");
        }
    }

    private static String sizes(PoolDefinition def) {
        return def.rangeSets().stream().map(r -> r.size().toString()).collect(Collectors.joining(","));
    }

    private static String zeros(PoolDefinition def) {
        return def.rangeSets().stream().map(s -> "0").collect(Collectors.joining(","));
    }

    private static long count(SqlConnection conn, String pool) {
        return q(conn, "select count(*) from allocation where pool = $1", Tuple.of(pool)).iterator().next().getLong(0);
    }

    private static RowSet<Row> q(SqlConnection conn, String sql, Tuple args) {
        return conn.preparedQuery(sql).execute(args).await().atMost(TIMEOUT);
    }

    private String write(Object ipam) {
        try {
            return json.writeValueAsString(ipam);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private Map<String, Object> read(String text) {
        try {
            return json.readValue(text, new TypeReference<>() { });
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored ipam section is not JSON: " + e.getMessage(), e);
        }
    }

    /** Thrown inside a transaction to roll back and run it again. */
    private static final class Retry extends RuntimeException {
        Retry() {
            super(null, null, false, false);
        }
    }

    private interface Work<T> {
        T run(SqlConnection conn);
    }

    /** Runs the work in one transaction; rolls back on any failure; retries whole on unique violation or deadlock. */
    private <T> T inTransaction(Work<T> work) {
        for (int attempt = 1; ; attempt++) {
            SqlConnection conn = db.getConnection().await().atMost(TIMEOUT);
            Transaction tx = null;
            try {
                tx = conn.begin().await().atMost(TIMEOUT);
                T result = work.run(conn);
                tx.commit().await().atMost(TIMEOUT);
                return result;
            } catch (RuntimeException e) {
                if (tx != null) {
                    try {
                        tx.rollback().await().atMost(TIMEOUT);
                    } catch (RuntimeException ignored) {
                        // the connection is closed below; PostgreSQL aborts the transaction with it
                    }
                }
                boolean retry = e instanceof Retry || (e instanceof PgException pg && RETRYABLE.contains(pg.getSqlState()));
                if (!retry || attempt >= ATTEMPTS) {
                    if (e instanceof Retry) throw new IllegalStateException("gave up after " + attempt + " attempts (concurrent changes)");
                    throw e;
                }
            } finally {
                conn.close().await().atMost(TIMEOUT);
            }
        }
    }

}
