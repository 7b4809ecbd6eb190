-- V7: the WAL barrier that V6 meant. V6's comment (and the store until this migration) used
-- `select pg_current_xact_id()` as the synchronous commit that waits for the batch's WAL flush. It does not wait:
-- PostgreSQL flushes at commit only when the transaction wrote WAL of its own before its commit record
-- (xact.c, RecordTransactionCommit: wrote_xlog is read before the commit record is written), and taking an XID
-- writes none. Such a commit is asynchronous whatever synchronous_commit says. Measured here: 2,000 of them in a
-- row made one WAL sync in all (pg_stat_wal.wal_sync) and took 0.057 ms each, while fdatasync alone takes
-- 0.149 ms (pg_test_fsync). So from V6 until V7 an answered batch was on disk only once the WAL writer had
-- flushed it (within wal_writer_delay, 200 ms by default): a crash of the machine, not only of PostgreSQL, in
-- that window could lose acknowledged allocations and hand their addresses out again.
--
-- ipam_wal_barrier() writes a transactional logical message (one small WAL record, which also takes an XID), so
-- its commit is synchronous and returns only once the WAL is flushed up to its own commit record. Whatever
-- committed before the barrier started lies earlier in the WAL and is on disk too. It returns the LSN of its
-- message. A session or role running with synchronous_commit off gets it raised to on for the barrier's own
-- transaction; any stronger setting (remote_write, remote_apply with synchronous standbys) is kept.
-- With wal_level = logical, decoders see these messages under the prefix 'netattach.ipam.barrier' (pgoutput
-- passes them on only to subscribers that ask for messages); they carry no data.

create function ipam_wal_barrier()
    returns pg_lsn
    language plpgsql volatile as $$
begin
    if current_setting('synchronous_commit') = 'off' then
        perform set_config('synchronous_commit', 'on', true);
    end if;
    return pg_logical_emit_message(true, 'netattach.ipam.barrier', '');
end $$;
