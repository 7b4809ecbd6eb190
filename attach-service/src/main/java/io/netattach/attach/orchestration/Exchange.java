package io.netattach.attach.orchestration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netattach.attach.kafka.Bus;
import io.netattach.attach.kafka.Topic;
import io.netattach.attach.kube.PodView;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** One request to another service and the wait for its answer: timeout, resend with the same id, pending. */
@ApplicationScoped
class Exchange {
    private static final org.jboss.logging.Logger LOG = org.jboss.logging.Logger.getLogger(Exchange.class);
    @Inject Bus bus;

    /** A sent request whose answers are collected. */
    final class Pending implements AutoCloseable {
        private final Topic topic;
        private final String key, id, type;
        private final PodView pod;
        private final ObjectNode data;
        private final LinkedBlockingQueue<JsonNode> answers = new LinkedBlockingQueue<>();
        private final long sentAt;
        private final long sendMillis;

        private Pending(Topic topic, String key, String id, String type, PodView pod, ObjectNode data) {
            this.topic = topic;
            this.key = key;
            this.id = id;
            this.type = type;
            this.pod = pod;
            this.data = data;
            bus.expect(id, pod.uid(), answers::add); // before sending: a fast answer is not missed
            long t = System.nanoTime();
            bus.send(topic, key, id, type, pod.ref(), data);
            this.sentAt = System.nanoTime();
            this.sendMillis = (sentAt - t) / 1_000_000;
        }

        /**
         * Waits for the final answer; on timeout resends the same request (same id, so the other side
         * answers it idempotently) up to attempts times. With pendingTimeout set, an answer with
         * pending=true means "accepted, still working" and extends the wait by pendingTimeout.
         */
        JsonNode await(Duration timeout, int attempts, Duration pendingTimeout) throws StepFailure {
            for (int attempt = 1; ; attempt++) {
                long deadline = System.nanoTime() + timeout.toNanos();
                while (true) {
                    JsonNode a;
                    try {
                        a = answers.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new StepFailure.Cancelled();
                    }
                    if (a == null) break;
                    if (a == Bus.CANCELLED) throw new StepFailure.Cancelled();
                    if (pendingTimeout != null && a.path("pending").asBoolean(false)) {
                        deadline = System.nanoTime() + pendingTimeout.toNanos();
                        continue;
                    }
                    if (LOG.isDebugEnabled()) {
                        LOG.debugf("%s answered %d ms after sending (send %d ms, attempt %d)", id, (System.nanoTime() - sentAt) / 1_000_000, sendMillis, attempt);
                    }
                    return a;
                }
                if (attempt >= attempts) {
                    throw new StepFailure("Timeout", type + " " + id + " got no answer in " + attempts + " attempt(s) of " + timeout.toMillis() + " ms");
                }
                LOG.infof("%s: no answer in %d ms, sending it again (attempt %d of %d)", id, timeout.toMillis(), attempt + 1, attempts);
                bus.send(topic, key, id, type, pod.ref(), data);
            }
        }

        @Override
        public void close() {
            bus.forget(id);
        }
    }

    Pending send(Topic topic, String key, String id, String type, PodView pod, ObjectNode data) {
        return new Pending(topic, key, id, type, pod, data);
    }

    JsonNode ask(Topic topic, String key, String id, String type, PodView pod, ObjectNode data, Duration timeout, int attempts,
                 Duration pendingTimeout) throws StepFailure {
        try (Pending p = send(topic, key, id, type, pod, data)) {
            return p.await(timeout, attempts, pendingTimeout);
        }
    }
}
