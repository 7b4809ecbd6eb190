package io.netattach.policy.domain;

/** Whether the RBAC rule applies to one NAD, and why: decided before any access review is asked. */
public sealed interface RbacRequirement {
    /** {@code netattach.policy.rbac.enabled}: every NAD requires it. */
    record EveryNetwork() implements RbacRequirement {}

    /** The NAD's annotation requires it; {@code value} as written (unclear values count as "true"). */
    record ByAnnotation(String value, boolean unclear) implements RbacRequirement {}

    /** Not required: the switch is off and the NAD has no annotation, or "false". */
    record NotRequired(String annotation) implements RbacRequirement {}

    /** The NAD is another cluster's (a multi-cluster member): its annotations cannot be read here, so not required. */
    record OtherCluster(String cluster) implements RbacRequirement {}

    /** The NAD is not known (yet): whether it requires RBAC cannot be told, so neither allowed nor denied. */
    record Unknown(String why) implements RbacRequirement {}
}
