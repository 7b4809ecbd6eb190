package io.netattach.node.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.MeterRegistry;
import io.netattach.node.domain.Commands;
import io.netattach.node.domain.InterfaceReport;
import io.netattach.node.domain.PodNetworks;
import io.netattach.node.kafka.CommandPartition;
import io.netattach.node.kube.KubePodDirectory;
import io.netattach.node.netlink.PodInterfaces;
import io.netattach.node.netlink.ns.NamespaceThread;
import io.netattach.node.store.SandboxStateFile;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.reactive.messaging.kafka.KafkaClientService;
import io.smallrye.reactive.messaging.kafka.KafkaConsumer;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
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
import java.util.concurrent.TimeoutException;

/**
 * Wires the node-worker at start: netns thread and netlink backend on the node's host namespace, the pod registry
 * and its state file, the sandbox socket (serving at once: a pod that asks for no network never waits for Kafka),
 * then the Kafka side in the background (topics, the check of the command partition, the inventory), retried until
 * the broker answers. The Kafka channels themselves (NodeCommands, NodeResults) reconnect by themselves.
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
    @ConfigProperty(name = "netattach.node.status-wait") Duration statusWait;
    @ConfigProperty(name = "netattach.node.socket-peers") List<String> socketPeers;
    @ConfigProperty(name = "netattach.node.socket-read-timeout") Duration socketReadTimeout;
    @ConfigProperty(name = "netattach.node.sandbox-events", defaultValue = "false") boolean sandboxEvents;
    @ConfigProperty(name = "netattach.cluster-id", defaultValue = "local") String cluster;
    @ConfigProperty(name = "kafka.bootstrap.servers") String bootstrap;
    @ConfigProperty(name = "mp.messaging.incoming.node-commands.topic") String commandsTopic;
    @ConfigProperty(name = CommandPartition.PARTITIONS) int commandPartitions;
    @ConfigProperty(name = CommandPartition.ASSIGN_SEEK) String commandPartition;
    @Inject KafkaClientService kafka;
    @Inject NodeResults results;
    @Inject NodeCommands commands;
    @Inject ObjectMapper json;
    @Inject KubernetesClient kube;
    @Inject MeterRegistry metrics;
    @ConfigProperty(name = "netattach.node.proc-sys", defaultValue = "/proc/sys") String procSys;

    private NamespaceThread nsThread;
    private PodInterfaces backend;
    private PodNetworks pods;
    private SandboxStateFile state;
    /** Why the node cannot take commands yet; null once the broker confirmed the command partition. */
    private volatile String commandsProblem = "the partition count of its command topic is not confirmed by the broker yet";
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
        state = new SandboxStateFile(Path.of(stateFile), json);
        pods = new PodNetworks(backend, new PodNetworks.Events() {
            @Override public void result(Commands.Result r) { results.resultLater(r); }
            @Override public void sandbox(Commands.Sandbox sb, String event) {
                // diagnostics only: no netattach service reads them, so they cost two records per pod unless asked for
                if (sandboxEvents) results.sandboxLater(sb, event);
            }
            @Override public void waiting(Commands.Sandbox sb) { results.sandboxLater(sb, "waiting"); }
            @Override public void changed() { state.saveLater(pods::snapshot); }
            @Override public Commands.Result deferred(Commands.Attach c, java.util.function.Supplier<Commands.Result> batch) { return commands.deferred(c, batch); }
        }, Clock.systemUTC());
        state.load().forEach(pods::restore);
        directory = new KubePodDirectory(kube, nodeName);
        SandboxApi api = new SandboxApi(pods, directory, json, addTimeout, statusWait, nodeName, metrics);
        socket = new SandboxSocket(Path.of(socketPath), api::handle, java.util.Set.copyOf(socketPeers), socketReadTimeout);
        ticker.scheduleWithFixedDelay(() -> pods.nudgeDue(waitingReportDelay), 200, 200, TimeUnit.MILLISECONDS);
        kafkaLink = Thread.ofPlatform().name("node-worker-kafka-link").daemon(true).start(this::connect);
        LOG.infof("node-worker %s serving the CNI shim on %s: host netns %s, CNI plugin dir %s; Kafka at %s in the background",
                nodeName, socketPath, host, pluginDir, bootstrap);
    }

    /** The envelopes in and out, for this cluster and node. */
    @Produces
    @Singleton
    EventJson eventJson() { return new EventJson(json, cluster, nodeName); }

    /** The check of the command partition, then the inventory: each retried until the broker answers. */
    private void connect() {
        for (int attempt = 1; !stopping; attempt++) {
            try {
                checkCommandPartitions();
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
        if (state != null) state.close();
        if (backend != null) backend.close();
        if (nsThread != null) nsThread.close();
    }

    public PodNetworks pods() { return pods; }

    public String nodeName() { return nodeName; }

    /** The sandbox socket serves and the broker confirmed the node's command partition. */
    public boolean ready() { return socket != null && commandsProblem == null; }

    /** Which partition of which topic the node reads, or why it cannot read its commands yet. */
    public String commands() {
        String problem = commandsProblem;
        return problem != null ? problem : commandsTopic + " partition " + commandPartition + " of " + commandPartitions;
    }

    /**
     * attach-service's producer picks the partition from the topic's real partition count, the node from
     * netattach.node.command-partitions (CommandPartition): if they differ, the node would read another node's
     * partition and never see its own commands, so it is not ready and says why.
     */
    private void checkCommandPartitions() throws InterruptedException {
        KafkaConsumer<?, ?> consumer = kafka.getConsumer("node-commands");
        if (consumer == null) throw new IllegalStateException("the node-commands channel has not started yet");
        int actual;
        try {
            actual = consumer.partitionsFor(commandsTopic).subscribeAsCompletionStage().get(70, TimeUnit.SECONDS).size();
        } catch (java.util.concurrent.ExecutionException | TimeoutException e) {
            throw new IllegalStateException("no partition count of " + commandsTopic + " from the broker: " + e.getMessage(), e);
        }
        if (actual == 0) throw new IllegalStateException("topic " + commandsTopic + " has no partitions (does it exist?)");
        if (actual != commandPartitions) {
            commandsProblem = commandsTopic + " has " + actual + " partitions, but " + CommandPartition.PARTITIONS + " is " + commandPartitions
                    + ": this node's commands go to partition " + CommandPartition.of(nodeName, actual) + ", it reads " + commandPartition;
            LOG.errorf("node-worker %s cannot receive its commands: %s", nodeName, commandsProblem);
            return;
        }
        commandsProblem = null;
        LOG.infof("node %s reads %s", nodeName, commands());
    }

    public boolean serving() { return socket != null; }

    private void reportInventory() {
        Map<Commands.Sandbox, List<InterfaceReport>> inventory = new LinkedHashMap<>();
        for (Commands.Sandbox sb : pods.sandboxes()) inventory.put(sb, pods.inspect(sb));
        try {
            results.inventory("inventory/" + nodeName + "/" + Instant.now().toEpochMilli(), inventory).toCompletableFuture().get(70, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException | TimeoutException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
