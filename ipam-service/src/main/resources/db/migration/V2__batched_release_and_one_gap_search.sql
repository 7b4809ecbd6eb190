-- V2: releases join the per-pool batch (one pool lock and one commit for the releases and allocations a replica
-- has queued for a pool), one gap search shared by every allocating function (V1 had it twice), and releases
-- that find a pod's rows through the pod UID index only.

-- Lowest free ordinal of a range set at or above the hint (every ordinal below the hint is taken): the hint
-- itself if free, else the first taken ordinal >= hint whose successor is free, + 1. An index probe on
-- (pool, range_set, ordinal) that stops at the first gap. The caller holds the pool row lock.
create function ipam_lowest_free(p_pool text, p_set integer, p_hint numeric) returns numeric
    language plpgsql as $$
declare
    v_g numeric := p_hint;
begin
    if exists (select 1 from allocation a where a.pool = p_pool and a.range_set = p_set and a.ordinal = p_hint) then
        select a.ordinal + 1 into v_g from allocation a
            where a.pool = p_pool and a.range_set = p_set and a.ordinal >= p_hint
              and not exists (select 1 from allocation b where b.pool = p_pool and b.range_set = p_set and b.ordinal = a.ordinal + 1)
            order by a.ordinal limit 1;
    end if;
    return v_g;
end $$;

-- One owner, under the pool lock the caller holds: every range set the owner does not hold yet gets its lowest
-- free ordinal; p_hints moves along. NA409 (message = range set index) when a set is full: the caller's
-- statement or subtransaction rolls the owner's rows back.
create function ipam_allocate_owner(p_pool text, p_sizes numeric[], inout p_hints numeric[], p_cluster text, p_namespace text,
                                    p_pod text, p_pod_uid text, p_interface text, out p_created boolean)
    language plpgsql as $$
declare
    v_k integer;
    v_g numeric;
begin
    p_created := false;
    for v_k in 1 .. coalesce(array_length(p_hints, 1), 0) loop
        continue when exists (select 1 from allocation a where a.pool = p_pool and a.cluster = p_cluster
            and a.pod_uid = p_pod_uid and a.interface = p_interface and a.range_set = v_k - 1);
        v_g := ipam_lowest_free(p_pool, v_k - 1, p_hints[v_k]);
        if v_g >= p_sizes[v_k] then
            raise exception using errcode = 'NA409', message = (v_k - 1)::text;
        end if;
        insert into allocation (pool, range_set, ordinal, cluster, namespace, pod, pod_uid, interface, static)
            values (p_pool, v_k - 1, v_g, p_cluster, p_namespace, p_pod, p_pod_uid, p_interface, false);
        p_hints[v_k] := v_g + 1;
        p_created := true;
    end loop;
end $$;

-- Same contract as V1 (one owner, one statement, errors NA404/NA403/NA409), around the shared search.
create or replace function ipam_allocate(p_pool text, p_cluster text, p_namespace text, p_pod text, p_pod_uid text, p_interface text)
    returns table (range_set integer, ordinal numeric, value numeric, created boolean, version bigint)
    language plpgsql as $$
#variable_conflict use_column
declare
    v_hints   numeric[];
    v_sizes   numeric[];
    v_cluster text;
    v_version bigint;
    v_created boolean;
begin
    select p.hints, p.set_sizes, p.cluster, p.version into v_hints, v_sizes, v_cluster, v_version
        from pool p where p.name = p_pool for update;
    if not found then
        raise exception using errcode = 'NA404', message = p_pool;
    end if;
    if v_cluster is not null and v_cluster <> p_cluster then
        raise exception using errcode = 'NA403', message = v_cluster;
    end if;
    select o.p_hints, o.p_created into v_hints, v_created
        from ipam_allocate_owner(p_pool, v_sizes, v_hints, p_cluster, p_namespace, p_pod, p_pod_uid, p_interface) o;
    if v_created then
        update pool set hints = v_hints where name = p_pool;
    end if;
    return query select a.range_set, a.ordinal, a.value, v_created, v_version from allocation a
        where a.pool = p_pool and a.cluster = p_cluster and a.pod_uid = p_pod_uid and a.interface = p_interface
        order by a.range_set;
end $$;

-- A replica's queued operations on one pool, in queue order, under one lock and one commit. Each element of
-- p_ops is {"op": "allocate"|"release" (absent: allocate), "cluster", "namespace", "pod", "podUid", "interface"}
-- and runs in its own subtransaction: a failure (o_state = SQLSTATE, o_message = detail as in ipam_allocate)
-- rolls back only that element's rows and hint changes.
--  allocate: one row per range set the owner holds afterwards (o_created: something new), as ipam_allocate;
--  release:  one row per address freed (cluster, interface null = any), none when nothing was held; the
--            freed ordinals lower the hints, so an allocate later in the same batch can take them.
-- The pool's own absence is NA404 for the whole statement.
create function ipam_pool_batch(p_pool text, p_ops jsonb)
    returns table (o_idx integer, o_set integer, o_ordinal numeric, o_value numeric, o_created boolean, o_version bigint,
                   o_state text, o_message text, o_cluster text, o_namespace text, o_pod text, o_pod_uid text, o_interface text)
    language plpgsql as $$
declare
    v_hints   numeric[];
    v_start   numeric[];
    v_saved   numeric[];
    v_sizes   numeric[];
    v_cluster text;
    v_version bigint;
    v_o       record;
    v_r       record;
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
        v_saved := v_hints;
        begin
            if v_o.op = 'release' then
                -- the pod's rows through the pod UID index alone (the planner, left to itself, also walked
                -- allocation_cluster, whose entries for one busy cluster are mostly dead under churn)
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
                    raise exception using errcode = 'NA403', message = v_cluster;
                end if;
                select o.p_hints, o.p_created into v_hints, v_created
                    from ipam_allocate_owner(p_pool, v_sizes, v_hints, v_o.c, v_o.ns, v_o.pod, v_o.uid, v_o.itf) o;
                return query select v_o.i, a.range_set, a.ordinal, a.value, v_created, v_version, null::text, null::text,
                        a.cluster, a.namespace, a.pod, a.pod_uid, a.interface
                    from allocation a where a.pool = p_pool and a.cluster = v_o.c and a.pod_uid = v_o.uid and a.interface = v_o.itf
                    order by a.range_set;
            else
                raise exception using errcode = '22023', message = 'unknown op ' || v_o.op;
            end if;
        exception when others then
            v_hints := v_saved;
            return query select v_o.i, null::integer, null::numeric, null::numeric, false, v_version, SQLSTATE::text, SQLERRM::text,
                null::text, null::text, null::text, null::text, null::text;
        end;
    end loop;
    if v_hints is distinct from v_start then
        update pool set hints = v_hints where name = p_pool;
    end if;
end $$;

-- V1's batch of allocations: now the same statement with allocate operations only.
create or replace function ipam_allocate_batch(p_pool text, p_owners jsonb)
    returns table (o_idx integer, o_set integer, o_ordinal numeric, o_value numeric, o_created boolean, o_version bigint, o_state text, o_message text)
    language sql as $$
    select b.o_idx, b.o_set, b.o_ordinal, b.o_value, b.o_created, b.o_version, b.o_state, b.o_message from ipam_pool_batch(p_pool, p_owners) b
$$;

-- Release across pools (the pod's every pool): as V1, but the pod's rows are found through the pod UID index only.
create or replace function ipam_release(p_cluster text, p_pod_uid text, p_interface text, p_pool text)
    returns table (o_pool text, o_set integer, o_ordinal numeric, o_value numeric, o_cluster text, o_namespace text,
                   o_pod text, o_pod_uid text, o_interface text, o_version bigint)
    language plpgsql as $$
begin
    perform 1 from pool p where p.name in (select a.pool from allocation a
            where a.ctid = any (array(select b.ctid from allocation b where b.pod_uid = p_pod_uid))
            and (p_cluster is null or a.cluster = p_cluster) and (p_interface is null or a.interface = p_interface)
            and (p_pool is null or a.pool = p_pool))
        order by p.name for update;
    return query
    with del as (delete from allocation a where a.ctid = any (array(select b.ctid from allocation b where b.pod_uid = p_pod_uid))
            and (p_cluster is null or a.cluster = p_cluster) and (p_interface is null or a.interface = p_interface)
            and (p_pool is null or a.pool = p_pool)
            returning a.pool, a.range_set, a.ordinal, a.value, a.cluster, a.namespace, a.pod, a.pod_uid, a.interface),
         mins as (select d.pool, d.range_set, min(d.ordinal) as m from del d where d.ordinal is not null group by d.pool, d.range_set),
         upd as (update pool p set hints = (select array_agg(least(h.v, coalesce(mi.m, h.v)) order by h.k)
                     from unnest(p.hints) with ordinality as h(v, k) left join mins mi on mi.pool = p.name and mi.range_set = h.k - 1)
                 where p.name in (select mi.pool from mins mi) returning p.name)
    select d.pool, d.range_set, d.ordinal, d.value, d.cluster, d.namespace, d.pod, d.pod_uid, d.interface, p.version
        from del d join pool p on p.name = d.pool;
end $$;
