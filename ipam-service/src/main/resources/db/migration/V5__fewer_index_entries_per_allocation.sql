-- V5: a dynamic allocation wrote five index entries, two of them useless. allocation_value indexed the NULL
-- value of every dynamic row: 27 MB of NULL entries in this machine's bench database after a few runs (a NULL
-- key is never checked for uniqueness, so the entries of deleted rows stayed until a vacuum), 8 kB after the
-- same runs with the partial index, which holds static values only.
-- allocation_pod (pod_uid) duplicated the owner index with the pod UID moved first, which serves both the owner
-- lookups (every column given) and the lookups by pod UID alone. Three entries per dynamic row now. Throughput in
-- the IPAM bench did not change measurably (docs/benchmarks.md, session 6); the point is the writes and the bloat.
drop index allocation_value;
create unique index allocation_value on allocation (pool, range_set, value) where value is not null;
drop index allocation_owner;
drop index allocation_pod;
create unique index allocation_owner on allocation (pod_uid, pool, cluster, interface, range_set);
