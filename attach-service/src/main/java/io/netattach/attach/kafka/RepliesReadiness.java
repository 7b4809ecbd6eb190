package io.netattach.attach.kafka;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready only while the answers of policy, IPAM and nodes can reach us. */
@Readiness
@ApplicationScoped
public class RepliesReadiness implements HealthCheck {
    @Inject Bus bus;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("kafka-replies").status(bus.listening()).build();
    }
}
