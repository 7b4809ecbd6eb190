package io.netattach.attach.deploy;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Every container (init containers included) of every workload in a rendering, with where it is. */
final class PodTemplates {
    record Located(String workload, boolean init, Container container) {
        @Override
        public String toString() {
            return workload + "/" + container.getName();
        }
    }

    private PodTemplates() {
    }

    static List<Located> containers(RenderedManifests rendered) {
        List<Located> all = new ArrayList<>();
        for (Deployment d : rendered.all(Deployment.class)) add(all, "Deployment " + d.getMetadata().getName(), d.getSpec().getTemplate().getSpec());
        for (DaemonSet d : rendered.all(DaemonSet.class)) add(all, "DaemonSet " + d.getMetadata().getName(), d.getSpec().getTemplate().getSpec());
        return all;
    }

    private static void add(List<Located> all, String workload, PodSpec spec) {
        Stream.ofNullable(spec.getInitContainers()).flatMap(List::stream).forEach(c -> all.add(new Located(workload, true, c)));
        Stream.ofNullable(spec.getContainers()).flatMap(List::stream).forEach(c -> all.add(new Located(workload, false, c)));
    }
}
