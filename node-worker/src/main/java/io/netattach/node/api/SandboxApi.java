package io.netattach.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.netattach.node.domain.AddOutcome;
import io.netattach.node.domain.Commands;
import io.netattach.node.domain.PodDirectory;
import io.netattach.node.domain.PodNetworks;
import io.netattach.node.domain.PodRef;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The CNI verbs the shim forwards, one request at a time: {@code {"command":"ADD|DEL|CHECK","containerId","netns",
 * "ifName","pod":{namespace,name,uid},"config":{...}}} in, {@code {"exit":N,"stdout":<what the shim prints, or
 * null>}} out (members always in this order).
 * <ul>
 *   <li>ADD asks the API server whether the pod wants secondary networks. If not, it passes the chain through at
 *   once (whatever Kafka or attach-service are doing); if so, it answers when the interfaces are in place, or fails
 *   with the reason (refused, failed, not done within {@code addTimeout}): a pod never starts without what it asked for.</li>
 *   <li>DEL removes what netattach made and always succeeds.</li>
 *   <li>CHECK compares the sandbox with what was attached in it.</li>
 * </ul>
 */
final class SandboxApi {
    private static final Logger LOG = Logger.getLogger(SandboxApi.class);

    private final PodNetworks pods;
    private final PodDirectory directory;
    private final ObjectMapper json;
    private final CniResults cni;
    private final Duration addTimeout;
    private final Duration statusWait;
    private final String node;
    private final MeterRegistry metrics;

    SandboxApi(PodNetworks pods, PodDirectory directory, ObjectMapper json, Duration addTimeout, Duration statusWait, String node, MeterRegistry metrics) {
        this.pods = pods;
        this.directory = directory;
        this.json = json;
        this.cni = new CniResults(json);
        this.addTimeout = addTimeout;
        this.statusWait = statusWait;
        this.node = node;
        this.metrics = metrics;
    }

    /** One shim request (a line of JSON) and its answer. */
    String handle(String line) {
        JsonNode req;
        try {
            req = json.readTree(line);
        } catch (Exception e) {
            return reply(1, cni.error("1.0.0", CniResults.DECODING_FAILURE, "netattach: request is not JSON", e.getMessage()));
        }
        JsonNode config = req.path("config");
        String cniVersion = config.path("cniVersion").asText("1.0.0");
        String command = req.path("command").asText("");
        String uid = req.path("pod").path("uid").asText("");
        if (!config.isObject()) {
            return reply(1, cni.error(cniVersion, CniResults.DECODING_FAILURE, "netattach: the network configuration on stdin is not a JSON object", null));
        }
        if (uid.isEmpty()) {
            // Not a Kubernetes pod (no K8S_POD_UID in CNI_ARGS): nothing of ours to do; pass the chain through.
            return command.equals("ADD") ? reply(0, cni.passThrough(config, cniVersion)) : reply(0, null);
        }
        PodRef pod = new PodRef(req.path("pod").path("namespace").asText(""), req.path("pod").path("name").asText(""), uid);
        String containerId = req.path("containerId").asText("");
        String netns = req.path("netns").asText("");
        return switch (command) {
            case "ADD" -> add(pod, containerId, netns, req.path("ifName").asText("eth0"), config, cniVersion);
            case "DEL" -> del(pod, containerId, netns);
            case "CHECK" -> check(pod, containerId, netns, cniVersion);
            default -> reply(1, cni.error(cniVersion, CniResults.INVALID_ENVIRONMENT, "netattach: unsupported CNI_COMMAND \"" + command + "\"", null));
        };
    }

    private String add(PodRef pod, String containerId, String netns, String ifName, JsonNode config, String cniVersion) {
        long start = System.nanoTime();
        if (netns.isEmpty()) return counted("error", start, reply(1, cni.error(cniVersion, CniResults.INVALID_ENVIRONMENT, "netattach: CNI_NETNS is empty", null)));
        PodDirectory.Answer answer;
        try {
            answer = directory.lookup(pod);
        } catch (PodDirectory.LookupFailed e) {
            LOG.warnf("ADD %s: %s", pod.subject(), e.getMessage());
            return counted("error", start, reply(1, cni.error(cniVersion, CniResults.TRY_AGAIN_LATER,
                    "netattach: cannot tell whether pod " + pod.subject() + " asks for secondary networks", e.getMessage())));
        }
        Commands.Sandbox sandbox = new Commands.Sandbox(pod, containerId, netns, cni.primary(config, ifName));
        switch (answer) {
            case PodDirectory.NoNetworks n -> {
                pods.register(sandbox);
                return counted("no-networks", start, reply(0, cni.passThrough(config, cniVersion)));
            }
            case PodDirectory.NotInCluster n -> {
                return counted("no-networks", start, reply(0, cni.passThrough(config, cniVersion)));
            }
            case PodDirectory.Terminating t -> {
                return counted("no-networks", start, reply(0, cni.passThrough(config, cniVersion)));
            }
            case PodDirectory.OtherIncarnation o -> {
                return counted("error", start, reply(1, cni.error(cniVersion, CniResults.CONTAINER_UNKNOWN,
                        "netattach: pod " + pod.subject() + " in the API server has UID " + o.uid() + ", not the sandbox's " + pod.uid()
                                + " (deleted and created again?)", null)));
            }
            case PodDirectory.WantsNetworks w -> {
                PodRef known = w.uid().equals(pod.uid()) ? pod : new PodRef(pod.namespace(), pod.name(), w.uid());
                Commands.Sandbox sb = known == pod ? sandbox : new Commands.Sandbox(known, containerId, netns, sandbox.primary());
                AddOutcome outcome = await(sb, pods.add(sb));
                if (outcome instanceof AddOutcome.Attached a && !statusWait.isZero()) awaitStatus(known, a.result(), start);
                return counted(outcomeName(outcome), start, reply(outcome, sb, config, cniVersion));
            }
        }
    }

    /**
     * Holds the ADD until attach-service's network-status lists the interfaces (Multus writes it within the ADD, so
     * the containers start with it), at most {@code statusWait} and within the ADD's bound. Not listed by then
     * (attach-service cannot write to the API server): the ADD succeeds anyway, as the interfaces are in place.
     */
    private void awaitStatus(PodRef pod, Commands.Result result, long start) {
        Duration left = addTimeout.minusNanos(System.nanoTime() - start);
        Duration bound = left.compareTo(statusWait) < 0 ? left : statusWait;
        boolean listed;
        try {
            listed = directory.awaitListed(pod, result.interfaces(), bound);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (!listed && !bound.isZero() && !bound.isNegative()) {
            LOG.warnf("ADD %s: the interfaces are in place, but after %d ms the pod's network-status does not list them yet; answering without it",
                    pod.subject(), bound.toMillis());
        }
        metrics.counter("netattach.node.cni.status.waits", "outcome", listed ? "listed" : "not-listed").increment();
    }

    private AddOutcome await(Commands.Sandbox sb, CompletableFuture<AddOutcome> waiting) {
        try {
            return waiting.get(addTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return pods.addTimedOut(sb, waiting, addTimeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new AddOutcome.Abandoned("node-worker is shutting down");
        } catch (ExecutionException e) {
            return new AddOutcome.Abandoned("internal error: " + e.getCause());
        }
    }

    private String reply(AddOutcome outcome, Commands.Sandbox sb, JsonNode config, String cniVersion) {
        String pod = sb.pod().subject();
        return switch (outcome) {
            case AddOutcome.Attached a -> reply(0, cni.withInterfaces(config, cniVersion, a.result().interfaces(), sb.netns()));
            case AddOutcome.Failed f -> reply(1, cni.error(cniVersion, CniResults.ATTACH_FAILED,
                    "netattach: the secondary networks of pod " + pod + " could not be attached: " + f.result().errorMessage(), failures(f.result())));
            case AddOutcome.Refused r -> reply(1, cni.error(cniVersion, CniResults.ATTACH_REFUSED,
                    "netattach: pod " + pod + (r.why().network() == null ? "" : ", network " + r.why().network()) + ": " + r.why().reason() + ": " + r.why().message(),
                    r.why().message()));
            case AddOutcome.TimedOut t -> reply(1, cni.error(cniVersion, CniResults.TRY_AGAIN_LATER,
                    "netattach: the secondary networks of pod " + pod + " were not attached within " + t.after().toSeconds() + " s",
                    t.lastWord() != null
                            ? "attach-service is still trying" + (t.lastWord().network() == null ? "" : " (network " + t.lastWord().network() + ")")
                                    + ": " + t.lastWord().reason() + ": " + t.lastWord().message()
                            : "no attach for this pod reached node " + node + " (is attach-service running, and Kafka reachable?)"));
            case AddOutcome.Abandoned a -> reply(1, cni.error(cniVersion, CniResults.TRY_AGAIN_LATER, "netattach: ADD of pod " + pod + " abandoned: " + a.why(), null));
        };
    }

    private static String failures(Commands.Result r) {
        StringBuilder b = new StringBuilder(String.valueOf(r.errorReason())).append(": ").append(r.errorMessage());
        r.interfaces().stream().filter(i -> i.error() != null).forEach(i -> b.append("; ").append(i.iface()).append(": ").append(i.error()));
        return b.toString();
    }

    private static String outcomeName(AddOutcome o) {
        return switch (o) {
            case AddOutcome.Attached a -> "attached";
            case AddOutcome.Failed f -> "failed";
            case AddOutcome.Refused r -> "refused";
            case AddOutcome.TimedOut t -> "timeout";
            case AddOutcome.Abandoned a -> "abandoned";
        };
    }

    /** DEL always succeeds: a runtime that sees it fail retries forever, and what is left dies with the namespace. */
    private String del(PodRef pod, String containerId, String netns) {
        try {
            pods.unregister(pod, containerId, netns.isEmpty() ? null : netns);
        } catch (RuntimeException e) {
            LOG.warnf(e, "DEL of pod %s (sandbox %s, %s): removing netattach's interfaces failed; they go with the namespace", pod.subject(), containerId, netns);
        }
        return reply(0, null);
    }

    private String check(PodRef pod, String containerId, String netns, String cniVersion) {
        if (netns.isEmpty()) return reply(1, cni.error(cniVersion, CniResults.INVALID_ENVIRONMENT, "netattach: CNI_NETNS is empty", null));
        try {
            List<String> differences = pods.check(pod, containerId, netns);
            if (differences.isEmpty()) return reply(0, null);
            return reply(1, cni.error(cniVersion, CniResults.CHECK_MISMATCH, "netattach: the sandbox of pod " + pod.subject()
                    + " differs from what was attached in it: " + String.join("; ", differences), null));
        } catch (RuntimeException e) {
            return reply(1, cni.error(cniVersion, CniResults.INTERNAL, "netattach: CHECK of pod " + pod.subject() + " failed", e.getMessage()));
        }
    }

    private String counted(String outcome, long start, String reply) {
        metrics.counter("netattach.node.cni.adds", "outcome", outcome).increment();
        Timer.builder("netattach.node.cni.add.duration").description("CNI ADD, from the shim's request to its answer")
                .tag("outcome", outcome).register(metrics).record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
        return reply;
    }

    private static String reply(int exit, JsonNode stdout) {
        return "{\"exit\":" + exit + ",\"stdout\":" + (stdout == null ? "null" : stdout.toString()) + "}";
    }
}
