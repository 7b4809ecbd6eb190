package io.netattach.node.kafka;

import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Creates the Kafka topics this service reads or writes. The broker runs with auto-creation off, so a topic exists
 * only because a service declared it here with its partition count. Creating a topic that exists is a no-op, so
 * every replica and every restart may run this. node-worker calls it from its Kafka link, which retries until the
 * broker answers: the node's CNI path must not wait for Kafka at start.
 */
@ApplicationScoped
public class TopicBootstrap {
    private static final Logger LOG = Logger.getLogger(TopicBootstrap.class);

    @ConfigProperty(name = "kafka.bootstrap.servers") String bootstrap;
    // every kafka.* property (security protocol, SASL, ... from KAFKA_* variables), as the service's clients get them
    @Inject @Identifier("default-kafka-broker") Map<String, Object> brokerConfig;
    @ConfigProperty(name = "netattach.kafka.topics") List<String> topics;
    @ConfigProperty(name = "netattach.kafka.topic-suffix") java.util.Optional<String> suffix;
    @ConfigProperty(name = "netattach.kafka.replication-factor", defaultValue = "1") short replication;

    public void ensureTopics() throws InterruptedException {
        List<NewTopic> wanted = topics.stream().map(this::parse).toList();
        try (Admin admin = Admin.create(KafkaSettings.merged(brokerConfig, Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000)))) {
            for (NewTopic t : wanted) {
                try {
                    admin.createTopics(List.of(t)).all().get(30, TimeUnit.SECONDS);
                    LOG.infof("created topic %s with %d partitions", t.name(), t.numPartitions());
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("cannot create Kafka topic " + t.name() + " on " + bootstrap + ": " + e.getCause().getMessage(), e.getCause());
                    }
                } catch (java.util.concurrent.TimeoutException e) {
                    throw new IllegalStateException("Kafka at " + bootstrap + " did not answer within 30 s while creating " + t.name(), e);
                }
            }
        }
    }

    private NewTopic parse(String spec) {
        int colon = spec.lastIndexOf(':');
        if (colon <= 0) throw new IllegalArgumentException("netattach.kafka.topics: expected name:partitions, got \"" + spec + "\"");
        return new NewTopic(spec.substring(0, colon).trim() + suffix.orElse(""), Integer.parseInt(spec.substring(colon + 1).trim()), replication);
    }
}
