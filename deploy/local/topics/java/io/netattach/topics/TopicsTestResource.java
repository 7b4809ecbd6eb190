package io.netattach.topics;

import io.quarkus.test.common.DevServicesContext;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import org.apache.kafka.clients.admin.AdminClientConfig;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * For the services' tests: before each start of the application, makes the declared topics it uses under a new
 * suffix (.t&lt;uuid&gt;, so reruns and test profiles never share a record) and hands the suffix to it as
 * netattach.kafka.topic-suffix. Init arg "topics": comma-separated name prefixes of the topics to make.
 * The broker: the one Dev Services started for this start (Quarkus starts Dev Services before test resources and
 * hands their config over), else KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:9092 (as the profile `local` does).
 */
public class TopicsTestResource implements QuarkusTestResourceLifecycleManager, DevServicesContext.ContextAware {
    private List<String> prefixes = List.of("");
    private String devServicesBootstrap;

    @Override
    public void init(Map<String, String> initArgs) {
        String topics = initArgs.get("topics");
        if (topics != null) prefixes = Arrays.stream(topics.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    @Override
    public void setIntegrationTestContext(DevServicesContext context) {
        devServicesBootstrap = context.devServicesProperties().get("kafka.bootstrap.servers");
    }

    @Override
    public Map<String, String> start() {
        String file = System.getProperty("netattach.topics.file");
        if (file == null) throw new IllegalStateException("system property netattach.topics.file is not set (the root pom's surefire configuration sets it)");
        String bootstrap = devServicesBootstrap != null ? devServicesBootstrap : System.getenv().getOrDefault("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092");
        String suffix = ".t" + UUID.randomUUID();
        try {
            KafkaTopics.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap), KafkaTopics.read(Path.of(file)), suffix,
                    name -> prefixes.stream().anyMatch(name::startsWith));
        } catch (Exception e) {
            throw new IllegalStateException("cannot make the test topics on " + bootstrap + " from " + file + ": " + e.getMessage(), e);
        }
        return Map.of("netattach.kafka.topic-suffix", suffix);
    }

    @Override
    public void stop() {
        // the topics stay until deploy/local/services.sh clean-test-topics (test.sh runs it): a failed test's records can be read
    }
}
