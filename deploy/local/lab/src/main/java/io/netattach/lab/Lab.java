package io.netattach.lab;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Entry point of the local lab's stand-ins. Test infrastructure, not product: nothing in a service depends
 * on it. Sub-commands:
 * <pre>
 *   api-server --port 6443 --kubeconfig FILE [--apply FILE ...] [--event-ttl 60s] [--max-events 500]   the stand-in Kubernetes API server
 *   cluster --api URL --nodes a,b --cni-conf-dir DIR --cni-path DIRS  scheduler, controllers, kubelets
 *   otlp-sink --port 4318 --out FILE   the stand-in OpenTelemetry collector: spans received over OTLP/HTTP, one JSON line each
 *   bench-attach ..., bench-cni --node node1 --cni-conf-dir DIR --cni-path DIRS [--count 500] [--warmup 100]   benchmarks
 * </pre>
 */
public final class Lab {
    private Lab() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            usage();
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "api-server" -> LabApiServer.run(Options.parse(rest));
            case "cluster" -> LabCluster.run(Options.parse(rest));
            case "bench-attach" -> LabBench.run(Options.parse(rest));
            case "bench-cni" -> LabCniBench.run(Options.parse(rest));
            case "otlp-sink" -> OtlpSink.run(Options.parse(rest));
            default -> usage();
        }
    }

    /**
     * A client of the lab API server. It carries the kubeconfig's token ("lab"; the stand-in checks none): a fabric8
     * client without a token re-reads the kubeconfig and the environment before every request once its first
     * minute is over (TokenRefreshInterceptor finds no token to refresh and so never records a refresh), which was
     * ~18 % of the lab cluster process's sampled CPU in the attach benchmark.
     */
    static io.fabric8.kubernetes.client.KubernetesClient client(String url) {
        return client(url, io.fabric8.kubernetes.client.Config.DEFAULT_REQUEST_RETRY_BACKOFFLIMIT);
    }

    static io.fabric8.kubernetes.client.KubernetesClient client(String url, int retries) {
        return new io.fabric8.kubernetes.client.KubernetesClientBuilder().withConfig(new io.fabric8.kubernetes.client.ConfigBuilder()
                .withMasterUrl(url).withOauthToken(TOKEN).withRequestRetryBackoffLimit(retries).build()).build();
    }

    /** The bearer token of the lab's kubeconfig. */
    static final String TOKEN = "lab";

    private static void usage() {
        System.err.println("usage: lab api-server --port N --kubeconfig FILE [--apply FILE ...] [--event-ttl 60s] [--max-events 500] | lab cluster --api URL --nodes a,b --cni-conf-dir DIR --cni-path DIRS");
        System.exit(2);
    }

    /** Minimal option parsing: --name value pairs, a name may repeat. */
    record Options(java.util.Map<String, java.util.List<String>> values) {
        static Options parse(String[] args) {
            var map = new java.util.LinkedHashMap<String, java.util.List<String>>();
            for (int i = 0; i < args.length; i++) {
                if (!args[i].startsWith("--") || i + 1 >= args.length) {
                    throw new IllegalArgumentException("expected --name value, got \"" + args[i] + "\"");
                }
                map.computeIfAbsent(args[i].substring(2), k -> new java.util.ArrayList<>()).add(args[++i]);
            }
            return new Options(map);
        }

        String get(String name, String fallback) {
            var v = values.get(name);
            return v == null ? fallback : v.getLast();
        }

        java.util.List<String> all(String name) {
            return values.getOrDefault(name, java.util.List.of());
        }

        Path path(String name) {
            String v = get(name, null);
            if (v == null) {
                throw new IllegalArgumentException("missing --" + name);
            }
            return Path.of(v);
        }
    }
}
