package io.netattach.ipam.store;

import io.netattach.ipam.domain.PoolDefinition;

import java.math.BigInteger;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

/** A stored pool with its utilization. used counts every holder; free = total - used dynamic addresses. */
public record PoolRecord(String name, String cluster, boolean derived, Map<String, Object> ipam, PoolDefinition definition,
                         BigInteger total, long used, BigInteger free, OffsetDateTime createdAt, List<String> warnings) {
}
