package io.netattach.node.api;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netattach.node.domain.Commands;
import io.netattach.node.domain.InterfaceReport;
import io.netattach.node.domain.PendingAnswers;
import io.netattach.node.domain.PodNetworks;
import io.netattach.node.domain.PodRef;
import io.netattach.node.kafka.KafkaSettings;
import io.netattach.node.netlink.PodInterfaces;
import io.netattach.node.netlink.ns.NamespaceThread;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.apache.kafka.clients.CommonClientConfigs;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Wires the node-worker at start (after the topics exist): netns thread and netlink backend on the node's host
 * namespace, the pod registry, Kafka results and commands, the sandbox socket; then reports the inventory.
 */
@ApplicationScoped
public class NodeWorker {
    private static final Logger LOG = Logger.getLogger(NodeWorker.class);

    @ConfigProperty(name = "netattach.node.name") String nodeName;
    @ConfigProperty(name = "netattach.node.host-netns") Optional<String> hostNetns;
    @ConfigProperty(name = "netattach.node.socket", defaultValue = "/run/netattach/node.sock") String socketPath;
    @ConfigProperty(name = "netattach.node.state-file", defaultValue = "/run/netattach/sandboxes.json") String stateFile;
    @ConfigProperty(name = "netattach.node.cni-plugin-dir", defaultValue = "/opt/cni/bin") String pluginDir;
    @ConfigProperty(name = "netattach.node.delegate-types") Optional<List<String>> delegateTypes;
    @ConfigProperty(name = "netattach.node.sandbox-wait", defaultValue = "PT5S") Duration sandboxWait;
    @ConfigProperty(name = "netattach.node.pending-ttl", defaultValue = "PT10M") Duration pendingTtl;
    @ConfigProperty(name = "netattach.node.pending-answer-delay", defaultValue = "PT1S") Duration pendingAnswerDelay;
    @ConfigProperty(name = "netattach.node.sandbox-events", defaultValue = "false") boolean sandboxEvents;
    @ConfigProperty(name = "netattach.cluster-id", defaultValue = "local") String cluster;
    @ConfigProperty(name = "kafka.bootstrap.servers") String bootstrap;
    // every kafka.* property (security protocol, SASL, ... from KAFKA_* variables), as Quarkus collects them
    @Inject @Identifier("default-kafka-broker") Map<String, Object> brokerConfig;
    @ConfigProperty(name = "netattach.kafka.topic-suffix") Optional<String> suffix;
    @Inject ObjectMapper json;
    @ConfigProperty(name = "netattach.node.proc-sys", defaultValue = "/proc/sys") String procSys;

    private NamespaceThread nsThread;
    private PodInterfaces backend;
    private PodNetworks pods;
    private KafkaEvents events;
    private CommandConsumer consumer;
    private SandboxSocket socket;

    void onStart(@Observes @Priority(10) StartupEvent ev) throws IOException {
        String host = hostNetns.filter(s -> !s.isBlank()).orElse("/proc/self/ns/net");
        nsThread = new NamespaceThread(Path.of(procSys));
        backend = new PodInterfaces(nsThread, host, Path.of(pluginDir), java.util.Set.copyOf(delegateTypes.orElse(List.of())));
        EventJson eventJson = new EventJson(json, cluster, nodeName);
        Map<String, Object> client = KafkaSettings.merged(brokerConfig, Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap));
        events = new KafkaEvents(client, "netattach.node.results" + suffix.orElse(""), eventJson, nodeName);
        pods = new PodNetworks(backend, new PodNetworks.Events() {
            @Override public void result(Commands.Result r) { events.result(r); }
            @Override public void sandbox(Commands.Sandbox sb, String event) {
                saveState();
                // diagnostics only: no netattach service reads them, so they cost two records per pod unless asked for
                if (sandboxEvents) events.sandbox(sb, event);
            }
        }, Clock.systemUTC());
        restoreState();
        consumer = new CommandConsumer(client, "netattach.node.commands" + suffix.orElse(""), nodeName, pods, events, eventJson, pendingTtl,
                new PendingAnswers(pendingAnswerDelay, Clock.systemUTC()));
        consumer.start();
        socket = new SandboxSocket(Path.of(socketPath), pods, json, sandboxWait);
        reportInventory();
        LOG.infof("node-worker %s ready: host netns %s, sandbox socket %s, CNI plugin dir %s", nodeName, host, socketPath, pluginDir);
    }

    void onStop(@Observes ShutdownEvent ev) {
        if (socket != null) socket.close();
        if (consumer != null) consumer.close();
        if (events != null) events.close();
        if (backend != null) backend.close();
        if (nsThread != null) nsThread.close();
    }

    public PodNetworks pods() { return pods; }

    public String nodeName() { return nodeName; }

    public boolean ready() { return consumer != null && consumer.assigned() && socket != null; }

    private record SavedSandbox(String namespace, String name, String uid, String containerId, String netns) {}

    private synchronized void saveState() {
        try {
            Path file = Path.of(stateFile);
            Files.createDirectories(file.toAbsolutePath().getParent());
            List<SavedSandbox> all = pods.sandboxes().stream().map(s -> new SavedSandbox(s.pod().namespace(), s.pod().name(),
                    s.pod().uid(), s.containerId(), s.netns())).toList();
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, json.writeValueAsString(all));
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.warnf("cannot save sandbox state to %s: %s", stateFile, e.getMessage());
        }
    }

    /** Sandboxes registered before a restart, whose namespaces still exist. */
    private void restoreState() {
        Path file = Path.of(stateFile);
        if (!Files.exists(file)) return;
        try {
            List<SavedSandbox> saved = json.readValue(file.toFile(), new TypeReference<List<SavedSandbox>>() {});
            for (SavedSandbox s : saved) {
                if (Files.exists(Path.of(s.netns()))) {
                    pods.restore(new Commands.Sandbox(new PodRef(s.namespace(), s.name(), s.uid()), s.containerId(), s.netns()));
                }
            }
        } catch (IOException e) {
            LOG.warnf("cannot read sandbox state %s: %s", stateFile, e.getMessage());
        }
    }

    private void reportInventory() {
        Map<Commands.Sandbox, List<InterfaceReport>> inventory = new LinkedHashMap<>();
        for (Commands.Sandbox sb : pods.sandboxes()) inventory.put(sb, pods.inspect(sb));
        events.inventory("inventory/" + nodeName + "/" + Instant.now().toEpochMilli(), inventory);
    }
}
