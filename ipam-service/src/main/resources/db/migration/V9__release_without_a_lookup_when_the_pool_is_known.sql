-- V9: a release without a pool (a pod's teardown over Kafka: "every interface of the pod") no longer needs a
-- lookup first when the replica guesses the pool. The service remembers which pools it allocated a pod's addresses
-- in; when that is one pool, it sends the release straight into that pool's batch with "others": true, and the
-- batch, after deleting the pod's rows there, answers one more row with state NA300 if the pod still holds
-- addresses in another pool (allocated by another replica, say). Only then does the service look the pod's pools
-- up (ipam_pools_of) and release the rest, as before. The common case is one statement instead of two.
-- Otherwise V3's function, same signature and rows; create or replace drops V4's SET clause: repeated below.

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
                      e.o ->> 'namespace' as ns, e.o ->> 'pod' as pod, e.o ->> 'podUid' as uid, e.o ->> 'interface' as itf,
                      coalesce((e.o ->> 'others')::boolean, false) as others
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
            -- the service guessed this pool from its own allocations: say whether the pod holds more elsewhere
            if v_o.others and exists (select 1 from allocation b where b.pod_uid = v_o.uid and b.pool <> p_pool
                    and (v_o.c is null or b.cluster = v_o.c) and (v_o.itf is null or b.interface = v_o.itf)) then
                return query select v_o.i, null::integer, null::numeric, null::numeric, false, v_version, 'NA300'::text, null::text,
                    null::text, null::text, null::text, null::text, null::text;
            end if;
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

alter function ipam_pool_batch(text, jsonb) set enable_seqscan = off;
