package io.netattach.attach.kube;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready once the NetworkAttachmentDefinition cache is filled from the API server. Without an API server the
 * service still starts (liveness stays UP) and says here which server it keeps trying.
 */
@Readiness
@ApplicationScoped
public class KubernetesReadiness implements HealthCheck {
    @Inject ClusterView cluster;

    @Override
    public HealthCheckResponse call() {
        boolean synced = cluster.definitionsSynced();
        return HealthCheckResponse.named("kubernetes-api").status(synced)
                .withData("apiServer", cluster.apiServer())
                .withData("networkAttachmentDefinitions", synced ? "synced" : "not synced yet (API server unreachable or still listing)")
                .build();
    }
}
