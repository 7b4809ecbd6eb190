package io.netattach.policy.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.netattach.policy.domain.AccessReview;
import io.netattach.policy.domain.DecisionCache;
import io.netattach.policy.domain.NamespaceIsolation;
import io.netattach.policy.domain.PolicyGate;
import io.netattach.policy.domain.ServiceAccountAccess;
import io.netattach.policy.domain.crd.AttachmentPolicies;
import io.netattach.policy.domain.rbac.LocalAccessReview;
import io.netattach.policy.kube.PodEvents;
import io.netattach.policy.kube.PolicyInformers;
import io.netattach.policy.kube.PolicyStatus;
import io.netattach.policy.kube.RbacInformers;
import io.netattach.policy.kube.SubjectAccessReviews;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import org.jboss.logging.Logger;

import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** Builds the gate from configuration and starts the informers the configured rules read. */
@ApplicationScoped
public class Wiring {
    private static final Logger LOG = Logger.getLogger(Wiring.class);
    @Inject PolicySettings settings;
    @Inject KubernetesClient client;
    @Inject ObjectMapper json;
    private ScheduledExecutorService statusWriter;

    @Produces @Singleton
    SubjectAccessReviews subjectAccessReviews() {
        return new SubjectAccessReviews(client);
    }

    @Produces @Singleton
    RbacInformers rbacInformers() {
        return new RbacInformers(client);
    }

    @Produces @Singleton
    PolicyInformers policyInformers() {
        return new PolicyInformers(client, json);
    }

    @Produces @Singleton
    PodEvents podEvents() {
        return new PodEvents(client, "policy-service");
    }

    @Produces @Singleton
    PolicyStatus policyStatus() {
        return new PolicyStatus(client);
    }

    @Produces @Singleton
    PolicyGate gate(SubjectAccessReviews sar, RbacInformers rbac, PolicyInformers policies) {
        AccessReview review = switch (settings.rbac().evaluator()) {
            case "sar" -> sar;
            case "local" -> new LocalAccessReview(rbac);
            default -> throw new IllegalArgumentException("netattach.policy.rbac.evaluator: \"" + settings.rbac().evaluator()
                    + "\" is not one of sar, local");
        };
        return new PolicyGate(
                new NamespaceIsolation(settings.namespaceIsolation().enabled(), Set.copyOf(settings.namespaceIsolation().globalNamespaces().orElse(List.of()))),
                new ServiceAccountAccess(settings.rbac().enabled(), settings.rbac().verb(), review),
                new AttachmentPolicies(settings.crd().enabled(), settings.crd().defaultDeny(), policies),
                settings.failOpen(), new DecisionCache(settings.cacheTtl(), Clock.systemUTC()));
    }

    void onStart(@Observes StartupEvent ev, PolicyGate gate, RbacInformers rbac, PolicyInformers policies, PolicyStatus status) {
        if (settings.rbac().enabled() && "local".equals(settings.rbac().evaluator())) rbac.start();
        if (settings.crd().enabled()) {
            policies.start();
            long ms = settings.crd().statusInterval().toMillis();
            statusWriter = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("policy-status").unstarted(r));
            statusWriter.scheduleWithFixedDelay(status::flush, ms, ms, TimeUnit.MILLISECONDS);
        }
        if (settings.failOpen()) {
            LOG.error("netattach.policy.fail-open=true: EMERGENCY MODE. Networks are ALLOWED whenever the API server cannot be asked. "
                    + "Turn it off as soon as the API server is reachable again.");
        }
        LOG.infof("policy rules: namespace-isolation=%s (global %s), rbac=%s (verb %s, evaluator %s), policy CRDs=%s (default-deny %s), cache %s",
                settings.namespaceIsolation().enabled(), settings.namespaceIsolation().globalNamespaces().orElse(List.of()),
                settings.rbac().enabled(), settings.rbac().verb(), settings.rbac().evaluator(),
                settings.crd().enabled(), settings.crd().defaultDeny(), settings.cacheTtl());
    }

    void onStop(@Observes ShutdownEvent ev, RbacInformers rbac, PolicyInformers policies, PolicyStatus status) {
        if (statusWriter != null) {
            statusWriter.shutdownNow();
            status.flush();
        }
        rbac.close();
        policies.close();
    }
}
