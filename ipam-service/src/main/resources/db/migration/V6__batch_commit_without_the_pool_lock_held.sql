-- V6: a batch commits without holding its pool's lock through the WAL flush. A transaction keeps its row locks
-- until its commit returns, and a synchronous commit returns after the commit record is flushed to disk (an
-- fdatasync: ~0.2 ms on this machine, pg_test_fsync). The batches of one pool queue on the pool row, so they were
-- serialized flush by flush, and no two of them could share a flush.
--
-- ipam_pool_batch_deferred runs ipam_pool_batch with synchronous_commit off for its own transaction: the commit
-- releases the lock as soon as the commit record is written, before it is flushed. The caller (IpamStore) then
-- runs `select pg_current_xact_id()` on the same connection: a transaction with an XID, committed synchronously,
-- returns only once the WAL is flushed up to its own commit record, which comes after the batch's. Only then are
-- the batch's callers answered, so nothing is acknowledged before it is durable. A crash before the flush loses
-- the batch and everything that saw it: a batch that read it (the next holder of the pool lock) committed after
-- it, further in the same WAL, and its own answers wait for that later flush. Callers retry unanswered requests,
-- and an allocation is idempotent per owner. Measured with pgbench, 8 clients, each an allocate and a release of
-- one owner per cycle (docs/benchmarks.md, session 6): one hot pool 1,440 -> 3,390 cycles/s, 8 pools
-- 4,922 -> 7,053: waits on the flush now overlap, and concurrent flush waits share one fdatasync.
-- Anything that calls ipam_pool_batch itself keeps a synchronous commit.

create function ipam_pool_batch_deferred(p_pool text, p_ops jsonb)
    returns table (o_idx integer, o_set integer, o_ordinal numeric, o_value numeric, o_created boolean, o_version bigint,
                   o_state text, o_message text, o_cluster text, o_namespace text, o_pod text, o_pod_uid text, o_interface text)
    language plpgsql as $$
begin
    -- local to this transaction (not a SET clause, which would end with the function, before the commit)
    perform set_config('synchronous_commit', 'off', true);
    return query select * from ipam_pool_batch(p_pool, p_ops);
end $$;
