package io.netattach.node.store;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netattach.node.domain.Commands;
import io.netattach.node.domain.InterfaceReport;
import io.netattach.node.domain.PodNetworks;
import io.netattach.node.domain.PodRef;
import io.netattach.node.domain.PrimaryNetwork;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The sandboxes this node registered and what netattach made in each, in a JSON file (atomically replaced), so a
 * restarted node-worker knows them again. Writes are coalesced on one thread: a burst of CNI calls costs a few
 * writes, and no CNI call waits for the disk.
 */
public final class SandboxStateFile implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(SandboxStateFile.class);

    record SavedInterface(String network, String iface, String mac, Integer mtu, List<String> ips) {}

    record SavedSandbox(String namespace, String name, String uid, String containerId, String netns, PrimaryNetwork primary,
                        List<SavedInterface> attached) {}

    private final Path file;
    private final ObjectMapper json;
    private final ExecutorService writer = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("sandbox-state").daemon(true).unstarted(r));
    private final AtomicBoolean queued = new AtomicBoolean();

    public SandboxStateFile(Path file, ObjectMapper json) {
        this.file = file;
        this.json = json;
    }

    /** The saved sandboxes whose network namespace still exists. */
    public List<PodNetworks.Saved> load() {
        if (!Files.exists(file)) return List.of();
        try {
            List<SavedSandbox> saved = json.readValue(file.toFile(), new TypeReference<List<SavedSandbox>>() { });
            List<PodNetworks.Saved> out = new ArrayList<>();
            for (SavedSandbox s : saved) {
                if (s.netns() == null || !Files.exists(Path.of(s.netns()))) continue;
                List<InterfaceReport> attached = s.attached() == null ? List.of() : s.attached().stream()
                        .map(i -> new InterfaceReport(i.network(), i.iface(), i.mac(), i.mtu(), i.ips(), s.netns(), null)).toList();
                out.add(new PodNetworks.Saved(new Commands.Sandbox(new PodRef(s.namespace(), s.name(), s.uid()), s.containerId(), s.netns(), s.primary()), attached));
            }
            return out;
        } catch (IOException e) {
            LOG.warnf("cannot read sandbox state %s (starting without it): %s", file, e.getMessage());
            return List.of();
        }
    }

    /** Writes what {@code state} gives soon, once for any number of calls meanwhile. */
    public void saveLater(Supplier<List<PodNetworks.Saved>> state) {
        if (!queued.compareAndSet(false, true)) return;
        writer.execute(() -> {
            queued.set(false);
            save(state.get());
        });
    }

    private void save(List<PodNetworks.Saved> state) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            List<SavedSandbox> out = state.stream().map(s -> {
                Commands.Sandbox sb = s.sandbox();
                List<SavedInterface> ifs = s.attached().stream().map(i -> new SavedInterface(i.network(), i.iface(), i.mac(), i.mtu(), i.ips())).toList();
                return new SavedSandbox(sb.pod().namespace(), sb.pod().name(), sb.pod().uid(), sb.containerId(), sb.netns(), sb.primary(), ifs);
            }).toList();
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, json.writeValueAsString(out));
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.warnf("cannot save sandbox state to %s: %s", file, e.getMessage());
        }
    }

    /** Writes what is queued, then stops. */
    @Override
    public void close() {
        writer.shutdown();
        try {
            writer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

}
