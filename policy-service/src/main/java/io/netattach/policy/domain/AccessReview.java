package io.netattach.policy.domain;

/**
 * Answers RBAC questions. Two interchangeable implementations: SubjectAccessReview against the API server, and a
 * local evaluation over informer caches of Roles, ClusterRoles and their bindings.
 */
public interface AccessReview {
    AccessAnswer check(AccessQuestion question);

    /** Changes whenever the answers may have changed; decisions are cached per version (constant = time-bounded cache only). */
    default long version() {
        return 0;
    }

    String name();
}
