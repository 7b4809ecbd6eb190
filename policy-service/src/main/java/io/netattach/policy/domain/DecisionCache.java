package io.netattach.policy.domain;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Remembers decisions for a short time. The key holds every input a rule reads (pod namespace, service account,
 * labels, the selections) plus the versions of the RBAC, NAD and policy caches, so a change to a Role, binding, NAD
 * annotation or policy seen by the informers misses the cache at once; the TTL bounds what the caches cannot see
 * (SubjectAccessReview answers, which carry no version). Denials for an unavailable API server and fail-open answers are never stored.
 */
public final class DecisionCache {
    public record Key(String cluster, String namespace, String serviceAccount, Map<String, String> labels, List<Selection> selections,
                      long accessVersion, long definitionsVersion, long policyVersion) {}

    private record Entry(List<Decision> decisions, Instant expires) {}

    private static final int MAX_ENTRIES = 10_000;
    private final Duration ttl;
    private final Clock clock;
    private final Map<Key, Entry> entries = new ConcurrentHashMap<>();

    public DecisionCache(Duration ttl, Clock clock) {
        this.ttl = ttl;
        this.clock = clock;
    }

    public List<Decision> get(Key key) {
        if (ttl.isZero()) return null;
        Entry e = entries.get(key);
        if (e == null) return null;
        if (!clock.instant().isBefore(e.expires())) {
            entries.remove(key, e);
            return null;
        }
        return e.decisions();
    }

    public void put(Key key, List<Decision> decisions) {
        if (ttl.isZero()) return;
        if (entries.size() >= MAX_ENTRIES) {
            Instant now = clock.instant();
            entries.values().removeIf(e -> !now.isBefore(e.expires()));
            if (entries.size() >= MAX_ENTRIES) entries.clear();
        }
        entries.put(key, new Entry(List.copyOf(decisions), clock.instant().plus(ttl)));
    }
}
