package io.netattach.policy.kube;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import org.jboss.logging.Logger;

/** How policy-service starts its informers. */
final class Informers {
    private static final Logger LOG = Logger.getLogger(Informers.class);

    private Informers() {
    }

    /**
     * Starts an informer that never gives up: fabric8's default stops an informer for good at an error before its
     * first list (API server not reachable yet) and at watch errors other than 410 after it, which would leave
     * decisions failing closed (or, worse, served from a frozen cache) until a restart. Every error is logged and
     * retried with the client's backoff; readiness says whether the caches are synced.
     *
     * @param decisions what fails closed meanwhile, for the log ("RBAC", "policy")
     */
    static <T extends HasMetadata> SharedIndexInformer<T> start(SharedIndexInformer<T> informer, String what, String decisions) {
        informer.exceptionHandler((started, t) -> {
            LOG.warnf("informer on %s: %s; retrying (%s decisions fail closed until it has listed)", what,
                    t.getMessage() == null ? t.toString() : t.getMessage(), decisions);
            return true;
        });
        informer.start().whenComplete((v, e) -> {
            if (e != null) LOG.infof("informer on %s stopped: %s", what, e.getMessage());
        });
        return informer;
    }
}
