package io.netattach.attach.orchestration;

import org.jboss.logging.Logger;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Work queue keyed by pod UID: at most one reconcile per key at a time; a key added while it runs is run
 * once more afterwards (changes are coalesced, never lost). Reconciles run on virtual threads, because a
 * reconcile mostly waits for Kafka answers; a semaphore bounds how many run at once. A reconcile that throws
 * (an API server timeout, say) runs again after a backoff that doubles per failure of that key, up to a cap:
 * waiting for the pod's next change could mean waiting for ever.
 */
final class WorkQueue {
    private static final Logger LOG = Logger.getLogger(WorkQueue.class);

    private final Consumer<String> reconcile;
    private final Semaphore permits;
    private final ExecutorService workers = Executors.newThreadPerTaskExecutor(r -> ownLoader(Thread.ofVirtual().unstarted(r)));
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> ownLoader(Thread.ofPlatform().daemon().name("attach-requeue").unstarted(r)));
    private final Set<String> running = new HashSet<>();
    private final Set<String> dirty = new HashSet<>();
    /** key -> reconciles of it that threw in a row. */
    private final java.util.Map<String, Integer> failures = new java.util.concurrent.ConcurrentHashMap<>();
    private final Duration backoffInitial;
    private final Duration backoffMax;
    private volatile boolean closed;

    /**
     * The queue is made on whatever thread wins the Lease (a fabric8 client thread); its threads get this
     * application's class loader rather than inherit that thread's (a test JVM restarts Quarkus apps, and a
     * pool thread of an earlier one carries a class loader whose configuration is gone).
     */
    static Thread ownLoader(Thread t) {
        t.setContextClassLoader(WorkQueue.class.getClassLoader());
        return t;
    }

    WorkQueue(int concurrency, Consumer<String> reconcile, Duration backoffInitial, Duration backoffMax) {
        this.permits = new Semaphore(concurrency);
        this.reconcile = reconcile;
        this.backoffInitial = backoffInitial;
        this.backoffMax = backoffMax;
    }

    void add(String key) {
        if (closed) return;
        synchronized (this) {
            if (running.contains(key)) {
                dirty.add(key);
                return;
            }
            running.add(key);
        }
        workers.submit(() -> run(key));
    }

    void addAfter(String key, Duration delay) {
        if (!closed) timer.schedule(() -> add(key), delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    void addAfterAction(Duration delay, Runnable action) {
        if (!closed) timer.schedule(action, delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void run(String key) {
        boolean again;
        do {
            try {
                permits.acquire();
                try {
                    reconcile.accept(key);
                    failures.remove(key);
                } finally {
                    permits.release();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                int n = failures.merge(key, 1, Integer::sum);
                Duration delay = backoff(n, backoffInitial, backoffMax);
                LOG.errorf(e, "reconcile of pod %s failed (%d in a row); it runs again in %s, or on its next change", key, n, delay);
                addAfter(key, delay);
            }
            synchronized (this) {
                again = dirty.remove(key) && !closed;
                if (!again) running.remove(key);
            }
        } while (again);
    }

    /** The requeue delay after {@code failuresInARow} failures: {@code initial} doubled per earlier failure, at most {@code max}. */
    static Duration backoff(int failuresInARow, Duration initial, Duration max) {
        long ms = initial.toMillis() << Math.min(Math.max(failuresInARow - 1, 0), 20);
        return Duration.ofMillis(Math.min(ms, max.toMillis()));
    }

    void close() {
        closed = true;
        timer.shutdownNow();
        workers.shutdownNow();
    }
}
