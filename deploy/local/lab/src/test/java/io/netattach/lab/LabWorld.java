package io.netattach.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;

import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/** What the end-to-end tests see of the running lab (deploy/local/lab.sh up): its API and its pods' namespaces. */
final class LabWorld implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path ROOT = Path.of(System.getProperty("netattach.root", "../../.."));
    static final Path EXAMPLES = ROOT.resolve("deploy/examples");

    final KubernetesClient client;

    static Path labDir() {
        String state = Optional.ofNullable(System.getenv("NETATTACH_STATE"))
                .orElse(System.getProperty("user.home") + "/.local/state/netattach");
        return Path.of(state, "lab");
    }

    /** The lab run's Kafka topic suffix (each `lab.sh up` gets its own topics). */
    static String topicSuffix() {
        try {
            return Files.readString(labDir().resolve("topic-suffix")).trim();
        } catch (IOException e) {
            throw new IllegalStateException("the lab is not up (no topic-suffix in " + labDir() + ")", e);
        }
    }

    LabWorld() throws IOException {
        Path kubeconfig = labDir().resolve("kubeconfig");
        if (!Files.exists(kubeconfig)) {
            throw new IllegalStateException("the lab is not up (no " + kubeconfig + "): run deploy/local/lab.sh up first");
        }
        client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(Files.readString(kubeconfig))).build();
    }

    /**
     * Applies every object of an example file as `kubectl apply -f` would: created if absent, otherwise
     * replaced, except a Pod that exists already: applying its unchanged manifest again changes nothing (a
     * replace would clear the spec.nodeName the scheduler set, which no real API server allows).
     */
    /** Creates or replaces the objects of a YAML text, as kubectl apply does for a user. */
    void applyYaml(String yaml) {
        client.load(new java.io.ByteArrayInputStream(yaml.getBytes(java.nio.charset.StandardCharsets.UTF_8))).createOrReplace();
    }

    List<HasMetadata> apply(String example) throws IOException {
        try (var in = new FileInputStream(EXAMPLES.resolve(example).toFile())) {
            List<HasMetadata> out = new ArrayList<>();
            for (HasMetadata item : client.load(in).items()) {
                HasMetadata existing = item instanceof Pod ? client.resource(item).get() : null;
                out.add(existing != null ? existing : client.resource(item).createOr(io.fabric8.kubernetes.client.dsl.NonDeletingOperation::update));
            }
            return out;
        }
    }

    /** A client of the lab's member cluster (lab.sh up --member ID), or empty when the lab has none. */
    static Optional<KubernetesClient> member() throws IOException {
        Path id = labDir().resolve("member");
        if (!Files.exists(id)) {
            return Optional.empty();
        }
        Path kubeconfig = labDir().resolve("kubeconfig-" + Files.readString(id).trim());
        return Optional.of(new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(Files.readString(kubeconfig))).build());
    }

    /** What a user does before applying YAMLs into a namespace of a new cluster: kubectl create namespace (if absent). */
    void createNamespace(String name) {
        client.namespaces().resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build())
                .createOr(io.fabric8.kubernetes.client.dsl.NonDeletingOperation::update);
    }

    Pod pod(String namespace, String name) {
        return client.pods().inNamespace(namespace).withName(name).get();
    }

    static String netnsOf(Pod pod) {
        return LabKubelet.netnsName(pod.getMetadata().getUid());
    }

    /** `ip -d -j <args>` inside a namespace: the test's independent view of the kernel state. */
    static JsonNode ip(String netns, String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip", "-d", "-j", "-n", netns));
        cmd.addAll(List.of(args));
        String out = run(cmd);
        try {
            return JSON.readTree(out.isBlank() ? "[]" : out);
        } catch (IOException e) {
            throw new AssertionError("ip printed no JSON: " + out, e);
        }
    }

    static String run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int rc = p.waitFor();
            if (rc != 0) {
                throw new AssertionError(String.join(" ", cmd) + " exited " + rc + ": " + out);
            }
            return out;
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static int exitCode(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor();
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Polls until the supplier gives a non-null value, or fails naming what was awaited. */
    static <T> T waitFor(String what, Duration limit, Supplier<T> probe) {
        Instant end = Instant.now().plus(limit);
        RuntimeException last = null;
        while (Instant.now().isBefore(end)) {
            try {
                T value = probe.get();
                if (value != null) {
                    return value;
                }
            } catch (RuntimeException e) {
                last = e;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
        throw new AssertionError("timed out after " + limit.toSeconds() + " s waiting for " + what
                + (last == null ? "" : " (last error: " + last.getMessage() + ")"));
    }

    @Override
    public void close() {
        client.close();
    }
}
