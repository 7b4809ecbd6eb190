-- V8: the store's batches commit synchronously again, by ipam_pool_batch itself; the deferred batch (V6) and the
-- WAL barrier (V7) go. Measured through the service (docs/benchmarks.md, session 7: REST, 8 clients, 2 replicas,
-- interleaved runs on one VM), with the barrier that really waits: hot pool 731-915 allocations/s deferred,
-- 1,119-1,283 synchronous; 16 pools 684-916 against 811-990; and less CPU per allocation in the service and in
-- PostgreSQL. V6's gain (session 6) came from its flush wait, which waited for nothing (V7's comment).
-- The batching already does what deferring was for: concurrent operations of a pool share one transaction, so
-- only the two replicas' batches queue on the pool lock, and a deferred commit then only adds a transaction
-- (the barrier) per batch. With pgbench alone and one operation per transaction (bench.sh ipam-sql), where 8
-- clients queue on the lock, deferring did help: that is not how the store sends them.
-- A synchronous commit becomes visible to other sessions only after its WAL is flushed, so every answer, and
-- everything an answer was read from, is on disk.

drop function ipam_pool_batch_deferred(text, jsonb);
drop function ipam_wal_barrier();
