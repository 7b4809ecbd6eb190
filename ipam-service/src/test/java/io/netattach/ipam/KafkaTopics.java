package io.netattach.ipam;

import io.netattach.topics.TopicsTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;

/** Every test start of ipam-service gets its own copies of the declared topics it reads and writes. */
@WithTestResource(value = TopicsTestResource.class, scope = TestResourceScope.GLOBAL,
        initArgs = @ResourceArg(name = "topics", value = "netattach.ipam.,netattach.audit,netattach.dlq.ipam-service"))
public final class KafkaTopics {
    private KafkaTopics() {
    }
}
