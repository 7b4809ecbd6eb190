package io.netattach.node.api;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready once the node's command partition is assigned and the sandbox socket listens. */
@Readiness
@ApplicationScoped
public class NodeReadiness implements HealthCheck {
    @Inject NodeWorker worker;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("node-worker").status(worker.ready()).withData("node", String.valueOf(worker.nodeName())).build();
    }
}
