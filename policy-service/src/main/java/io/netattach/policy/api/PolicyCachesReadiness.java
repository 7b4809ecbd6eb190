package io.netattach.policy.api;

import io.netattach.policy.config.PolicySettings;
import io.netattach.policy.kube.NetworkDefinitionInformer;
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
    @Inject NetworkDefinitionInformer networks;

    @Override
    public HealthCheckResponse call() {
        // any NAD may require RBAC by its annotation, so the local evaluator's caches are read even with the switch off
        boolean rbacNeeded = "local".equals(settings.rbac().evaluator());
        boolean rbacOk = !rbacNeeded || rbac.ready();
        boolean networksNeeded = !settings.rbac().enabled();
        boolean networksOk = !networksNeeded || networks.ready();
        boolean policiesOk = !settings.crd().enabled() || policies.ready();
        return HealthCheckResponse.named("policy-caches").status(rbacOk && networksOk && policiesOk)
                .withData("rbac", rbacNeeded ? String.valueOf(rbacOk) : "not used")
                .withData("networks", networksNeeded ? String.valueOf(networksOk) : "not used")
                .withData("policies", settings.crd().enabled() ? String.valueOf(policiesOk) : "not used").build();
    }
}
