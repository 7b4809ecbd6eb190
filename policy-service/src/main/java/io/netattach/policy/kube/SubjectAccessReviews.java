package io.netattach.policy.kube;

import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.netattach.policy.domain.AccessAnswer;
import io.netattach.policy.domain.AccessQuestion;
import io.netattach.policy.domain.AccessReview;
import org.jboss.logging.Logger;

import java.util.List;

/**
 * Asks the API server (POST subjectaccessreviews), which applies every authorizer the cluster runs. Needs only
 * "create subjectaccessreviews" for policy-service itself. Any failure to get an answer is Unknown, never a grant.
 */
public class SubjectAccessReviews implements AccessReview {
    private static final Logger LOG = Logger.getLogger(SubjectAccessReviews.class);
    private final KubernetesClient client;

    public SubjectAccessReviews(KubernetesClient client) {
        this.client = client;
    }

    @Override
    public String name() {
        return "sar";
    }

    @Override
    public AccessAnswer check(AccessQuestion q) {
        SubjectAccessReview review = new SubjectAccessReviewBuilder()
                .withNewSpec()
                .withUser(q.user())
                .withGroups(List.of("system:serviceaccounts", "system:serviceaccounts:" + q.namespace(), "system:authenticated"))
                .withNewResourceAttributes()
                .withNamespace(q.resourceNamespace())
                .withVerb(q.verb())
                .withGroup(q.group())
                .withResource(q.resource())
                .withName(q.name())
                .endResourceAttributes()
                .endSpec()
                .build();
        SubjectAccessReviewStatus status;
        try {
            SubjectAccessReview answer = client.authorization().v1().subjectAccessReview().create(review);
            status = answer == null ? null : answer.getStatus();
        } catch (RuntimeException e) {
            // fabric8 wraps the cause ("An error has occurred."): name the root cause, e.g. connection refused.
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) root = root.getCause();
            String why = root == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
            LOG.warnf("SubjectAccessReview for %s %s %s/%s failed: %s", q.user(), q.verb(), q.resourceNamespace(), q.name(), why);
            return new AccessAnswer.Unknown("SubjectAccessReview failed: " + why);
        }
        if (status == null) return new AccessAnswer.Unknown("SubjectAccessReview came back without a status");
        String reason = status.getReason() == null ? "" : status.getReason();
        if (Boolean.TRUE.equals(status.getAllowed())) return new AccessAnswer.Granted(reason.isBlank() ? "SubjectAccessReview allowed" : reason);
        if (status.getEvaluationError() != null && !status.getEvaluationError().isBlank() && !Boolean.TRUE.equals(status.getDenied())) {
            return new AccessAnswer.Unknown("SubjectAccessReview evaluation error: " + status.getEvaluationError());
        }
        return new AccessAnswer.Refused(reason);
    }
}
