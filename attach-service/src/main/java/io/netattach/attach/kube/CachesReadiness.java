package io.netattach.attach.kube;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready only once the NAD cache (and, on the leader, the pod cache) has been listed from the API server. */
@Readiness
@ApplicationScoped
public class CachesReadiness implements HealthCheck {
    @Inject ClusterView cluster;

    @Override
    public HealthCheckResponse call() {
        var missing = cluster.notSynced();
        var r = HealthCheckResponse.named("kubernetes-caches").status(missing.isEmpty());
        missing.ifPresent(m -> r.withData("waiting", m));
        return r.build();
    }
}
