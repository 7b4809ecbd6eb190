package io.netattach.attach;

import io.netattach.topics.TopicsTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;

/** Every test start of attach-service gets its own copies of the declared topics it and its stand-ins use. */
@WithTestResource(value = TopicsTestResource.class, scope = TestResourceScope.GLOBAL,
        initArgs = @ResourceArg(name = "topics", value = "netattach.policy.,netattach.ipam.,netattach.node.,netattach.audit,netattach.dlq.attach-service"))
public final class KafkaTopics {
    private KafkaTopics() {
    }
}
