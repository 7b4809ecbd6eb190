package io.netattach.policy.kube;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.netattach.policy.domain.Decision;
import io.netattach.policy.domain.PodRef;
import org.jboss.logging.Logger;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;

/** A denial becomes a Warning Event on the pod (reason NetworkAttachmentDenied), so `kubectl describe pod` shows it. */
public class PodEvents {
    private static final Logger LOG = Logger.getLogger(PodEvents.class);
    public static final String REASON = "NetworkAttachmentDenied";
    private final KubernetesClient client;
    private final String component;

    public PodEvents(KubernetesClient client, String component) {
        this.client = client;
        this.component = component;
    }

    /** Best effort: a failed write is logged (the audit event and the decision still carry the denial). */
    public void denied(String requestId, PodRef pod, Decision d) {
        String now = Instant.now().toString();
        Event event = new EventBuilder()
                .withNewMetadata()
                // Deterministic name: a redelivered request does not add a second Event.
                .withName(pod.name() + ".na-" + shortHash(requestId + "|" + d.network() + "|" + d.interfaceName()))
                .withNamespace(pod.namespace())
                .endMetadata()
                .withNewInvolvedObject().withApiVersion("v1").withKind("Pod").withNamespace(pod.namespace()).withName(pod.name()).withUid(pod.uid()).endInvolvedObject()
                .withType("Warning")
                .withReason(REASON)
                .withMessage("network " + d.network() + " (interface " + d.interfaceName() + ") denied by rule " + d.rule() + ": " + d.reason())
                .withNewSource().withComponent(component).endSource()
                .withReportingComponent(component)
                .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                .build();
        try {
            client.v1().events().inNamespace(pod.namespace()).resource(event).create();
        } catch (KubernetesClientException e) {
            if (e.getCode() != 409) LOG.warnf("could not write Event %s on pod %s: %s", REASON, pod.key(), e.getMessage());
        } catch (RuntimeException e) {
            LOG.warnf("could not write Event %s on pod %s: %s", REASON, pod.key(), e.getMessage());
        }
    }

    private static String shortHash(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8))).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
