package io.netattach.policy.api;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.netattach.policy.domain.nad.NetworkDefinition;
import io.netattach.policy.kube.NetworkDefinitionInformer;
import io.quarkus.test.kubernetes.client.KubernetesServer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Prepares the mock API server before the application starts: installs the NAD and policy CRDs from
 * deploy/kubernetes/base/crds (so the informers find them) and scripts SubjectAccessReview replies. The mock
 * server stores a POSTed review in CRUD mode instead of evaluating it, so a non-CRUD expectation on the
 * subjectaccessreviews path answers from {@link #sarAnswers}, which each test sets.
 */
public class KubeSetup implements Consumer<KubernetesServer> {
    public static final String SAR_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
    public static final Path CRDS = Path.of("..", "deploy", "kubernetes", "base", "crds");

    /** Review in, status.allowed out; null = answer with an evaluation error. */
    public static volatile Function<SubjectAccessReview, Boolean> sarAnswers = r -> false;
    /** Every SubjectAccessReview the mock server answered: a decision that needs no RBAC must not add one. */
    public static final AtomicInteger SAR_REQUESTS = new AtomicInteger();

    /** A NAD as a user applies it; {@code requireRbac} is the value of policy.netattach.io/require-rbac, null for none. */
    public static GenericKubernetesResource nad(String namespace, String name, String requireRbac) {
        var meta = new ObjectMetaBuilder().withNamespace(namespace).withName(name);
        if (requireRbac != null) meta.withAnnotations(Map.of(NetworkDefinition.REQUIRE_RBAC, requireRbac));
        return new GenericKubernetesResourceBuilder().withApiVersion("k8s.cni.cncf.io/v1").withKind("NetworkAttachmentDefinition")
                .withMetadata(meta.build())
                .withAdditionalProperties(Map.of("spec", Map.of("config", "{\"cniVersion\": \"0.3.1\", \"type\": \"macvlan\", \"master\": \"eth0\"}")))
                .build();
    }

    /** Creates or replaces the NAD in the mock API server, as kubectl apply would. */
    public static void apply(KubernetesClient client, GenericKubernetesResource nad) {
        client.genericKubernetesResources(NetworkDefinitionInformer.NAD).inNamespace(nad.getMetadata().getNamespace()).resource(nad)
                .createOr(NonDeletingOperation::update);
    }

    @Override
    public void accept(KubernetesServer server) {
        for (String f : new String[] {"network-attachment-definition.yaml", "networkattachmentpolicies.policy.netattach.io.yaml",
                "clusternetworkattachmentpolicies.policy.netattach.io.yaml"}) {
            try (InputStream in = Files.newInputStream(CRDS.resolve(f))) {
                server.getClient().apiextensions().v1().customResourceDefinitions().load(in).create();
            } catch (IOException e) {
                throw new IllegalStateException("cannot read CRD " + f + ": " + e.getMessage(), e);
            }
        }
        server.expect().post().withPath(SAR_PATH).andReply(201, request -> {
            SAR_REQUESTS.incrementAndGet();
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
