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
    hints       numeric(40, 0)[] not null, -- per range set: every ordinal below is allocated
    version     bigint not null default 1,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);

-- One row per address held. Uniqueness of (pool, address) is what makes a duplicate impossible,
-- whatever the number of replicas; the ordinal index serves the lowest-free gap search.
create table allocation (
    pool        text not null references pool (name) on delete cascade,
    range_set   integer not null,
    address     text not null,             -- canonical text, without prefix
    ordinal     numeric(40, 0),            -- position among the range set's eligible addresses; null: static outside the dynamic range
    cluster     text not null,
    namespace   text not null,
    pod         text not null,
    pod_uid     text not null,
    interface   text not null,
    static      boolean not null,
    created_at  timestamptz not null default now(),
    primary key (pool, address)
);
create unique index allocation_ordinal on allocation (pool, range_set, ordinal);
create unique index allocation_owner on allocation (pool, cluster, pod_uid, interface, range_set);
create index allocation_pod on allocation (cluster, pod_uid);
