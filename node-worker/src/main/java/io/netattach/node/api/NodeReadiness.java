package io.netattach.node.api;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready once the sandbox socket listens and the broker confirmed the partition this node reads its commands from.
 * Whether the Kafka channels are connected and alive is the connector's own check, beside this one.
 */
@Readiness
@ApplicationScoped
public class NodeReadiness implements HealthCheck {
    @Inject NodeWorker worker;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("node-worker").status(worker.ready()).withData("node", String.valueOf(worker.nodeName()))
                .withData("commands", worker.commands()).build();
    }
}
