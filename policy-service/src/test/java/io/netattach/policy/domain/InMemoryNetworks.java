package io.netattach.policy.domain;

import io.netattach.policy.domain.nad.NetworkDefinition;
import io.netattach.policy.domain.nad.NetworkDefinitions;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/** NADs held in a map, for domain tests. */
public final class InMemoryNetworks implements NetworkDefinitions {
    public final Map<String, NetworkDefinition> nads = new HashMap<>();
    public boolean ready = true;
    public long version = 1;

    /** Adds a NAD; {@code requireRbac} is the annotation's value, null for none. */
    public InMemoryNetworks add(String namespace, String name, String requireRbac) {
        nads.put(namespace + "/" + name, new NetworkDefinition(namespace, name, requireRbac));
        version++;
        return this;
    }

    @Override public boolean ready() { return ready; }
    @Override public long version() { return version; }

    @Override
    public Optional<NetworkDefinition> find(String namespace, String name) {
        return Optional.ofNullable(nads.get(namespace + "/" + name));
    }
}
