package io.netattach.lab;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Pod;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * netattach dropped into a cluster as a new user meets it: namespaces the lab knows nothing about, created by the
 * test, with no RBAC object; pods that ask for nothing; pods that must not start without their networks; sandboxes
 * made again under a pod; static addresses two pods ask for. Every namespace here is new per run.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DropInTest {
    private static final Duration ATTACH = Duration.ofSeconds(90);
    private static final Set<String> NPWG_FIELDS = Set.of("name", "interface", "ips", "mac", "mtu", "default", "dns", "device-info", "gateway");
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private LabWorld lab;

    @BeforeAll
    void up() throws Exception {
        lab = new LabWorld();
    }

    @AfterAll
    void close() {
        if (lab != null) {
            lab.close();
        }
    }

    /** A namespace of this run, created as a user does (kubectl create namespace), and nothing else in it. */
    private String newNamespace(String prefix) {
        String ns = prefix + "-" + UUID.randomUUID().toString().substring(0, 6);
        lab.applyYaml("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n");
        return ns;
    }


    static String macvlanNad(String ns, String name, String ipam) {
        return """
                apiVersion: k8s.cni.cncf.io/v1
                kind: NetworkAttachmentDefinition
                metadata:
                  name: %s
                  namespace: %s
                spec:
                  config: '{"cniVersion": "0.3.1", "type": "macvlan", "master": "eth1", "mode": "bridge", "ipam": %s}'
                """.formatted(name, ns, ipam);
    }

    static String pod(String ns, String name, String networks) {
        return """
                apiVersion: v1
                kind: Pod
                metadata:
                  name: %s
                  namespace: %s
                  annotations:
                    k8s.v1.cni.cncf.io/networks: '%s'
                spec:
                  containers: [{name: app, image: nicolaka/netshoot}]
                """.formatted(name, ns, networks);
    }

    @Test
    void aFreshNamespaceWithNoRbacObjectsGetsItsNetworksInBothAnnotationSyntaxesWithASpecNetworkStatus() throws Exception {
        String ns = newNamespace("tenant");
        lab.applyYaml(macvlanNad(ns, "lan", "{\"type\": \"host-local\", \"subnet\": \"10.61.0.0/24\", \"rangeStart\": \"10.61.0.10\", \"rangeEnd\": \"10.61.0.50\"}"));
        lab.applyYaml(pod(ns, "json-syntax", "[{\"name\": \"lan\", \"interface\": \"lan0\"}]"));
        // the comma syntax, naming one NAD of the pod's namespace and one of the global namespace default
        lab.apply("01-macvlan-network.yaml");
        lab.applyYaml(pod(ns, "comma-syntax", "lan, default/macvlan-conf"));

        Pod json = ready(ns, "json-syntax");
        assertTrue(onlyIpv4(json, "lan0").startsWith("10.61.0."), "lan0 of json-syntax");
        Pod comma = ready(ns, "comma-syntax");
        assertTrue(onlyIpv4(comma, "net1").startsWith("10.61.0."), "net1 (lan) of comma-syntax");
        assertTrue(onlyIpv4(comma, "net2").startsWith("192.168.1."), "net2 (default/macvlan-conf) of comma-syntax");

        JsonNode status = LabWorld.JSON.readTree(comma.getMetadata().getAnnotations().get("k8s.v1.cni.cncf.io/network-status"));
        assertEquals(3, status.size(), "the cluster network and two secondaries: " + status);
        JsonNode cluster = status.get(0);
        assertTrue(cluster.path("default").asBoolean(), "the first entry is the cluster network, default: " + cluster);
        assertEquals("eth0", cluster.path("interface").asText(), "cluster network interface: " + cluster);
        assertEquals(onlyIpv4(comma, "eth0"), cluster.path("ips").get(0).asText(), "the cluster network's address, from the primary CNI's result");
        assertEquals(LabWorld.ip(LabWorld.netnsOf(comma), "link", "show", "dev", "eth0").get(0).path("address").asText(), cluster.path("mac").asText());
        assertEquals(List.of(ns + "/lan", "default/macvlan-conf"), List.of(status.get(1).path("name").asText(), status.get(2).path("name").asText()));
        for (JsonNode entry : status) {
            Set<String> fields = new HashSet<>();
            entry.fieldNames().forEachRemaining(fields::add);
            assertTrue(NPWG_FIELDS.containsAll(fields), "only fields of the NPWG spec: " + entry);
            if (entry != cluster) assertFalse(entry.path("default").asBoolean(), "a secondary is not default: " + entry);
        }
    }

    @Test
    void aPodThatAsksForNoNetworkPassesThroughTheShimAndStarts() throws Exception {
        String ns = newNamespace("plain");
        lab.applyYaml("""
                apiVersion: v1
                kind: Pod
                metadata:
                  name: nothing-asked
                  namespace: %s
                spec:
                  containers: [{name: app, image: nicolaka/netshoot}]
                """.formatted(ns));
        String node = LabWorld.waitFor("nothing-asked scheduled", ATTACH, () -> {
            Pod p = lab.pod(ns, "nothing-asked");
            return p == null ? null : p.getSpec().getNodeName();
        });
        Pod p = ready(ns, "nothing-asked");
        assertEquals(List.of("eth0", "lo"), links(p), "the primary CNI's interface only");
        // counted by the pod's own node-worker as passed through: it knew the pod asks for nothing
        double passed = LabWorld.waitFor("a no-networks ADD counted on " + node, ATTACH, () -> {
            double n = addsCounted(node, "no-networks");
            return n >= 1 ? n : null;
        });
        assertTrue(passed >= 1);
        assertEquals(null, p.getMetadata().getAnnotations() == null ? null : p.getMetadata().getAnnotations().get("k8s.v1.cni.cncf.io/network-status"),
                "no network-status for a pod that asks for nothing");
    }

    @Test
    void theSeedsRoleGatesANadThatAsksForRbacAndADeniedPodDoesNotStart() throws Exception {
        String ns = newNamespace("rbac");
        String gated = macvlanNad(ns, "macvlan-conf", "{\"type\": \"host-local\", \"subnet\": \"10.63.0.0/24\", \"rangeStart\": \"10.63.0.10\", \"rangeEnd\": \"10.63.0.50\"}")
                .replace("  namespace: " + ns + "\n", "  namespace: " + ns + "\n  annotations:\n    policy.netattach.io/require-rbac: \"true\"\n");
        lab.applyYaml(gated);
        lab.applyYaml(gated.replace("name: macvlan-conf", "name: bridge-conf").replace("10.63.0.", "10.64.0."));
        // the seed's Role (deploy/examples/10-restrict-network-access.yaml) in this namespace, bound as a user would
        String role = java.nio.file.Files.readString(LabWorld.EXAMPLES.resolve("10-restrict-network-access.yaml")).replace("namespace: default", "namespace: " + ns);
        lab.applyYaml(role);
        lab.applyYaml("""
                apiVersion: v1
                kind: ServiceAccount
                metadata: {name: restricted, namespace: %1$s}
                ---
                apiVersion: rbac.authorization.k8s.io/v1
                kind: RoleBinding
                metadata: {name: restricted-network-user, namespace: %1$s}
                roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: network-user}
                subjects:
                - {kind: ServiceAccount, name: restricted, namespace: %1$s}
                """.formatted(ns));
        String withSa = "spec:\n  serviceAccountName: restricted\n";
        lab.applyYaml(pod(ns, "restricted-macvlan", "macvlan-conf").replace("spec:\n", withSa));
        lab.applyYaml(pod(ns, "restricted-bridge", "bridge-conf").replace("spec:\n", withSa));
        lab.applyYaml(pod(ns, "unbound-macvlan", "macvlan-conf"));

        Pod allowed = ready(ns, "restricted-macvlan");
        assertTrue(onlyIpv4(allowed, "net1").startsWith("10.63.0."));
        for (String denied : List.of("restricted-bridge", "unbound-macvlan")) {
            String network = denied.equals("restricted-bridge") ? "bridge-conf" : "macvlan-conf";
            String event = sandboxFailure(ns, denied);
            assertTrue(event.contains(ns + "/" + network) && event.contains("NetworkDenied"), "the kubelet's event names the network and the reason: " + event);
            assertFalse(isReady(lab.pod(ns, denied)), denied + " must not start without the network it asked for");
            lab.client.pods().inNamespace(ns).withName(denied).delete();
        }
    }

    @Test
    void aPodWhoseNadIsMissingWaitsAndStartsWithItOnceTheNadIsCreated() throws Exception {
        String ns = newNamespace("late");
        lab.applyYaml(pod(ns, "early", "later-net"));
        String event = sandboxFailure(ns, "early");
        assertTrue(event.contains(ns + "/later-net") && event.contains("NetworkNotFound"), "names the missing NAD: " + event);
        assertFalse(isReady(lab.pod(ns, "early")));
        lab.applyYaml(macvlanNad(ns, "later-net", "{\"type\": \"host-local\", \"subnet\": \"10.65.0.0/24\", \"rangeStart\": \"10.65.0.10\", \"rangeEnd\": \"10.65.0.50\"}"));
        Pod p = ready(ns, "early");
        assertTrue(onlyIpv4(p, "net1").startsWith("10.65.0."), "net1 once the NAD exists");
    }

    @Test
    void aReCreatedSandboxGetsItsInterfacesBackWithTheSameAddressAndAFreshStatus() throws Exception {
        String ns = newNamespace("reboot");
        lab.applyYaml(macvlanNad(ns, "lan", "{\"type\": \"whereabouts\", \"range\": \"10.66.0.0/24\"}"));
        lab.applyYaml(pod(ns, "survivor", "lan"));
        Pod before = ready(ns, "survivor");
        String ip = onlyIpv4(before, "net1");
        String macBefore = statusMac(before, "net1");
        String netns = LabWorld.netnsOf(before);
        // what a runtime restart or a reboot does to a sandbox: its namespace and every interface in it are gone
        LabWorld.run(List.of("ip", "netns", "delete", netns));
        Pod after = LabWorld.waitFor("survivor's sandbox made again with net1 and a status that matches it", ATTACH, () -> {
            Pod p = lab.pod(ns, "survivor");
            if (LabWorld.exitCode(List.of("ip", "-n", netns, "link", "show", "dev", "net1")) != 0) return null;
            String kernelMac = LabWorld.ip(netns, "link", "show", "dev", "net1").get(0).path("address").asText();
            return kernelMac.equals(statusMac(p, "net1")) ? p : null;
        });
        assertEquals(ip, onlyIpv4(after, "net1"), "the same address in the new sandbox");
        assertNotEquals(macBefore, statusMac(after, "net1"), "network-status describes the new interface, not the lost one");
        assertTrue(isReady(after));
    }

    @Test
    void twoPodsOfAStaticNadNeverShareItsAddressTheSecondIsRefusedNamingTheHolder() throws Exception {
        String ns = newNamespace("static");
        lab.applyYaml(macvlanNad(ns, "fixed", "{\"type\": \"static\", \"addresses\": [{\"address\": \"10.67.0.5/24\"}]}"));
        lab.applyYaml(pod(ns, "first", "fixed"));
        Pod first = ready(ns, "first");
        assertEquals("10.67.0.5", onlyIpv4(first, "net1"));
        lab.applyYaml(pod(ns, "second", "fixed"));
        String event = sandboxFailure(ns, "second");
        assertTrue(event.contains("10.67.0.5") && event.contains("held by " + ns + "/first"), "the refusal names the address and its holder: " + event);
        assertFalse(isReady(lab.pod(ns, "second")));
        // once the holder is gone, the address is the second pod's (the kubelet keeps retrying its sandbox)
        lab.client.pods().inNamespace(ns).withName("first").delete();
        Pod second = ready(ns, "second");
        assertEquals("10.67.0.5", onlyIpv4(second, "net1"));
    }

    // --- helpers -------------------------------------------------------------------------------------

    private Pod ready(String ns, String name) {
        return LabWorld.waitFor(ns + "/" + name + " Ready", ATTACH, () -> {
            Pod p = lab.pod(ns, name);
            return isReady(p) ? p : null;
        });
    }

    private static boolean isReady(Pod p) {
        return p != null && p.getStatus() != null && p.getStatus().getConditions() != null
                && p.getStatus().getConditions().stream().anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
    }

    /** The kubelet's Warning Event for a failed sandbox of the pod: its message carries the CNI error. */
    private String sandboxFailure(String ns, String pod) {
        return LabWorld.waitFor("a FailedCreatePodSandBox event on " + ns + "/" + pod, ATTACH, () -> lab.client.v1().events()
                .inNamespace(ns).list().getItems().stream()
                .filter(e -> pod.equals(e.getInvolvedObject().getName()) && "FailedCreatePodSandBox".equals(e.getReason()) && "Warning".equals(e.getType()))
                .map(e -> e.getMessage()).findFirst().orElse(null));
    }

    private static String statusMac(Pod p, String iface) {
        try {
            String status = p.getMetadata().getAnnotations().get("k8s.v1.cni.cncf.io/network-status");
            if (status == null) return null;
            for (JsonNode e : LabWorld.JSON.readTree(status)) {
                if (iface.equals(e.path("interface").asText())) return e.path("mac").asText();
            }
            return null;
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    private static List<String> links(Pod p) {
        List<String> out = new ArrayList<>();
        LabWorld.ip(LabWorld.netnsOf(p), "link", "show").forEach(l -> out.add(l.path("ifname").asText()));
        out.sort(String::compareTo);
        return out;
    }

    private static String onlyIpv4(Pod pod, String iface) {
        List<String> ips = new ArrayList<>();
        for (JsonNode a : LabWorld.ip(LabWorld.netnsOf(pod), "-4", "addr", "show", "dev", iface)) {
            for (JsonNode info : a.path("addr_info")) ips.add(info.path("local").asText());
        }
        assertEquals(1, ips.size(), "IPv4 addresses on " + iface + ": " + ips);
        return ips.getFirst();
    }

    /** netattach_node_cni_adds_total of an outcome on a node's worker (node<i> serves on 8090+i). */
    private static double addsCounted(String node, String outcome) {
        int port = 8090 + Integer.parseInt(node.substring("node".length()));
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            Matcher m = Pattern.compile("^netattach_node_cni_adds_total\\{[^}]*outcome=\"" + Pattern.quote(outcome) + "\"[^}]*} ([0-9.eE+]+)$",
                    Pattern.MULTILINE).matcher(r.body());
            return m.find() ? Double.parseDouble(m.group(1)) : 0;
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
