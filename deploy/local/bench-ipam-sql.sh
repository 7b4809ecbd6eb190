#!/usr/bin/env bash
# deploy/local/bench-ipam-sql.sh: ipam-service's SQL alone, without the service (a benchmark, never a test).
# pgbench at N clients, each client a cycle of one allocate and one release of a new owner, one operation per
# batch statement, on one hot pool and on one pool per client; first with ipam_pool_batch as the store sends it
# (synchronous commit: the pool lock is held through the WAL flush), then deferred, as the store did from V6 to
# V8: the batch committed with synchronous_commit off (the lock goes before the flush), then a barrier
# transaction that writes a logical message, whose synchronous commit waits for the flush (V7). Beside it the
# reference of bench.sh ipam: pgbench's single-row UPDATE at N clients. Cycles/s are allocations/s. One
# operation per transaction, so 8 clients queue on a hot pool's lock: the store batches them instead.
# Then the ceiling: the database's share at the largest batches the service's bench could ever form. 8 closed-loop
# clients over 2 replicas leave a replica at most 4 operations queued (2 allocates and 2 releases, on average);
# here each of 2 connections (one per replica) sends K whole cycles per statement, K releases and K allocations
# of the same K owners again, K = 2 and 4, on one hot pool and on a pool per connection, with no service, broker
# or load generator on the cores. allocations/s = K x statements/s; if even that stays under pgbench's UPDATE rate,
# nothing put in front of the database on these cores reaches ratio 1.0.
# And the floor of any design that keeps a row per address: per transaction (one pipelined round trip) the K
# owners' rows deleted and inserted again, with fixed ordinals (from 50,000: clear of the runs before): no
# function, no pool lock, no search for the lowest free address, on 2 connections. K = 2 is all that 8 clients
# can have in flight (8 operations).
# Tables are vacuumed before each run (this machine's PostgreSQL runs without autovacuum). Needs the
# netattach_ipam database migrated (run bench.sh ipam or services once). Env: CLIENTS (8), SECONDS_PER_RUN (10).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
CLIENTS=${CLIENTS:-8}
SECS=${SECONDS_PER_RUN:-10}
PG=(psql -h 127.0.0.1 -U netattach_ipam -d netattach_ipam -qtA -v ON_ERROR_STOP=1)
WORK=$(mktemp -d)
cleanup() {
  "${PG[@]}" -c "delete from pool where name like 'benchsql-%'" -c "drop function if exists benchsql_pool_batch_deferred(text, jsonb)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"${PG[@]}" -c "select 1 from pg_proc where proname = 'ipam_pool_batch'" | grep -q 1 \
  || die "netattach_ipam is not migrated: run deploy/local/bench.sh ipam (or start ipam-service) once"
for i in $(seq 0 $((CLIENTS > 2 ? CLIENTS - 1 : 1))); do # a pool per client, and two at least (the ceiling)
  "${PG[@]}" -c "insert into pool (name, cluster, kind, ipam, canonical, derived, size, hints, set_sizes)
    values ('benchsql-$i', null, 'whereabouts', '{\"type\":\"whereabouts\",\"range\":\"10.$((200 + i)).0.0/16\"}',
            '10.$((200 + i)).0.0/16', false, 65534, '{0}', '{65534}') on conflict do nothing" >/dev/null
done

# the deferred batch as V6 defined it (dropped in V8), for the comparison; removed again on exit
"${PG[@]}" >/dev/null <<'SQL'
create or replace function benchsql_pool_batch_deferred(p_pool text, p_ops jsonb) returns setof record language plpgsql as $$
begin
    perform set_config('synchronous_commit', 'off', true);
    return query select * from ipam_pool_batch(p_pool, p_ops);
end $$;
SQL
script() { # file pools deferred
  local fn="ipam_pool_batch" cols="" barrier=""
  if [ "$3" = yes ]; then
    fn="benchsql_pool_batch_deferred" barrier="select pg_logical_emit_message(true, 'netattach.bench', '');"
    cols=" as (o_idx integer, o_set integer, o_ordinal numeric, o_value numeric, o_created boolean, o_version bigint, o_state text, o_message text, o_cluster text, o_namespace text, o_pod text, o_pod_uid text, o_interface text)"
  fi
  cat > "$WORK/$1" <<EOF
\\set u random(1, 1000000000)
\\set p :client_id % $2
select count(*) from $fn('benchsql-' || :p, ('[{"op":"allocate","cluster":"c","namespace":"n","pod":"p","podUid":"s' || :u || '","interface":"net1"}]')::jsonb)$cols;
$barrier
select count(*) from $fn('benchsql-' || :p, ('[{"op":"release","cluster":"c","podUid":"s' || :u || '","interface":"net1"}]')::jsonb)$cols;
$barrier
EOF
}
# K whole cycles in one statement: K owners of this connection released, then allocated again
batched() { # file cycles pools
  local ops="" j
  for j in $(seq 1 "$2"); do ops="$ops{\"op\":\"release\",\"cluster\":\"c\",\"podUid\":\"k' || :client_id || '-$j\",\"interface\":\"net1\"},"; done
  for j in $(seq 1 "$2"); do ops="$ops{\"op\":\"allocate\",\"cluster\":\"c\",\"namespace\":\"n\",\"pod\":\"p\",\"podUid\":\"k' || :client_id || '-$j\",\"interface\":\"net1\"},"; done
  printf '\\set p :client_id %% %s\nselect count(*) from ipam_pool_batch('"'"'benchsql-'"'"' || :p, ('"'"'[%s]'"'"')::jsonb);\n' "$3" "${ops%,}" > "$WORK/$1"
}
# the least a cycle can cost in rows: K rows deleted and inserted again per transaction, one pipelined round trip
floor() { # file cycles
  local dels="" ins="" j
  for j in $(seq 1 "$2"); do
    dels="$dels'f' || :client_id || '-$j',"
    ins="$ins('benchsql-0', 0, 50000 + :client_id * 100 + $j, 'c', 'n', 'p', 'f' || :client_id || '-$j', 'net1', false),"
  done
  printf '\\startpipeline\nbegin;\ndelete from allocation where pod_uid = any(array[%s]) and pool = '"'"'benchsql-0'"'"';\ninsert into allocation (pool, range_set, ordinal, cluster, namespace, pod, pod_uid, interface, static) values %s;\ncommit;\n\\endpipeline\n' "${dels%,}" "${ins%,}" > "$WORK/$1"
}
run() { # file [clients] -> tps
  "${PG[@]}" -c "vacuum analyze allocation" >/dev/null
  "${PG[@]}" -c "vacuum analyze pool" >/dev/null
  PGOPTIONS="-c enable_seqscan=off" pgbench -h 127.0.0.1 -U netattach_ipam -n -c "${2:-$CLIENTS}" -j 2 -T "$SECS" -M prepared -f "$WORK/$1" netattach_ipam 2>/dev/null \
    | awk '/^tps/ {printf "%.1f", $3; exit}'
}

pgbench -h 127.0.0.1 -U netattach_ipam -i -s 1 -q netattach_ipam >/dev/null 2>&1
printf '\\set aid random(1, 100000)\nUPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n' > "$WORK/update.sql"
UPDATE_TPS=$(pgbench -h 127.0.0.1 -U netattach_ipam -n -c "$CLIENTS" -j 2 -T "$SECS" -f "$WORK/update.sql" netattach_ipam 2>/dev/null | awk '/^tps/ {printf "%.1f", $3; exit}')
pgbench -h 127.0.0.1 -U netattach_ipam -i -I d netattach_ipam >/dev/null 2>&1 || true
echo "pgbench UPDATE, $CLIENTS clients: $UPDATE_TPS tps"

declare -A R
for pools in 1 "$CLIENTS"; do
  for deferred in no yes; do
    script "cycle-$pools-$deferred.sql" "$pools" "$deferred"
    R[$pools-$deferred]=$(run "cycle-$pools-$deferred.sql")
    echo "pools=$pools deferred=$deferred: ${R[$pools-$deferred]} cycles/s"
  done
done
of_update() { awk -v a="$1" -v u="${UPDATE_TPS:-0}" 'BEGIN { printf "%.2f", (u > 0 ? a / u : 0) }'; } # rate -> share of pgbench's
declare -A C
for pools in 1 2; do
  for k in 2 4; do
    batched "ceiling-$k-$pools.sql" "$k" "$pools"
    C[$k-$pools]=$(run "ceiling-$k-$pools.sql" 2 | awk -v k="$k" '{ printf "%.1f", $1 * k }')
    echo "ceiling, 2 connections, $k cycles per statement, pools=$pools: ${C[$k-$pools]} allocations/s ($(of_update "${C[$k-$pools]}") of pgbench's UPDATE)"
  done
done
for k in 2 4; do
  floor "floor-$k.sql" "$k"
  C[floor-$k]=$(run "floor-$k.sql" 2 | awk -v k="$k" '{ printf "%.1f", $1 * k }')
  echo "floor (rows only), 2 connections, $k cycles per transaction: ${C[floor-$k]} cycles/s ($(of_update "${C[floor-$k]}") of pgbench's UPDATE)"
done
printf '{"bench":"ipam-sql","clients":%s,"seconds":%s,"pgbenchUpdateTps":%s,"hotPool":{"synchronous":%s,"deferred":%s},"poolPerClient":{"synchronous":%s,"deferred":%s},"ceiling":{"hotPool":{"cycles2":%s,"cycles4":%s},"poolPerConnection":{"cycles2":%s,"cycles4":%s}},"floorRowsOnly":{"cycles2":%s,"cycles4":%s}}\n' \
  "$CLIENTS" "$SECS" "${UPDATE_TPS:-0}" "${R[1-no]:-0}" "${R[1-yes]:-0}" "${R[$CLIENTS-no]:-0}" "${R[$CLIENTS-yes]:-0}" \
  "${C[2-1]:-0}" "${C[4-1]:-0}" "${C[2-2]:-0}" "${C[4-2]:-0}" "${C[floor-2]:-0}" "${C[floor-4]:-0}"
