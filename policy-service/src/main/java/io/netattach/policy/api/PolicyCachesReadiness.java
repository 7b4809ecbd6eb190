package io.netattach.policy.api;

import io.netattach.policy.config.PolicySettings;
import io.netattach.policy.kube.PolicyInformers;
import io.netattach.policy.kube.RbacInformers;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready when the caches the configured rules read have listed once (until then every decision fails closed). */
@Readiness
@ApplicationScoped
public class PolicyCachesReadiness implements HealthCheck {
    @Inject PolicySettings settings;
    @Inject RbacInformers rbac;
    @Inject PolicyInformers policies;

    @Override
    public HealthCheckResponse call() {
        boolean rbacNeeded = settings.rbac().enabled() && "local".equals(settings.rbac().evaluator());
        boolean rbacOk = !rbacNeeded || rbac.ready();
        boolean policiesOk = !settings.crd().enabled() || policies.ready();
        return HealthCheckResponse.named("policy-caches").status(rbacOk && policiesOk)
                .withData("rbac", rbacNeeded ? String.valueOf(rbacOk) : "not used")
                .withData("policies", settings.crd().enabled() ? String.valueOf(policiesOk) : "not used").build();
    }
}
