package io.netattach.policy.api;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready only while the consumer of netattach.policy.requests polls (attach-service asks there). */
@Readiness
@ApplicationScoped
public class RequestsReadiness implements HealthCheck {
    @Inject PolicyKafka kafka;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("kafka-policy-requests").status(kafka.listening()).build();
    }
}
