-- V9: static segments. The addresses of static ipam sections are unique per segment (the section's network_name,
-- else its NAD, in the owner's cluster), and a segment is a pool of kind static: no addresses of its own (size 0, no
-- range sets, no hints), and one allocation row per address held, its numeric value in range set 0 when IPv4 and 1
-- when IPv6. So the unique indexes allocation already has hold a static address once per segment and family, and
-- release, reconcile, the pool views and the cascade on delete cover static holdings as they cover any pool's.
-- These constraints state the shape the store relies on; rows written before V9 already have it.

alter table pool add constraint pool_kind check (kind in ('host-local', 'whereabouts', 'static'));

alter table pool add constraint pool_static_segment check (kind <> 'static'
    or (cluster is not null and derived and size = 0 and cardinality(set_sizes) = 0 and cardinality(hints) = 0));

comment on column pool.kind is 'host-local | whereabouts: hands out the addresses of its ranges; static: a static segment, holding the addresses its NADs name (range set 0 IPv4, 1 IPv6)';
