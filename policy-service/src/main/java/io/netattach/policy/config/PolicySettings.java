package io.netattach.policy.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** Every rule's switch and setting; each key can be set by environment variable (NETATTACH_POLICY_...). See docs/policy.md. */
@ConfigMapping(prefix = "netattach.policy")
public interface PolicySettings {
    NamespaceIsolation namespaceIsolation();

    Rbac rbac();

    Crd crd();

    /** Emergency switch: allow when the API server cannot be asked. Logged at ERROR on start and on every such decision. */
    @WithDefault("false")
    boolean failOpen();

    /** How long to keep asking while a rule is unavailable before answering "policy unavailable"; 0s = answer at once. */
    @WithDefault("3s")
    Duration unavailableRetryFor();

    /** How long a decision is reused for identical inputs; 0s turns the cache off. */
    @WithDefault("5s")
    Duration cacheTtl();

    /** Write a Kubernetes Event on the pod for every denial. */
    @WithDefault("true")
    boolean podEvents();

    interface NamespaceIsolation {
        @WithDefault("true")
        boolean enabled();

        /**
         * Namespaces whose NADs every pod may use (Multus globalNamespaces), comma-separated. Default {@code default},
         * as Multus; an explicitly empty value (e.g. the environment variable set to "") means none.
         */
        @WithDefault("default")
        Optional<List<String>> globalNamespaces();
    }

    interface Rbac {
        /**
         * True: every NAD requires the RBAC rule. False: only NADs annotated
         * policy.netattach.io/require-rbac (read by an informer), so Multus YAMLs work with no RBAC objects.
         */
        @WithDefault("false")
        boolean enabled();

        /** The verb the pod's service account needs on the NAD: "get", so Roles written for Multus count; or e.g. "use". */
        @WithDefault("get")
        String verb();

        /** "sar" (SubjectAccessReview, authoritative on a real cluster) or "local" (informer caches of RBAC objects). */
        @WithDefault("sar")
        String evaluator();
    }

    interface Crd {
        @WithDefault("true")
        boolean enabled();

        /** Deny pods that no NetworkAttachmentPolicy / ClusterNetworkAttachmentPolicy selects. */
        @WithDefault("false")
        boolean defaultDeny();

        /** How often the decision counters are written to the policies' status. */
        @WithDefault("10s")
        Duration statusInterval();
    }
}
