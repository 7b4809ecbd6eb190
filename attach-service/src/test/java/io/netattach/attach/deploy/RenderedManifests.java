package io.netattach.attach.deploy;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.Serialization;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The objects `kubectl kustomize` renders from one directory of deploy/kubernetes, each parsed by fabric8
 * into its model class. Rendered once per directory per test run.
 */
record RenderedManifests(Path dir, List<HasMetadata> objects) {

    private static final Map<Path, RenderedManifests> RENDERED = new ConcurrentHashMap<>();

    /** The repository root: the nearest parent holding deploy/kubernetes (tests run in attach-service/). */
    static Path repoRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("deploy/kubernetes"))) return p;
        }
        throw new IllegalStateException("no deploy/kubernetes above " + Path.of("").toAbsolutePath());
    }

    static Path kubernetesDir() {
        return repoRoot().resolve("deploy/kubernetes");
    }

    /** $KUBECTL, else kubectl on the PATH. */
    static Optional<Path> kubectl() {
        String explicit = System.getenv("KUBECTL");
        if (explicit != null && !explicit.isBlank()) return Optional.of(Path.of(explicit)).filter(Files::isExecutable);
        String path = System.getenv().getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin");
        return Stream.of(path.split(File.pathSeparator))
                .filter(s -> !s.isBlank())
                .map(s -> Path.of(s, "kubectl"))
                .filter(Files::isExecutable)
                .findFirst();
    }

    /** What an operator can apply: both overlays, the uninstall step, and the optional components on top. */
    static List<RenderedManifests> everyVariant() {
        return List.of(of("overlays/single-cluster"), of("overlays/multi-cluster-member"), of("uninstall"),
                withComponents("overlays/single-cluster", "components/servicemonitor", "components/node-worker-privileged"),
                withComponents("overlays/multi-cluster-member", "components/attach-watch-nodes"));
    }

    /**
     * An overlay with components added, as an operator's own kustomization would do it: written under
     * target/ (kustomize accepts only relative paths to other kustomizations).
     */
    static RenderedManifests withComponents(String overlay, String... components) {
        try {
            String name = (overlay + "+" + String.join("+", components)).replaceAll("[^A-Za-z0-9+-]", "_");
            Path dir = Path.of("target", "deploy-test", name).toAbsolutePath();
            Files.createDirectories(dir);
            StringBuilder k = new StringBuilder("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n");
            k.append("resources:\n  - ").append(dir.relativize(kubernetesDir().resolve(overlay))).append('\n');
            k.append("components:\n");
            for (String c : components) k.append("  - ").append(dir.relativize(kubernetesDir().resolve(c))).append('\n');
            Files.writeString(dir.resolve("kustomization.yaml"), k);
            return render(dir);
        } catch (IOException e) {
            throw new AssertionError("cannot write a test kustomization: " + e.getMessage(), e);
        }
    }

    /** Renders a directory relative to deploy/kubernetes, e.g. "overlays/single-cluster". */
    static RenderedManifests of(String relativeDir) {
        return render(kubernetesDir().resolve(relativeDir));
    }

    static RenderedManifests render(Path kustomizationDir) {
        return RENDERED.computeIfAbsent(kustomizationDir.toAbsolutePath().normalize(), RenderedManifests::renderNow);
    }

    private static RenderedManifests renderNow(Path dir) {
        Optional<Path> kubectl = kubectl();
        assumeTrue(kubectl.isPresent(), "kubectl not found on PATH (or $KUBECTL): cannot render deploy/kubernetes");
        try {
            Path out = Files.createTempFile("kustomize-", ".yaml");
            Path err = Files.createTempFile("kustomize-", ".err");
            try {
                // Fixed arguments, no shell: the only variable part is a directory of this repository.
                Process p = new ProcessBuilder(kubectl.get().toString(), "kustomize", dir.toString())
                        .redirectOutput(out.toFile())
                        .redirectError(err.toFile())
                        .start();
                if (!p.waitFor(120, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new AssertionError("kubectl kustomize " + dir + " did not finish within 120 s");
                }
                if (p.exitValue() != 0) {
                    throw new AssertionError("kubectl kustomize " + dir + " failed (exit " + p.exitValue() + "): "
                            + Files.readString(err, StandardCharsets.UTF_8));
                }
                return new RenderedManifests(dir, parse(Files.readString(out, StandardCharsets.UTF_8)));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new AssertionError("cannot run kubectl kustomize " + dir + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while rendering " + dir, e);
        }
    }

    /** Splits a multi-document YAML stream and lets fabric8 pick each document's model class. */
    static List<HasMetadata> parse(String yaml) {
        List<HasMetadata> objects = new ArrayList<>();
        for (String document : yaml.split("(?m)^---\\s*$")) {
            if (document.isBlank()) continue;
            Object parsed = Serialization.unmarshal(document);
            if (!(parsed instanceof HasMetadata object)) {
                throw new AssertionError("not a Kubernetes object: " + document.lines().limit(5).toList());
            }
            objects.add(object);
        }
        return List.copyOf(objects);
    }

    <T extends HasMetadata> List<T> all(Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    <T extends HasMetadata> Optional<T> find(Class<T> type, String name) {
        return all(type).stream().filter(o -> name.equals(o.getMetadata().getName())).findFirst();
    }

    <T extends HasMetadata> T get(Class<T> type, String name) {
        return find(type, name).orElseThrow(() -> new AssertionError(
                "no " + type.getSimpleName() + " named " + name + " in " + dir + "; it has " + names(type)));
    }

    /** A ConfigMap made by a configMapGenerator: its name carries a content hash after the base name. */
    <T extends HasMetadata> T generated(Class<T> type, String baseName) {
        return all(type).stream()
                .filter(o -> o.getMetadata().getName().matches(java.util.regex.Pattern.quote(baseName) + "-[a-z0-9]{10}"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no generated " + type.getSimpleName() + " " + baseName
                        + "-<hash> in " + dir + "; it has " + names(type)));
    }

    private List<String> names(Class<? extends HasMetadata> type) {
        return all(type).stream().map(o -> o.getMetadata().getName()).toList();
    }

    @Override
    public String toString() {
        return dir.toString();
    }
}
