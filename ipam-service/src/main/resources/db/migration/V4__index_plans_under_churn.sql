-- V4: the hot functions plan their lookups on the indexes whatever the table statistics say. Measured with the
-- IPAM bench (docs/benchmarks.md, session 5): allocations and releases churn the allocation table, and the pool
-- row is rewritten by every batch, so both tables fill with dead row versions between vacuums, while their
-- statistics still describe the (nearly empty) tables they were when last analyzed. plpgsql caches a generic plan
-- per statement, and with those statistics it chose sequential scans: 4.1 million of them on allocation in two
-- bench runs, each reading every page, dead versions included. With the indexes forced, PostgreSQL's CPU per
-- allocation went from 0.63 to 0.30 ms and the hot pool from ~1,260 to ~2,230 allocations/s.
-- enable_seqscan = off only prices sequential scans out; a statement with no usable index still gets one.
-- A function redefined by a later migration (create or replace) keeps no SET clause: repeat it there.

alter function ipam_lowest_free(text, integer, numeric) set enable_seqscan = off;
alter function ipam_allocate_owner(text, numeric[], numeric[], text, text, text, text, text) set enable_seqscan = off;
alter function ipam_allocate(text, text, text, text, text, text) set enable_seqscan = off;
alter function ipam_pool_batch(text, jsonb) set enable_seqscan = off;
alter function ipam_release(text, text, text, text) set enable_seqscan = off;
alter function ipam_reconcile(text, text[], timestamptz) set enable_seqscan = off;

-- The pools a pod holds addresses in (a release without a pool: the Kafka path), through the pod UID index.
create function ipam_pools_of(p_pod_uid text)
    returns table (o_pool text, o_cluster text, o_interface text)
    language sql stable set enable_seqscan = off as $$
    select a.pool, a.cluster, a.interface from allocation a where a.pod_uid = p_pod_uid
$$;
