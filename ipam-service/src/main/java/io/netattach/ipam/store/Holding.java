package io.netattach.ipam.store;

import io.netattach.ipam.domain.Owner;

import java.time.OffsetDateTime;

/** One address held in a pool and by whom. */
public record Holding(String pool, String address, int rangeSet, boolean fixed, Owner owner, OffsetDateTime createdAt) {
}
