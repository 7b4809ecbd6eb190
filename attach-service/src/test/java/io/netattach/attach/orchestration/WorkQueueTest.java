package io.netattach.attach.orchestration;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkQueueTest {
    @Test
    void aReconcileThatThrowsRunsAgainAfterABackoffUntilItSucceeds() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        CountDownLatch succeeded = new CountDownLatch(1);
        List<String> keys = new CopyOnWriteArrayList<>();
        WorkQueue q = new WorkQueue(4, key -> {
            keys.add(key);
            // as an API server timeout would: the first two runs throw
            if (calls.incrementAndGet() <= 2) throw new IllegalStateException("timeout period of 10000ms exceeded");
            succeeded.countDown();
        }, Duration.ofMillis(20), Duration.ofMillis(100));
        try {
            q.add("uid-1");
            assertTrue(succeeded.await(30, TimeUnit.SECONDS), "ran again after failing, without another add; calls: " + calls.get());
            assertEquals(List.of("uid-1", "uid-1", "uid-1"), keys);
        } finally {
            q.close();
        }
    }

    @Test
    void theBackoffDoublesPerFailureInARowUpToTheCap() {
        Duration initial = Duration.ofSeconds(1), max = Duration.ofSeconds(60);
        assertEquals(Duration.ofSeconds(1), WorkQueue.backoff(1, initial, max));
        assertEquals(Duration.ofSeconds(2), WorkQueue.backoff(2, initial, max));
        assertEquals(Duration.ofSeconds(32), WorkQueue.backoff(6, initial, max));
        assertEquals(Duration.ofSeconds(60), WorkQueue.backoff(7, initial, max));
        assertEquals(Duration.ofSeconds(60), WorkQueue.backoff(500, initial, max));
    }
}
