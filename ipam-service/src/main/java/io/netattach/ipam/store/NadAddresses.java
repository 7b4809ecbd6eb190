package io.netattach.ipam.store;

import io.netattach.ipam.domain.IpamException;
import io.netattach.ipam.domain.Lease;
import io.netattach.ipam.domain.Owner;
import io.netattach.ipam.domain.PoolDefinition;
import io.netattach.ipam.domain.StaticSegment;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import java.util.List;
import java.util.Map;

/**
 * Where the addresses of a NAD's ipam section come from (a Kafka allocate), first match wins:
 * <ol>
 *   <li>the global pool (created over REST without cluster) its network_name names, from every cluster alike;
 *       a static section's addresses (or the request's ips) go into it as static requests;</li>
 *   <li>for a static section, its {@link StaticSegment}: its network_name, else the NAD, in the owner's cluster;</li>
 *   <li>else the pool derived from its ranges in the owner's cluster, created on first use.</li>
 * </ol>
 * docs/ipam.md explains the choice.
 */
@Singleton
public class NadAddresses {
    private final IpamStore store;

    @Inject
    public NadAddresses(IpamStore store) {
        this.store = store;
    }

    /**
     * Addresses for the owner, as {@link IpamStore#allocate}: idempotent per owner, all or nothing.
     *
     * @param network the NAD as namespace/name (names the static segment of a static section without network_name)
     * @param ips     the annotation's static requests, or null
     */
    public Lease allocate(String network, Map<String, Object> ipam, PoolDefinition section, Owner owner, List<String> ips) {
        owner.validated(true);
        String global = store.globalPool(section);
        if (global != null) {
            if (!section.hasPool() && section.asked(ips).isEmpty()) throw IpamException.missing("ipam.addresses");
            return store.allocate(global, owner, ips, section);
        }
        if (!section.hasPool()) return store.allocateInSegment(StaticSegment.of(section, network, owner.cluster()), owner, ips, section);
        String pool = store.derivedPool(section, ipam, owner.cluster());
        try {
            return store.allocate(pool, owner, ips, section);
        } catch (IpamException e) {
            if (e.reason() != IpamException.Reason.NotFound) throw e;
            // the derived pool was deleted since this replica last saw it: create it again, once
            store.forgetDerived(pool);
            return store.allocate(store.derivedPool(section, ipam, owner.cluster()), owner, ips, section);
        }
    }

    /**
     * A dry run: what an allocation for an owner of this cluster would use, refusing the section as the allocation
     * would, and writing nothing. The lease names the pool; for a static section it also carries the addresses as
     * asked (checked as their segment checks them), their gateways, the routes and DNS. Nobody's holdings are read.
     */
    public Lease dryRun(String network, PoolDefinition section, String cluster, List<String> ips) {
        String global = store.globalPool(section);
        if (section.hasPool()) {
            String pool = global != null ? global : section.requireRanges().derivedPoolName(cluster);
            return new Lease(pool, List.of(), List.of(), section.routes(), section.dns(), false);
        }
        List<PoolDefinition.Asked> asked = section.asked(ips);
        if (global != null) {
            if (asked.isEmpty()) throw IpamException.missing("ipam.addresses");
            return new Lease(global, asked.stream().map(PoolDefinition.Asked::text).toList(),
                    asked.stream().map(PoolDefinition.Asked::gateway).filter(java.util.Objects::nonNull).toList(), section.routes(), section.dns(), false);
        }
        StaticSegment segment = StaticSegment.of(section, network, cluster);
        return StaticSegment.lease(segment.pool(), StaticSegment.wanted(section, ips, segment.pool()), section, false);
    }

    /**
     * The pool of a dynamic section (no static requests) if it is known without blocking: the global pool it names
     * (one read, never waited on by a thread), else its derived pool if this replica knows it exists. A null item:
     * take the blocking path. Fails as {@link #allocate} would when the section's ranges contradict its global pool.
     */
    public Uni<String> knownPool(PoolDefinition section, String cluster) {
        if (!section.hasPool()) return Uni.createFrom().nullItem();
        return store.globalPoolAsync(section).map(global -> global != null ? global : store.derivedPoolIfKnown(section, cluster));
    }
}
