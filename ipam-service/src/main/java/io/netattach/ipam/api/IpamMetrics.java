package io.netattach.ipam.api;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.netattach.ipam.domain.IpamException;
import io.netattach.ipam.domain.Lease;
import io.netattach.ipam.store.IpamStore;
import io.netattach.ipam.store.PoolRecord;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * IPAM's own Prometheus metrics (docs/operations.md, "Metrics and dashboard"), the same over REST and Kafka:
 * allocation requests by outcome, addresses released by cause, and per pool its size and the addresses held,
 * read from the database every {@code netattach.ipam.metrics-refresh} (every replica exports the same pool
 * figures; chart them with max by pool). The batch sizes are the store's (netattach_ipam_batch_operations).
 */
@ApplicationScoped
public class IpamMetrics {
    private static final Logger LOG = Logger.getLogger(IpamMetrics.class);

    @Inject MeterRegistry registry;
    @Inject IpamStore store;
    @ConfigProperty(name = "netattach.ipam.metrics-refresh", defaultValue = "30s") Duration refresh;

    private MultiGauge used;
    private MultiGauge size;
    private ScheduledExecutorService timer;

    void start(@Observes StartupEvent ev) {
        used = MultiGauge.builder("netattach.ipam.pool.used.addresses").description("Addresses held in the pool, static ones included")
                .baseUnit("addresses").register(registry);
        size = MultiGauge.builder("netattach.ipam.pool.size.addresses").description("Addresses the pool hands out dynamically")
                .baseUnit("addresses").register(registry);
        if (refresh.isZero() || refresh.isNegative()) return;
        timer = Executors.newSingleThreadScheduledExecutor(Thread.ofVirtual().name("ipam-pool-metrics").factory());
        timer.scheduleWithFixedDelay(this::refresh, 0, refresh.toMillis(), TimeUnit.MILLISECONDS);
    }

    void stop(@Observes ShutdownEvent ev) {
        if (timer != null) timer.shutdownNow();
    }

    /** Reads every pool's utilization once and exports it; pools deleted meanwhile disappear from the metrics. */
    void refresh() {
        try {
            List<PoolRecord> pools = store.pools();
            used.register(rows(pools, PoolRecord::used), true);
            size.register(rows(pools, p -> p.total().doubleValue()), true);
        } catch (RuntimeException e) {
            LOG.debugf("pool metrics not refreshed: %s", e.toString());
        }
    }

    /** One row per pool, tagged with its name, holding the value read now (not read again at each scrape). */
    private static List<MultiGauge.Row<?>> rows(List<PoolRecord> pools, ToDoubleFunction<PoolRecord> value) {
        return pools.stream().<MultiGauge.Row<?>>map(p -> {
            double n = value.applyAsDouble(p);
            return MultiGauge.Row.of(Tags.of("pool", p.name()), () -> n);
        }).toList();
    }

    /** An allocation answered: new addresses ("allocated") or the ones the owner already held ("existing"). */
    public void allocated(Lease lease) {
        registry.counter("netattach.ipam.allocations", "outcome", lease.created() ? "allocated" : "existing").increment();
    }

    /** An allocation refused (outcome = the reason: conflict, exhausted, invalid, notfound) or failed ("error"). */
    public void refused(Throwable failure) {
        String outcome = failure instanceof IpamException e ? e.reason().name().toLowerCase(Locale.ROOT) : "error";
        registry.counter("netattach.ipam.allocations", "outcome", outcome).increment();
    }

    /** Addresses freed, by cause: "release" (asked for) or "reconcile" (their pod is gone). */
    public void released(int addresses, String cause) {
        if (addresses > 0) registry.counter("netattach.ipam.released.addresses", "cause", cause).increment(addresses);
    }
}
