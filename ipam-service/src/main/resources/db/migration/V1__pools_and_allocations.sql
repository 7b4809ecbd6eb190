-- Pools: the ipam section as written, and what the store needs to allocate without reading it:
-- the size of each range set and, per range set, a hint below which every ordinal is taken.
create table pool (
    name        text primary key,
    cluster     text,                      -- null: global pool; else only owners of this cluster
    kind        text not null,             -- host-local | whereabouts
    ipam        jsonb not null,            -- the CNI ipam section as written
    canonical   text not null,             -- the eligible ranges, canonical text (same text = same addresses)
    derived     boolean not null,          -- created from a NAD's ipam section (Kafka allocate)
    size        numeric(40, 0) not null,   -- dynamic addresses, all range sets
    set_sizes   numeric(40, 0)[] not null, -- dynamic addresses per range set
    hints       numeric(40, 0)[] not null, -- per range set: every ordinal below is allocated
    version     bigint not null default 1,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);

-- One row per address held. An address inside the dynamic range is stored as its ordinal (its position among
-- the range set's eligible addresses: the domain maps ordinal <-> address); a static address outside the
-- dynamic range as its numeric value. Both are unique per (pool, range set): a duplicate cannot be written,
-- whatever the number of replicas. The ordinal index serves the lowest-free gap search.
create table allocation (
    pool        text not null references pool (name) on delete cascade,
    range_set   integer not null,
    ordinal     numeric(40, 0),
    value       numeric(40, 0),
    cluster     text not null,
    namespace   text not null,
    pod         text not null,
    pod_uid     text not null,
    interface   text not null,
    static      boolean not null,
    created_at  timestamptz not null default now(),
    check ((ordinal is null) <> (value is null))
);
create unique index allocation_ordinal on allocation (pool, range_set, ordinal);
create unique index allocation_value on allocation (pool, range_set, value);
create unique index allocation_owner on allocation (pool, cluster, pod_uid, interface, range_set);
create index allocation_pod on allocation (pod_uid);
create index allocation_cluster on allocation (cluster, created_at);

-- Dynamic allocation in one statement: the pool row lock is held only while the server runs this, never across
-- client round trips. Idempotent per owner; all range sets or none (an exception rolls the statement back).
-- Errors: NA404 pool not found, NA403 pool of another cluster (message = its cluster), NA409 exhausted
-- (message = range set index). Unique violations (a static insert or the same owner racing) surface as 23505.
create function ipam_allocate(p_pool text, p_cluster text, p_namespace text, p_pod text, p_pod_uid text, p_interface text)
    returns table (range_set integer, ordinal numeric, value numeric, created boolean, version bigint)
    language plpgsql as $$
#variable_conflict use_column
declare
    v_hints   numeric[];
    v_sizes   numeric[];
    v_cluster text;
    v_version bigint;
    v_k       integer;
    v_g       numeric;
    v_created boolean := false;
begin
    select p.hints, p.set_sizes, p.cluster, p.version into v_hints, v_sizes, v_cluster, v_version
        from pool p where p.name = p_pool for update;
    if not found then
        raise exception using errcode = 'NA404', message = p_pool;
    end if;
    if v_cluster is not null and v_cluster <> p_cluster then
        raise exception using errcode = 'NA403', message = v_cluster;
    end if;
    for v_k in 1 .. coalesce(array_length(v_hints, 1), 0) loop
        continue when exists (select 1 from allocation a where a.pool = p_pool and a.cluster = p_cluster
            and a.pod_uid = p_pod_uid and a.interface = p_interface and a.range_set = v_k - 1);
        -- lowest free ordinal at or above the hint: the hint itself, or the end of the run of taken ordinals from it
        v_g := v_hints[v_k];
        if exists (select 1 from allocation a where a.pool = p_pool and a.range_set = v_k - 1 and a.ordinal = v_g) then
            select a.ordinal + 1 into v_g from allocation a
                where a.pool = p_pool and a.range_set = v_k - 1 and a.ordinal >= v_hints[v_k]
                  and not exists (select 1 from allocation b where b.pool = p_pool and b.range_set = v_k - 1 and b.ordinal = a.ordinal + 1)
                order by a.ordinal limit 1;
        end if;
        if v_g >= v_sizes[v_k] then
            raise exception using errcode = 'NA409', message = (v_k - 1)::text;
        end if;
        insert into allocation (pool, range_set, ordinal, cluster, namespace, pod, pod_uid, interface, static)
            values (p_pool, v_k - 1, v_g, p_cluster, p_namespace, p_pod, p_pod_uid, p_interface, false);
        v_hints[v_k] := v_g + 1;
        v_created := true;
    end loop;
    if v_created then
        update pool set hints = v_hints where name = p_pool;
    end if;
    return query select a.range_set, a.ordinal, a.value, v_created, v_version from allocation a
        where a.pool = p_pool and a.cluster = p_cluster and a.pod_uid = p_pod_uid and a.interface = p_interface
        order by a.range_set;
end $$;

-- The same for many owners of one pool at once (concurrent requests batched by a replica): one lock, one
-- commit. Each owner runs in its own subtransaction: its failure (o_state = SQLSTATE, o_message = detail as
-- above) rolls back only its own rows, and the hints are restored with it.
create function ipam_allocate_batch(p_pool text, p_owners jsonb)
    returns table (o_idx integer, o_set integer, o_ordinal numeric, o_value numeric, o_created boolean, o_version bigint, o_state text, o_message text)
    language plpgsql as $$
declare
    v_hints   numeric[];
    v_saved   numeric[];
    v_sizes   numeric[];
    v_cluster text;
    v_version bigint;
    v_o       record;
    v_k       integer;
    v_g       numeric;
    v_created boolean;
    v_any     boolean := false;
begin
    select p.hints, p.set_sizes, p.cluster, p.version into v_hints, v_sizes, v_cluster, v_version
        from pool p where p.name = p_pool for update;
    if not found then
        raise exception using errcode = 'NA404', message = p_pool;
    end if;
    for v_o in select (e.n - 1)::integer as i, e.o ->> 'cluster' as c, e.o ->> 'namespace' as ns, e.o ->> 'pod' as pod,
                      e.o ->> 'podUid' as uid, e.o ->> 'interface' as itf
               from jsonb_array_elements(p_owners) with ordinality as e(o, n) loop
        v_saved := v_hints;
        v_created := false;
        begin
            if v_cluster is not null and v_cluster <> v_o.c then
                raise exception using errcode = 'NA403', message = v_cluster;
            end if;
            for v_k in 1 .. coalesce(array_length(v_hints, 1), 0) loop
                continue when exists (select 1 from allocation a where a.pool = p_pool and a.cluster = v_o.c
                    and a.pod_uid = v_o.uid and a.interface = v_o.itf and a.range_set = v_k - 1);
                v_g := v_hints[v_k];
                if exists (select 1 from allocation a where a.pool = p_pool and a.range_set = v_k - 1 and a.ordinal = v_g) then
                    select a.ordinal + 1 into v_g from allocation a
                        where a.pool = p_pool and a.range_set = v_k - 1 and a.ordinal >= v_hints[v_k]
                          and not exists (select 1 from allocation b where b.pool = p_pool and b.range_set = v_k - 1 and b.ordinal = a.ordinal + 1)
                        order by a.ordinal limit 1;
                end if;
                if v_g >= v_sizes[v_k] then
                    raise exception using errcode = 'NA409', message = (v_k - 1)::text;
                end if;
                insert into allocation (pool, range_set, ordinal, cluster, namespace, pod, pod_uid, interface, static)
                    values (p_pool, v_k - 1, v_g, v_o.c, v_o.ns, v_o.pod, v_o.uid, v_o.itf, false);
                v_hints[v_k] := v_g + 1;
                v_created := true;
            end loop;
            v_any := v_any or v_created;
            return query select v_o.i, a.range_set, a.ordinal, a.value, v_created, v_version, null::text, null::text
                from allocation a where a.pool = p_pool and a.cluster = v_o.c and a.pod_uid = v_o.uid and a.interface = v_o.itf
                order by a.range_set;
        exception when others then
            v_hints := v_saved;
            return query select v_o.i, null::integer, null::numeric, null::numeric, false, v_version, SQLSTATE::text, SQLERRM::text;
        end;
    end loop;
    if v_any then
        update pool set hints = v_hints where name = p_pool;
    end if;
end $$;

-- Release in one statement: lock the pools concerned in name order (the order every writer uses), delete,
-- lower each range set's hint to the lowest freed ordinal. p_cluster, p_interface, p_pool: null = any.
create function ipam_release(p_cluster text, p_pod_uid text, p_interface text, p_pool text)
    returns table (o_pool text, o_set integer, o_ordinal numeric, o_value numeric, o_cluster text, o_namespace text,
                   o_pod text, o_pod_uid text, o_interface text, o_version bigint)
    language plpgsql as $$
begin
    perform 1 from pool p where p.name in (select a.pool from allocation a where a.pod_uid = p_pod_uid
            and (p_cluster is null or a.cluster = p_cluster) and (p_interface is null or a.interface = p_interface)
            and (p_pool is null or a.pool = p_pool))
        order by p.name for update;
    return query
    with del as (delete from allocation a where a.pod_uid = p_pod_uid
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

-- Reconcile in one statement: free the cluster's allocations whose pod UID is not live and that are older
-- than the snapshot; same locking and hints as ipam_release.
create function ipam_reconcile(p_cluster text, p_live text[], p_before timestamptz)
    returns table (o_pool text, o_set integer, o_ordinal numeric, o_value numeric, o_cluster text, o_namespace text,
                   o_pod text, o_pod_uid text, o_interface text, o_version bigint)
    language plpgsql as $$
begin
    perform 1 from pool p where p.name in (select a.pool from allocation a where a.cluster = p_cluster
            and not (a.pod_uid = any(p_live)) and a.created_at < p_before)
        order by p.name for update;
    return query
    with del as (delete from allocation a where a.cluster = p_cluster and not (a.pod_uid = any(p_live)) and a.created_at < p_before
            returning a.pool, a.range_set, a.ordinal, a.value, a.cluster, a.namespace, a.pod, a.pod_uid, a.interface),
         mins as (select d.pool, d.range_set, min(d.ordinal) as m from del d where d.ordinal is not null group by d.pool, d.range_set),
         upd as (update pool p set hints = (select array_agg(least(h.v, coalesce(mi.m, h.v)) order by h.k)
                     from unnest(p.hints) with ordinality as h(v, k) left join mins mi on mi.pool = p.name and mi.range_set = h.k - 1)
                 where p.name in (select mi.pool from mins mi) returning p.name)
    select d.pool, d.range_set, d.ordinal, d.value, d.cluster, d.namespace, d.pod, d.pod_uid, d.interface, p.version
        from del d join pool p on p.name = d.pool;
end $$;
