package io.netattach.topics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Makes the topics declared in deploy/kubernetes/kafka/topics.yaml (Strimzi KafkaTopic documents) on a broker
 * that has no topic operator: the local services, the lab, benchmarks and the services' tests. Replicas and
 * min.insync.replicas are capped to the brokers there are, so the same declaration works on one local node.
 * A topic that exists is left as it is. Run: {@code java -cp '<kafka libs>/*' KafkaTopics.java --bootstrap
 * host:port --file topics.yaml [--suffix .lab123]}.
 */
public final class KafkaTopics {
    private KafkaTopics() {
    }

    /** One declared topic: spec.topicName, spec.partitions, spec.replicas and spec.config of a KafkaTopic. */
    public record Topic(String name, int partitions, int replicas, Map<String, String> config) {
    }

    public static List<Topic> read(Path file) throws IOException {
        List<Topic> topics = new ArrayList<>();
        try (MappingIterator<JsonNode> docs = new YAMLMapper().readerFor(JsonNode.class).readValues(Files.newBufferedReader(file))) {
            while (docs.hasNext()) {
                JsonNode doc = docs.next();
                if (doc == null || !"KafkaTopic".equals(doc.path("kind").asText())) continue;
                JsonNode spec = doc.path("spec");
                String name = spec.path("topicName").asText(null);
                if (name == null || !spec.path("partitions").canConvertToInt()) {
                    throw new IllegalArgumentException(file + ": KafkaTopic " + doc.path("metadata").path("name").asText("?")
                            + " needs spec.topicName and spec.partitions");
                }
                Map<String, String> config = new LinkedHashMap<>();
                spec.path("config").properties().forEach(e -> config.put(e.getKey(), e.getValue().asText()));
                topics.add(new Topic(name, spec.path("partitions").asInt(), spec.path("replicas").asInt(1), config));
            }
        }
        return topics;
    }

    /** Creates each topic (its name + suffix) that {@code wanted} accepts; returns the names created or found. */
    public static List<String> create(Map<String, Object> adminConfig, List<Topic> topics, String suffix, Predicate<String> wanted)
            throws InterruptedException {
        Map<String, Object> config = new LinkedHashMap<>(adminConfig);
        config.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000);
        try (Admin admin = Admin.create(config)) {
            int brokers = admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).size();
            List<NewTopic> news = new ArrayList<>();
            for (Topic t : topics) {
                if (!wanted.test(t.name())) continue;
                short replicas = (short) Math.min(t.replicas(), brokers);
                Map<String, String> cfg = new LinkedHashMap<>(t.config());
                cfg.computeIfPresent("min.insync.replicas", (k, v) -> String.valueOf(Math.min(Integer.parseInt(v), replicas)));
                news.add(new NewTopic(t.name() + suffix, t.partitions(), replicas).configs(cfg));
            }
            CreateTopicsResult result = admin.createTopics(news);
            List<String> names = new ArrayList<>();
            for (NewTopic t : news) {
                try {
                    result.values().get(t.name()).get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException("cannot create Kafka topic " + t.name() + ": " + e.getCause().getMessage(), e.getCause());
                    }
                }
                names.add(t.name());
            }
            return names;
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("Kafka at " + adminConfig.get(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG) + " did not answer: " + e.getMessage(), e);
        }
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = "127.0.0.1:9092", suffix = "";
        Path file = null;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--bootstrap" -> bootstrap = args[i + 1];
                case "--file" -> file = Path.of(args[i + 1]);
                case "--suffix" -> suffix = args[i + 1];
                default -> throw new IllegalArgumentException("unknown option " + args[i] + " (--bootstrap, --file, --suffix)");
            }
        }
        if (file == null || args.length % 2 != 0) throw new IllegalArgumentException("usage: KafkaTopics --file topics.yaml [--bootstrap host:port] [--suffix S]");
        if (!suffix.matches("[A-Za-z0-9._-]*")) throw new IllegalArgumentException("--suffix: letters, digits, '.', '_' and '-' only, got \"" + suffix + "\"");
        List<String> made = create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap), read(file), suffix, n -> true);
        System.out.println(made.size() + " topics in place on " + bootstrap + (suffix.isEmpty() ? "" : " (suffix " + suffix + ")"));
    }
}
