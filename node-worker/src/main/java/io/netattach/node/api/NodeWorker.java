package io.netattach.node.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.MeterRegistry;
import io.netattach.node.domain.Commands;
import io.netattach.node.domain.InterfaceReport;
import io.netattach.node.domain.PendingAnswers;
import io.netattach.node.domain.PodNetworks;
import io.netattach.node.kafka.KafkaSettings;
import io.netattach.node.kafka.TopicBootstrap;
import io.netattach.node.kube.KubePodDirectory;
import io.netattach.node.netlink.PodInterfaces;
import io.netattach.node.netlink.ns.NamespaceThread;
import io.netattach.node.store.SandboxStateFile;
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
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Wires the node-worker at start: netns thread and netlink backend on the node's host namespace, the pod registry
 * and its state file, the sandbox socket (serving at once: a pod that asks for no network never waits for Kafka),
 * then the Kafka side in the background (topics, the command consumer, the inventory), retried until the broker
 * answers.
 */
@ApplicationScoped
public class NodeWorker {
    private static final Logger LOG = Logger.getLogger(NodeWorker.class);
    /** The shim gives up after 120 s; an ADD must have answered before. */
    private static final Duration SHIM_LIMIT = Duration.ofSeconds(115);

    @ConfigProperty(name = "netattach.node.name") String nodeName;
    @ConfigProperty(name = "netattach.node.host-netns") Optional<String> hostNetns;
    @ConfigProperty(name = "netattach.node.socket", defaultValue = "/run/netattach/node.sock") String socketPath;
    @ConfigProperty(name = "netattach.node.state-file", defaultValue = "/run/netattach/sandboxes.json") String stateFile;
    @ConfigProperty(name = "netattach.node.cni-plugin-dir", defaultValue = "/opt/cni/bin") String pluginDir;
    @ConfigProperty(name = "netattach.node.delegate-types") Optional<List<String>> delegateTypes;
    @ConfigProperty(name = "netattach.node.add-timeout", defaultValue = "PT60S") Duration addTimeout;
    @ConfigProperty(name = "netattach.node.waiting-report-delay", defaultValue = "PT2S") Duration waitingReportDelay;
    @ConfigProperty(name = "netattach.node.pending-ttl", defaultValue = "PT10M") Duration pendingTtl;
    @ConfigProperty(name = "netattach.node.pending-answer-delay", defaultValue = "PT1S") Duration pendingAnswerDelay;
    @ConfigProperty(name = "netattach.node.sandbox-events", defaultValue = "false") boolean sandboxEvents;
    @ConfigProperty(name = "netattach.cluster-id", defaultValue = "local") String cluster;
    @ConfigProperty(name = "kafka.bootstrap.servers") String bootstrap;
    // every kafka.* property (security protocol, SASL, ... from KAFKA_* variables), as Quarkus collects them
    @Inject @Identifier("default-kafka-broker") Map<String, Object> brokerConfig;
    @ConfigProperty(name = "netattach.kafka.topic-suffix") Optional<String> suffix;
    @Inject ObjectMapper json;
    @Inject TopicBootstrap topics;
    @Inject KubernetesClient kube;
    @Inject MeterRegistry metrics;
    @ConfigProperty(name = "netattach.node.proc-sys", defaultValue = "/proc/sys") String procSys;

    private NamespaceThread nsThread;
    private PodInterfaces backend;
    private PodNetworks pods;
    private KafkaEvents events;
    private SandboxStateFile state;
    private volatile CommandConsumer consumer;
    private SandboxSocket socket;
    private KubePodDirectory directory;
    private Thread kafkaLink;
    private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("node-worker-ticker").daemon(true).unstarted(r));
    private volatile boolean stopping;

    void onStart(@Observes @Priority(10) StartupEvent ev) throws IOException {
        if (addTimeout.compareTo(SHIM_LIMIT) > 0) {
            throw new IllegalArgumentException("netattach.node.add-timeout " + addTimeout + " is longer than the shim waits (" + SHIM_LIMIT
                    + "): a CNI ADD would be cut off without its reason");
        }
        String host = hostNetns.filter(s -> !s.isBlank()).orElse("/proc/self/ns/net");
        nsThread = new NamespaceThread(Path.of(procSys));
        backend = new PodInterfaces(nsThread, host, Path.of(pluginDir), java.util.Set.copyOf(delegateTypes.orElse(List.of())));
        EventJson eventJson = new EventJson(json, cluster, nodeName);
        Map<String, Object> client = KafkaSettings.merged(brokerConfig, Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap));
        events = new KafkaEvents(client, "netattach.node.results" + suffix.orElse(""), eventJson, nodeName);
        state = new SandboxStateFile(Path.of(stateFile), json);
        pods = new PodNetworks(backend, new PodNetworks.Events() {
            @Override public void result(Commands.Result r) { events.resultLater(r); }
            @Override public void sandbox(Commands.Sandbox sb, String event) {
                // diagnostics only: no netattach service reads them, so they cost two records per pod unless asked for
                if (sandboxEvents) events.sandboxLater(sb, event);
            }
            @Override public void waiting(Commands.Sandbox sb) { events.sandboxLater(sb, "waiting"); }
            @Override public void changed() { state.saveLater(pods::snapshot); }
        }, Clock.systemUTC());
        state.load().forEach(pods::restore);
        directory = new KubePodDirectory(kube, nodeName);
        SandboxApi api = new SandboxApi(pods, directory, json, addTimeout, nodeName, metrics);
        socket = new SandboxSocket(Path.of(socketPath), api::handle);
        ticker.scheduleWithFixedDelay(() -> pods.nudgeDue(waitingReportDelay), 200, 200, TimeUnit.MILLISECONDS);
        PendingAnswers answers = new PendingAnswers(pendingAnswerDelay, Clock.systemUTC());
        kafkaLink = Thread.ofPlatform().name("node-worker-kafka-link").daemon(true).start(() -> connect(client, eventJson, answers));
        LOG.infof("node-worker %s serving the CNI shim on %s: host netns %s, CNI plugin dir %s; Kafka at %s in the background",
                nodeName, socketPath, host, pluginDir, bootstrap);
    }

    /** The topics, the command consumer, then the inventory: each retried until the broker answers. */
    private void connect(Map<String, Object> client, EventJson eventJson, PendingAnswers answers) {
        CommandConsumer c = null;
        for (int attempt = 1; !stopping; attempt++) {
            try {
                topics.ensureTopics();
                if (c == null) {
                    c = new CommandConsumer(client, "netattach.node.commands" + suffix.orElse(""), nodeName, pods, events, eventJson, pendingTtl, answers);
                }
                c.start();
                consumer = c;
                break;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                LOG.warnf("node-worker %s: Kafka at %s not usable yet (attempt %d): %s; the CNI shim is served meanwhile", nodeName, bootstrap, attempt, e.getMessage());
                if (!pause(Math.min(30, attempt * 2L))) return;
            }
        }
        while (!stopping) {
            try {
                reportInventory();
                return;
            } catch (RuntimeException e) {
                LOG.warnf("inventory of node %s not published: %s", nodeName, e.getMessage());
                if (!pause(5)) return;
            }
        }
    }

    private boolean pause(long seconds) {
        try {
            Thread.sleep(Duration.ofSeconds(seconds));
            return !stopping;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    void onStop(@Observes ShutdownEvent ev) {
        stopping = true;
        if (kafkaLink != null) kafkaLink.interrupt();
        ticker.shutdownNow();
        if (socket != null) socket.close();
        if (directory != null) directory.close();
        if (consumer != null) consumer.close();
        if (events != null) events.close();
        if (state != null) state.close();
        if (backend != null) backend.close();
        if (nsThread != null) nsThread.close();
    }

    public PodNetworks pods() { return pods; }

    public String nodeName() { return nodeName; }

    /** The sandbox socket serves and the node's command partition is assigned. */
    public boolean ready() {
        CommandConsumer c = consumer;
        return c != null && c.assigned() && socket != null;
    }

    public boolean serving() { return socket != null; }

    private void reportInventory() {
        Map<Commands.Sandbox, List<InterfaceReport>> inventory = new LinkedHashMap<>();
        for (Commands.Sandbox sb : pods.sandboxes()) inventory.put(sb, pods.inspect(sb));
        events.inventory("inventory/" + nodeName + "/" + Instant.now().toEpochMilli(), inventory);
    }
}
