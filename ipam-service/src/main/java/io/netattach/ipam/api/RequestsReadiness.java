package io.netattach.ipam.api;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready only while the Kafka request consumer polls (REST works without it, attach-service does not). */
@Readiness
@ApplicationScoped
public class RequestsReadiness implements HealthCheck {
    @Inject IpamRequestConsumer consumer;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("kafka-ipam-requests").status(consumer.listening()).build();
    }
}
