package io.netattach.attach.deploy;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The node-worker DaemonSet is exactly what docs/operations.md, "node-worker security context", says. */
class NodeWorkerSecurityContextTest {

    static List<RenderedManifests> overlays() {
        return List.of(RenderedManifests.of("overlays/single-cluster"), RenderedManifests.of("overlays/multi-cluster-member"));
    }

    private static PodSpec pod(RenderedManifests r) {
        return r.get(DaemonSet.class, "node-worker").getSpec().getTemplate().getSpec();
    }

    private static List<Container> containers(PodSpec spec) {
        return Stream.concat(Stream.ofNullable(spec.getInitContainers()).flatMap(List::stream), spec.getContainers().stream()).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("overlays")
    void everyContainersSecurityContextIsTheDocumentedOne(RenderedManifests rendered) {
        PodSpec spec = pod(rendered);
        List<Map<String, String>> documented = OperationsDocTables.table("node-worker-containers");
        List<String> documentedNames = new ArrayList<>();
        for (Map<String, String> row : documented) {
            boolean init = row.get("container").endsWith("(init)");
            String name = row.get("container").replace("(init)", "").strip();
            documentedNames.add(name);
            List<Container> where = init ? spec.getInitContainers() : spec.getContainers();
            Container c = where.stream().filter(x -> name.equals(x.getName())).findFirst()
                    .orElseThrow(() -> new AssertionError("documented " + (init ? "init " : "") + "container " + name + " is not in the DaemonSet"));
            SecurityContext sc = c.getSecurityContext();
            String what = "node-worker DaemonSet, container " + name + " in " + rendered + ": ";
            assertEquals(Boolean.valueOf(row.get("privileged")), sc.getPrivileged(), what + "privileged");
            assertEquals(Long.valueOf(row.get("runAsUser")), sc.getRunAsUser(), what + "runAsUser");
            assertEquals(Boolean.valueOf(row.get("allowPrivilegeEscalation")), sc.getAllowPrivilegeEscalation(), what + "allowPrivilegeEscalation");
            assertEquals(Boolean.valueOf(row.get("readOnlyRootFilesystem")), sc.getReadOnlyRootFilesystem(), what + "readOnlyRootFilesystem");
            List<String> added = sc.getCapabilities() == null || sc.getCapabilities().getAdd() == null ? List.of()
                    : sc.getCapabilities().getAdd().stream().sorted().toList();
            assertEquals(OperationsDocTables.list(row.get("capabilities added")), added, what + "capabilities added");
            assertEquals(OperationsDocTables.list(row.get("capabilities dropped")), sc.getCapabilities().getDrop().stream().sorted().toList(),
                    what + "capabilities dropped");
        }
        assertEquals(new TreeSet<>(documentedNames), new TreeSet<>(containers(spec).stream().map(Container::getName).toList()),
                "every container of the DaemonSet is documented, and only those");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("overlays")
    void podLevelSettingsAreTheDocumentedOnes(RenderedManifests rendered) {
        PodSpec spec = pod(rendered);
        Map<String, Object> actual = new java.util.HashMap<>();
        actual.put("hostNetwork", Boolean.TRUE.equals(spec.getHostNetwork()));
        actual.put("hostPID", Boolean.TRUE.equals(spec.getHostPID()));
        actual.put("hostIPC", Boolean.TRUE.equals(spec.getHostIPC()));
        actual.put("automountServiceAccountToken", !Boolean.FALSE.equals(spec.getAutomountServiceAccountToken()));
        actual.put("seccompProfile", spec.getSecurityContext().getSeccompProfile().getType());
        for (Map<String, String> row : OperationsDocTables.table("node-worker-pod")) {
            String key = row.get("setting");
            assertTrue(actual.containsKey(key), "documented setting " + key + " is not checked");
            assertEquals(row.get("value"), String.valueOf(actual.get(key)), "node-worker pod " + key + " in " + rendered);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("overlays")
    void hostPathsAreExactlyTheDocumentedMounts(RenderedManifests rendered) {
        PodSpec spec = pod(rendered);
        Map<String, String> hostPathOfVolume = new java.util.HashMap<>();
        for (Volume v : spec.getVolumes()) {
            if (v.getHostPath() != null) hostPathOfVolume.put(v.getName(), v.getHostPath().getPath());
        }
        Set<String> actual = new TreeSet<>();
        for (Container c : containers(spec)) {
            for (VolumeMount m : Objects.requireNonNullElse(c.getVolumeMounts(), List.<VolumeMount>of())) {
                String host = hostPathOfVolume.get(m.getName());
                if (host != null) actual.add(host + " -> " + c.getName() + ":" + m.getMountPath() + " ro=" + Boolean.TRUE.equals(m.getReadOnly()));
            }
        }
        Set<String> documented = new TreeSet<>();
        for (Map<String, String> row : OperationsDocTables.table("node-worker-host-paths")) {
            for (String container : OperationsDocTables.list(row.get("containers"))) {
                documented.add(row.get("host path") + " -> " + container + ":" + row.get("mounted at") + " ro=" + row.get("read-only"));
            }
        }
        assertEquals(documented, actual, "host paths of the node-worker DaemonSet vs docs/operations.md");
    }

    @Test
    void podNetnsMountSeesNamespacesPinnedAfterTheWorkerStarted() {
        Container worker = pod(RenderedManifests.of("overlays/single-cluster")).getContainers().stream()
                .filter(c -> "node-worker".equals(c.getName())).findFirst().orElseThrow();
        VolumeMount netns = worker.getVolumeMounts().stream().filter(m -> "/var/run/netns".equals(m.getMountPath())).findFirst().orElseThrow();
        assertEquals("HostToContainer", netns.getMountPropagation());
    }

    @Test
    void workerWritesSysctlsThroughTheWritableMountOfTheNodesProcSysNet() {
        PodSpec spec = pod(RenderedManifests.of("overlays/single-cluster"));
        Container worker = spec.getContainers().stream().filter(c -> "node-worker".equals(c.getName())).findFirst().orElseThrow();
        String root = worker.getEnv().stream().filter(e -> "NETATTACH_NODE_PROC_SYS".equals(e.getName())).findFirst().orElseThrow().getValue();
        VolumeMount net = worker.getVolumeMounts().stream().filter(m -> (root + "/net").equals(m.getMountPath())).findFirst()
                .orElseThrow(() -> new AssertionError("nothing mounted at " + root + "/net"));
        assertFalse(Boolean.TRUE.equals(net.getReadOnly()), "sysctls are written");
        Volume volume = spec.getVolumes().stream().filter(v -> v.getName().equals(net.getName())).findFirst().orElseThrow();
        assertEquals("/proc/sys/net", volume.getHostPath().getPath(), "only the network sysctls of the node");
    }

    @Test
    void workerGetsItsNodeNameFromTheDownwardApi() {
        Container worker = pod(RenderedManifests.of("overlays/single-cluster")).getContainers().stream()
                .filter(c -> "node-worker".equals(c.getName())).findFirst().orElseThrow();
        var nodeName = worker.getEnv().stream().filter(e -> "NODE_NAME".equals(e.getName())).findFirst().orElseThrow();
        assertEquals("spec.nodeName", nodeName.getValueFrom().getFieldRef().getFieldPath());
    }

    @Test
    void privilegedComponentIsTheOnlyWayToAPrivilegedWorker() {
        for (RenderedManifests r : overlays()) {
            assertFalse(containers(pod(r)).stream().anyMatch(c -> Boolean.TRUE.equals(c.getSecurityContext().getPrivileged())), r.toString());
        }
        RenderedManifests withComponent = RenderedManifests.withComponents("overlays/single-cluster",
                "components/servicemonitor", "components/node-worker-privileged");
        Container worker = pod(withComponent).getContainers().stream().filter(c -> "node-worker".equals(c.getName())).findFirst().orElseThrow();
        assertEquals(Boolean.TRUE, worker.getSecurityContext().getPrivileged());
    }
}
