package io.netattach.policy.api;

import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.quarkus.test.kubernetes.client.KubernetesServer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Prepares the mock API server before the application starts: installs the policy CRDs from
 * deploy/kubernetes/base/crds (so the informers find them) and scripts SubjectAccessReview replies. The mock
 * server stores a POSTed review in CRUD mode instead of evaluating it, so a non-CRUD expectation on the
 * subjectaccessreviews path answers from {@link #sarAnswers}, which each test sets.
 */
public class KubeSetup implements Consumer<KubernetesServer> {
    public static final String SAR_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
    public static final Path CRDS = Path.of("..", "deploy", "kubernetes", "base", "crds");

    /** Review in, status.allowed out; null = answer with an evaluation error. */
    public static volatile Function<SubjectAccessReview, Boolean> sarAnswers = r -> false;

    @Override
    public void accept(KubernetesServer server) {
        for (String f : new String[] {"networkattachmentpolicies.policy.netattach.io.yaml", "clusternetworkattachmentpolicies.policy.netattach.io.yaml"}) {
            try (InputStream in = Files.newInputStream(CRDS.resolve(f))) {
                server.getClient().apiextensions().v1().customResourceDefinitions().load(in).create();
            } catch (IOException e) {
                throw new IllegalStateException("cannot read CRD " + f + ": " + e.getMessage(), e);
            }
        }
        server.expect().post().withPath(SAR_PATH).andReply(201, request -> {
            SubjectAccessReview review = Serialization.unmarshal(request.getUtf8Body(), SubjectAccessReview.class);
            Boolean allowed = sarAnswers.apply(review);
            var status = new io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewStatus();
            if (allowed == null) {
                status.setAllowed(false);
                status.setEvaluationError("scripted evaluation error");
            } else {
                status.setAllowed(allowed);
                status.setReason(allowed ? "scripted allow" : "");
            }
            review.setStatus(status);
            return review;
        }).always();
    }
}
