package io.netattach.ipam.api;

import io.netattach.ipam.api.IpamAnswer.Audit;
import io.netattach.ipam.api.IpamAnswer.Freed;
import io.netattach.ipam.api.IpamAnswer.Leased;
import io.netattach.ipam.api.IpamAnswer.PoolNamed;
import io.netattach.ipam.api.IpamAnswer.Refusal;
import io.netattach.ipam.api.IpamRequest.Allocate;
import io.netattach.ipam.api.IpamRequest.Reconcile;
import io.netattach.ipam.api.IpamRequest.Refused;
import io.netattach.ipam.api.IpamRequest.Release;
import io.netattach.ipam.domain.IpamException;
import io.netattach.ipam.domain.Lease;
import io.netattach.ipam.domain.Owner;
import io.netattach.ipam.store.IpamStore;
import io.netattach.ipam.store.NadAddresses;
import io.smallrye.mutiny.Uni;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Answers ipam requests, whatever carried them. A dynamic allocate from a pool this replica knows and a release go
 * through the store's non-blocking calls and are answered on the thread where the store completes; anything else
 * (a pool to derive, static ips, a dry run, a reconcile) runs blocking on a virtual thread of its own, since it
 * mostly waits on PostgreSQL. Every request is idempotent: answered again, it gives the same addresses.
 */
@ApplicationScoped
public class IpamAnswers {
    private static final Logger LOG = Logger.getLogger(IpamAnswers.class);

    @Inject IpamStore store;
    @Inject NadAddresses nads;
    @Inject IpamMetrics metrics;
    private final ExecutorService virtualThreads = Executors.newVirtualThreadPerTaskExecutor();

    @PreDestroy
    void stop() {
        virtualThreads.shutdown();
    }

    /** The answer to one request. Never fails: a refusal, or a store that failed, is an error result. */
    public Uni<IpamAnswer> answer(IpamRequest q) {
        Uni<IpamAnswer> answer = switch (q.body()) {
            case Allocate a when a.dynamic() -> allocateFromKnownPool(q, a);
            case Release r -> Uni.createFrom().deferred(() -> store.releaseAsync(q.owner().cluster(), q.owner().podUid(), q.owner().iface(), null))
                    .map(released -> released(q, released));
            case Refused r -> Uni.createFrom().item(() -> failed(q, r.reason()));
            default -> onVirtualThread(q);
        };
        return answer.onFailure().recoverWithItem(t -> failed(q, t));
    }

    /** Through the store's batch when the pool is known without blocking; else the blocking path finds or derives it. */
    private Uni<IpamAnswer> allocateFromKnownPool(IpamRequest q, Allocate a) {
        return nads.knownPool(a.section(), q.owner().cluster()).onItem().transformToUni(pool -> {
            if (pool == null) return onVirtualThread(q);
            return store.allocateAsync(pool, q.owner(), null, a.section()).onItemOrFailure().transformToUni((lease, t) -> {
                if (t instanceof IpamException e && e.reason() == IpamException.Reason.NotFound) {
                    // the pool was deleted since this replica last saw it: the blocking path finds or derives it again
                    store.forgetDerived(pool);
                    return onVirtualThread(q);
                }
                return Uni.createFrom().item(() -> t != null ? failed(q, t) : allocated(q, lease));
            });
        });
    }

    private Uni<IpamAnswer> onVirtualThread(IpamRequest q) {
        return Uni.createFrom().item(() -> answerBlocking(q)).runSubscriptionOn(virtualThreads);
    }

    private IpamAnswer answerBlocking(IpamRequest q) {
        Owner owner = q.owner();
        try {
            return switch (q.body()) {
                case Allocate a when a.dryRun() -> dryRun(q, a);
                case Allocate a -> allocated(q, nads.allocate(q.network(), a.ipam(), a.section(), owner, a.ips()));
                case Release r -> released(q, store.release(owner.cluster(), owner.podUid(), owner.iface(), null));
                case Reconcile r -> reconciled(q, store.reconcile(r.cluster(), r.liveOwners(), r.snapshotTime()));
                case Refused r -> failed(q, r.reason());
            };
        } catch (RuntimeException e) {
            return failed(q, e);
        }
    }

    /** Nothing written, nothing audited: which pool, and for a static section the addresses it names. */
    private IpamAnswer dryRun(IpamRequest q, Allocate a) {
        Lease would = nads.dryRun(q.network(), a.section(), q.owner().cluster(), a.ips());
        IpamAnswer.Result result = a.section().hasPool() ? new PoolNamed(q.requestId(), would.pool())
                : new Leased(q.requestId(), would.pool(), would.ips(), would.gateways(), would.routes(), would.dns());
        return new IpamAnswer(q, result, List.of());
    }

    private IpamAnswer allocated(IpamRequest q, Lease lease) {
        metrics.allocated(lease);
        return new IpamAnswer(q, new Leased(q.requestId(), lease.pool(), lease.ips(), lease.gateways(), lease.routes(), lease.dns()),
                List.of(new Audit(q.requestId() + "/audit", "allocated", q.owner(), q.network(), lease.ips(), lease.created() ? null : "already held")));
    }

    private IpamAnswer released(IpamRequest q, List<IpamStore.Released> released) {
        metrics.released(released.size(), "release");
        List<Audit> audits = released.isEmpty() ? List.of()
                : List.of(new Audit(q.requestId() + "/audit", "released", q.owner(), null, released.stream().map(IpamStore.Released::address).toList(), null));
        return new IpamAnswer(q, new Freed(q.requestId(), released.size()), audits);
    }

    /** One audit event per pod whose addresses were freed. */
    private IpamAnswer reconciled(IpamRequest q, List<IpamStore.Released> released) {
        metrics.released(released.size(), "reconcile");
        Map<String, List<IpamStore.Released>> byPod = new LinkedHashMap<>();
        for (IpamStore.Released r : released) byPod.computeIfAbsent(r.owner().podUid(), k -> new ArrayList<>()).add(r);
        List<Audit> audits = new ArrayList<>(byPod.size());
        byPod.forEach((uid, rs) -> audits.add(new Audit(q.requestId() + "/audit/" + uid, "released", rs.getFirst().owner(), null,
                rs.stream().map(IpamStore.Released::address).toList(), "pod gone (reconcile)")));
        return new IpamAnswer(q, new Freed(q.requestId(), released.size()), audits);
    }

    /** An error result, and an audit event for a conflict or an exhausted pool. */
    private IpamAnswer failed(IpamRequest q, Throwable t) {
        if (IpamRequest.ALLOCATE.equals(q.type())) metrics.refused(t);
        if (t instanceof IpamException e) {
            List<Audit> audits = e.reason() == IpamException.Reason.Conflict || e.reason() == IpamException.Reason.Exhausted
                    ? List.of(new Audit(q.requestId() + "/audit", e.reason() == IpamException.Reason.Conflict ? "conflict" : "exhausted", q.owner(),
                    q.network(), null, e.getMessage()))
                    : List.of();
            return new IpamAnswer(q, new Refusal(q.requestId(), e.reason().name(), e.getMessage()), audits);
        }
        LOG.errorf(t, "ipam request %s failed", q.requestId());
        return new IpamAnswer(q, new Refusal(q.requestId(), "Unavailable", "ipam-service could not complete the request: " + t.getMessage()), List.of());
    }
}
