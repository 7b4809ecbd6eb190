package io.netattach.policy;

import io.netattach.topics.TopicsTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;

/** Every test start of policy-service gets its own copies of the declared topics it reads and writes. */
@WithTestResource(value = TopicsTestResource.class, scope = TestResourceScope.GLOBAL,
        initArgs = @ResourceArg(name = "topics", value = "netattach.policy.,netattach.audit,netattach.dlq.policy-service"))
public final class KafkaTopics {
    private KafkaTopics() {
    }
}
