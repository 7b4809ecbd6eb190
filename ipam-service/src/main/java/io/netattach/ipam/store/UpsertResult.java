package io.netattach.ipam.store;

/** created=true when the pool did not exist before. */
public record UpsertResult(PoolRecord pool, boolean created) {
}
