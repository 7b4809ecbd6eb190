package io.netattach.attach.orchestration;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.netattach.attach.kafka.Bus;
import io.netattach.attach.kafka.Topic;
import io.netattach.attach.kube.ClusterView;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.time.Instant;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The IPAM leak sweep (issue 3/6): addresses whose owner pod no longer exists (a release lost with a
 * crashed leader, a pod deleted while attach-service was down) are reclaimed by one
 * {@code io.netattach.ipam.reconcile} per cluster that carries the UIDs of every pod we know. The snapshot
 * time is taken before the pod list is read, so an allocation made for a pod too new to be in the list is
 * younger than the snapshot and kept by IPAM. A deleted pod whose teardown is still under way counts as live:
 * its interface may still be up in its sandbox until the node confirms the detach, and the teardown releases
 * its addresses after that; freed earlier, they could go to a new pod on the same segment meanwhile.
 */
@ApplicationScoped
class LeakSweep {
    private static final Logger LOG = Logger.getLogger(LeakSweep.class);

    @Inject Bus bus;
    @Inject ClusterView cluster;
    @Inject MeterRegistry metrics;
    @ConfigProperty(name = "netattach.cluster-id") String clusterId;
    @ConfigProperty(name = "netattach.attach.ipam-timeout", defaultValue = "10s") Duration timeout;
    @ConfigProperty(name = "netattach.attach.attempts", defaultValue = "3") int attempts;

    /**
     * One reconcile with IPAM, only when the pod informer has synced (else the live set would be partial
     * and IPAM would release live pods' addresses).
     *
     * @param tearingDown UIDs of deleted pods whose teardown (detach, then release) has not finished (read once, here)
     * @return the number of addresses IPAM released, empty when not synced yet or IPAM did not confirm
     */
    OptionalInt sweep(Set<String> tearingDown) {
        if (!cluster.podsSynced()) return OptionalInt.empty();
        Instant snapshot = Instant.now(); // before the list is read: see class comment
        Set<String> live = new java.util.HashSet<>(cluster.podUids());
        live.addAll(tearingDown); // read after podUids: a deleted pod moves from one to the other, see podUids
        String id = "reconcile/" + clusterId + "/" + snapshot.toEpochMilli();
        LinkedBlockingQueue<JsonNode> answers = new LinkedBlockingQueue<>();
        bus.expect(id, "", answers::add);
        try {
            var data = Payloads.reconcile(id, clusterId, live, snapshot);
            for (int attempt = 1; attempt <= attempts; attempt++) {
                bus.send(Topic.IPAM_REQUESTS, clusterId, id, "io.netattach.ipam.reconcile", null, data);
                JsonNode r = answers.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
                if (r == null || r == Bus.CANCELLED) continue;
                if (!r.path("ok").asBoolean(false)) {
                    LOG.warnf("IPAM reconcile %s (%d live pods) refused: %s", id, live.size(), PodReconciler.describe(r));
                    return OptionalInt.empty();
                }
                int released = r.path("released").asInt(0);
                metrics.counter("netattach.attach.ipam.leaks.released").increment(released);
                if (released > 0) LOG.infof("IPAM reconcile %s: %d leaked address(es) released (%d live or tearing-down pods)", id, released, live.size());
                else LOG.debugf("IPAM reconcile %s: nothing leaked (%d live pods)", id, live.size());
                return OptionalInt.of(released);
            }
            LOG.warnf("IPAM reconcile %s got no answer in %d attempt(s) of %d ms; next sweep tries again", id, attempts, timeout.toMillis());
            return OptionalInt.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return OptionalInt.empty();
        } catch (RuntimeException e) {
            LOG.warnf("IPAM reconcile %s not sent: %s; next sweep tries again", id, e.getMessage());
            return OptionalInt.empty();
        } finally {
            bus.forget(id);
        }
    }
}
