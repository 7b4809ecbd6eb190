-- V3: ipam_pool_batch without a subtransaction per operation. V2 ran each operation in a BEGIN ... EXCEPTION
-- block, so that a failing one rolled back only itself. Such a block is a subtransaction, and a transaction with
-- more than 64 of them (a batch holds up to 128 operations) overflows PostgreSQL's per-backend subtransaction
-- cache: every other session's snapshot then has to look XIDs up in pg_subtrans, a known cliff under load.
-- Under the pool row lock nothing else writes the pool, so the refusals an operation can meet are all known
-- before it writes: another cluster's pool (NA403) and a full range set (NA409; every range set is searched
-- before any row is inserted, so dual stack stays all or nothing). They are now answered as rows with o_state,
-- as before, without raising. Anything unexpected (a unique violation, say) aborts the whole statement; the
-- service then runs each operation of the batch alone (IpamStore), as it retried a failed one before.
-- Same signature, same rows, same order as V2.

create or replace function ipam_pool_batch(p_pool text, p_ops jsonb)
    returns table (o_idx integer, o_set integer, o_ordinal numeric, o_value numeric, o_created boolean, o_version bigint,
                   o_state text, o_message text, o_cluster text, o_namespace text, o_pod text, o_pod_uid text, o_interface text)
    language plpgsql as $$
declare
    v_hints   numeric[];
    v_start   numeric[];
    v_sizes   numeric[];
    v_plan    numeric[];
    v_cluster text;
    v_version bigint;
    v_o       record;
    v_r       record;
    v_k       integer;
    v_g       numeric;
    v_full    integer;
    v_created boolean;
begin
    select p.hints, p.set_sizes, p.cluster, p.version into v_hints, v_sizes, v_cluster, v_version
        from pool p where p.name = p_pool for update;
    if not found then
        raise exception using errcode = 'NA404', message = p_pool;
    end if;
    v_start := v_hints;
    for v_o in select (e.n - 1)::integer as i, coalesce(e.o ->> 'op', 'allocate') as op, e.o ->> 'cluster' as c,
                      e.o ->> 'namespace' as ns, e.o ->> 'pod' as pod, e.o ->> 'podUid' as uid, e.o ->> 'interface' as itf
               from jsonb_array_elements(p_ops) with ordinality as e(o, n) loop
        if v_o.op = 'release' then
            -- the pod's rows through the pod UID index alone (as V2)
            for v_r in delete from allocation a
                    where a.ctid = any (array(select b.ctid from allocation b where b.pod_uid = v_o.uid))
                      and a.pool = p_pool and (v_o.c is null or a.cluster = v_o.c) and (v_o.itf is null or a.interface = v_o.itf)
                    returning a.range_set, a.ordinal, a.value, a.cluster, a.namespace, a.pod, a.pod_uid, a.interface loop
                if v_r.ordinal is not null and v_r.ordinal < v_hints[v_r.range_set + 1] then
                    v_hints[v_r.range_set + 1] := v_r.ordinal;
                end if;
                return query select v_o.i, v_r.range_set, v_r.ordinal, v_r.value, false, v_version, null::text, null::text,
                    v_r.cluster, v_r.namespace, v_r.pod, v_r.pod_uid, v_r.interface;
            end loop;
        elsif v_o.op = 'allocate' then
            if v_cluster is not null and v_cluster <> v_o.c then
                return query select v_o.i, null::integer, null::numeric, null::numeric, false, v_version, 'NA403'::text, v_cluster,
                    null::text, null::text, null::text, null::text, null::text;
                continue;
            end if;
            -- every range set the owner does not hold yet gets its lowest free ordinal; nothing is written unless all fit
            v_plan := array_fill(null::numeric, array[coalesce(array_length(v_hints, 1), 0)]);
            v_full := null;
            for v_k in 1 .. coalesce(array_length(v_hints, 1), 0) loop
                continue when exists (select 1 from allocation a where a.pool = p_pool and a.cluster = v_o.c
                    and a.pod_uid = v_o.uid and a.interface = v_o.itf and a.range_set = v_k - 1);
                v_g := ipam_lowest_free(p_pool, v_k - 1, v_hints[v_k]);
                if v_g >= v_sizes[v_k] then
                    v_full := v_k - 1;
                    exit;
                end if;
                v_plan[v_k] := v_g;
            end loop;
            if v_full is not null then
                return query select v_o.i, null::integer, null::numeric, null::numeric, false, v_version, 'NA409'::text, v_full::text,
                    null::text, null::text, null::text, null::text, null::text;
                continue;
            end if;
            v_created := false;
            for v_k in 1 .. coalesce(array_length(v_hints, 1), 0) loop
                continue when v_plan[v_k] is null;
                insert into allocation (pool, range_set, ordinal, cluster, namespace, pod, pod_uid, interface, static)
                    values (p_pool, v_k - 1, v_plan[v_k], v_o.c, v_o.ns, v_o.pod, v_o.uid, v_o.itf, false);
                v_hints[v_k] := v_plan[v_k] + 1;
                v_created := true;
            end loop;
            return query select v_o.i, a.range_set, a.ordinal, a.value, v_created, v_version, null::text, null::text,
                    a.cluster, a.namespace, a.pod, a.pod_uid, a.interface
                from allocation a where a.pool = p_pool and a.cluster = v_o.c and a.pod_uid = v_o.uid and a.interface = v_o.itf
                order by a.range_set;
        else
            return query select v_o.i, null::integer, null::numeric, null::numeric, false, v_version, '22023'::text, 'unknown op ' || v_o.op,
                null::text, null::text, null::text, null::text, null::text;
        end if;
    end loop;
    if v_hints is distinct from v_start then
        update pool set hints = v_hints where name = p_pool;
    end if;
end $$;
