package io.netattach.policy.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.netattach.policy.domain.AccessReview;
import io.netattach.policy.domain.DecisionCache;
import io.netattach.policy.domain.NamespaceIsolation;
import io.netattach.policy.domain.PolicyGate;
import io.netattach.policy.domain.ServiceAccountAccess;
import io.netattach.policy.domain.Setting;
import io.netattach.policy.domain.crd.AttachmentPolicies;
import io.netattach.policy.domain.nad.NetworkDefinition;
import io.netattach.policy.domain.rbac.LocalAccessReview;
import io.netattach.policy.kube.NetworkDefinitionInformer;
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
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/** Builds the gate from configuration and starts the informers the configured rules read. */
@ApplicationScoped
public class Wiring {
    private static final Logger LOG = Logger.getLogger(Wiring.class);
    /** A namespace name: an RFC 1123 label. */
    private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern VERB = Pattern.compile("[A-Za-z][A-Za-z0-9-]*");
    @Inject PolicySettings settings;
    @Inject KubernetesClient client;
    @Inject ObjectMapper json;
    @org.eclipse.microprofile.config.inject.ConfigProperty(name = "netattach.cluster-id") String clusterId;
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
    NetworkDefinitionInformer networkDefinitions() {
        return new NetworkDefinitionInformer(client);
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
    PolicyGate gate(SubjectAccessReviews sar, RbacInformers rbac, NetworkDefinitionInformer networks, PolicyInformers policies) {
        AccessReview review = switch (settings.rbac().evaluator()) {
            case "sar" -> sar;
            case "local" -> new LocalAccessReview(rbac);
            default -> throw new IllegalArgumentException(Setting.RBAC_EVALUATOR + ": \"" + settings.rbac().evaluator()
                    + "\" is not one of sar, local");
        };
        return new PolicyGate(
                new NamespaceIsolation(settings.namespaceIsolation().enabled(), globalNamespaces(settings.namespaceIsolation().globalNamespaces())),
                new ServiceAccountAccess(settings.rbac().enabled(), verb(settings.rbac().verb()), review, networks, clusterId),
                new AttachmentPolicies(settings.crd().enabled(), settings.crd().defaultDeny(), policies),
                settings.failOpen(), new DecisionCache(settings.cacheTtl(), Clock.systemUTC()));
    }

    /** The global namespaces as set, blanks around names ignored; an empty value is none. */
    static Set<String> globalNamespaces(Optional<List<String>> value) {
        Set<String> out = new TreeSet<>();
        for (String item : value.orElse(List.of())) {
            String ns = item.strip();
            if (ns.isEmpty()) continue;
            if (!NAMESPACE.matcher(ns).matches()) {
                throw new IllegalArgumentException(Setting.GLOBAL_NAMESPACES + ": \"" + item + "\" is not a namespace name (lower-case letters, "
                        + "digits and '-', at most 63, starting and ending with a letter or digit); set it empty for no global namespace");
            }
            out.add(ns);
        }
        return out;
    }

    static String verb(String value) {
        String verb = value.strip();
        if (!VERB.matcher(verb).matches()) {
            throw new IllegalArgumentException(Setting.RBAC_VERB + ": \"" + value + "\" is not one verb (e.g. get, use)");
        }
        return verb;
    }

    void onStart(@Observes StartupEvent ev, PolicyGate gate, RbacInformers rbac, NetworkDefinitionInformer networks, PolicyInformers policies,
                 PolicyStatus status) {
        // a NAD may require RBAC by its annotation with the switch off: the local evaluator's caches are always read
        if ("local".equals(settings.rbac().evaluator())) rbac.start();
        // with the switch on every NAD requires RBAC, and no decision needs to know the NADs
        if (!settings.rbac().enabled()) networks.start();
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
        LOG.infof("policy rules: namespace-isolation=%s (global %s), rbac required by %s (verb %s, evaluator %s), policy CRDs=%s (default-deny %s), cache %s",
                settings.namespaceIsolation().enabled(), globalNamespaces(settings.namespaceIsolation().globalNamespaces()),
                settings.rbac().enabled() ? "every NAD" : "NADs annotated " + NetworkDefinition.REQUIRE_RBAC,
                settings.rbac().verb(), settings.rbac().evaluator(),
                settings.crd().enabled(), settings.crd().defaultDeny(), settings.cacheTtl());
    }

    void onStop(@Observes ShutdownEvent ev, RbacInformers rbac, NetworkDefinitionInformer networks, PolicyInformers policies, PolicyStatus status) {
        if (statusWriter != null) {
            statusWriter.shutdownNow();
            status.flush();
        }
        rbac.close();
        networks.close();
        policies.close();
    }
}
