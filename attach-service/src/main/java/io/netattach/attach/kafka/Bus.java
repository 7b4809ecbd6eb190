package io.netattach.attach.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Kafka request / reply for the orchestration: sends CloudEvents (structured JSON) and hands each answer on
 * the reply topics to whoever waits for that requestId. Every replica reads every reply (its own consumer
 * group), and ignores answers it is not waiting for: only the leader sends requests, so nothing is lost and
 * nothing is handled twice.
 */
@ApplicationScoped
public class Bus {
    private static final Logger LOG = Logger.getLogger(Bus.class);

    @Inject Topics topics;
    @Inject ObjectMapper json;
    @ConfigProperty(name = "kafka.bootstrap.servers") String bootstrap;
    // every kafka.* property (security protocol, SASL, ... from KAFKA_* variables), as Quarkus collects them
    @Inject @io.smallrye.common.annotation.Identifier("default-kafka-broker") Map<String, Object> brokerConfig;
    @ConfigProperty(name = "netattach.cluster-id") String cluster;

    private KafkaProducer<String, String> producer;
    private KafkaConsumer<String, String> consumer;
    private Thread poller;
    private volatile boolean running;
    private volatile long lastPoll = System.nanoTime();
    private final CountDownLatch assigned = new CountDownLatch(1);
    private final Map<String, Waiter> waiting = new ConcurrentHashMap<>();

    /** A pending request: each answer (a node may answer "pending" first) goes to the listener. */
    private record Waiter(String podUid, Consumer<JsonNode> listener) {
    }

    void start(@Observes @Priority(10) StartupEvent ev) throws InterruptedException {
        producer = new KafkaProducer<>(KafkaSettings.merged(brokerConfig, Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.LINGER_MS_CONFIG, 1,
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class)));
        consumer = new KafkaConsumer<>(KafkaSettings.merged(brokerConfig, Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                // a group per process: replies are broadcast to every replica (see class comment)
                ConsumerConfig.GROUP_ID_CONFIG, "attach-service-replies-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class)));
        running = true;
        poller = Thread.ofPlatform().name("attach-replies").daemon().start(this::poll);
        if (!assigned.await(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("Kafka at " + bootstrap + ": no partitions of the reply topics assigned within 60 s");
        }
    }

    void stop(@Observes ShutdownEvent ev) throws InterruptedException {
        running = false;
        if (consumer != null) consumer.wakeup();
        if (poller != null) poller.join(10_000);
        if (producer != null) producer.close(Duration.ofSeconds(5));
    }

    private void poll() {
        List<String> replyTopics = List.of(topics.policyDecisions(), topics.ipamResults(), topics.nodeResults());
        try {
            consumer.subscribe(replyTopics);
            while (running) {
                try {
                    var records = consumer.poll(Duration.ofMillis(200));
                    if (assigned.getCount() > 0 && !consumer.assignment().isEmpty()) {
                        // resolve positions now, so a reply sent after start-up is never skipped by "latest"
                        for (TopicPartition tp : consumer.assignment()) consumer.position(tp);
                        assigned.countDown();
                    }
                    // no commit: the group is new on every start and reads from "latest", so a committed offset
                    // would never be read again, and a synchronous commit per batch held up every answer behind it
                    for (ConsumerRecord<String, String> r : records) handle(r.value(), r.timestamp());
                    lastPoll = System.nanoTime();
                } catch (WakeupException e) {
                    throw e;
                } catch (RuntimeException e) {
                    // keep listening: a lost answer is recovered by the resend of its request
                    LOG.warnf("reply consumer: %s; continuing", e.toString());
                    Thread.sleep(1000);
                }
            }
        } catch (WakeupException | InterruptedException e) {
            // shutting down
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    private void handle(String value, long producedAt) {
        try {
            JsonNode event = json.readTree(value);
            JsonNode data = event.path("data");
            String requestId = data.path("requestId").asText(null);
            if (requestId == null) {
                // a node's sandbox that waits with none of its pod's networks in it; other reports (inventory) are not read
                if ("io.netattach.node.sandbox".equals(event.path("type").asText()) && "waiting".equals(data.path("event").asText())) {
                    SandboxListener l = sandboxListener;
                    if (l != null) l.waiting(data.path("pod").path("uid").asText(), data.path("containerId").asText(""), data.path("node").asText(""));
                }
                return;
            }
            Waiter w = waiting.get(requestId);
            if (w == null) return;
            // how long the answer sat in Kafka before we read it (vs. how long the other side took)
            if (LOG.isDebugEnabled()) LOG.debugf("answer to %s read %d ms after it was produced", requestId, System.currentTimeMillis() - producedAt);
            w.listener().accept(data);
        } catch (Exception e) {
            LOG.warnf("ignoring an unreadable reply: %s (%s)", e.getMessage(), value.length() > 200 ? value.substring(0, 200) : value);
        }
    }

    /** Who hears of sandboxes that wait for their pod's networks (the controller's leader). */
    public interface SandboxListener {
        void waiting(String podUid, String containerId, String node);
    }

    private volatile SandboxListener sandboxListener;

    public void onSandboxWaiting(SandboxListener listener) {
        this.sandboxListener = listener;
    }

    /** Registers interest in answers to requestId (before sending, so a fast answer is not missed). */
    public void expect(String requestId, String podUid, Consumer<JsonNode> listener) {
        waiting.put(requestId, new Waiter(podUid, listener));
    }

    /** Marker handed to the waiters of a pod that was deleted meanwhile. */
    public static final JsonNode CANCELLED = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("cancelled", true);

    /** Wakes every wait on behalf of podUid with {@link #CANCELLED}. */
    public void cancel(String podUid) {
        waiting.values().stream().filter(w -> w.podUid().equals(podUid)).forEach(w -> w.listener().accept(CANCELLED));
    }

    public void forget(String requestId) {
        waiting.remove(requestId);
    }

    /** Sends a request (or an audit event) and waits until the broker has it (acks=all). */
    public void send(String topic, String key, String id, String type, String subject, JsonNode data) {
        ObjectNode event = json.createObjectNode();
        event.put("specversion", "1.0");
        event.put("id", id);
        event.put("source", "/netattach/attach-service/" + cluster);
        event.put("type", type);
        if (subject != null) event.put("subject", subject);
        event.put("time", Instant.now().toString());
        event.put("datacontenttype", "application/json");
        event.put("netattachcluster", cluster);
        event.set("data", data);
        try {
            producer.send(new ProducerRecord<>(topic, key, json.writeValueAsString(event))).get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while sending " + type + " " + id, e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException | com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot send " + type + " " + id + " to " + topic + ": " + e.getMessage(), e);
        }
    }

    /** For readiness: partitions assigned and the poll loop alive within the last 30 s. */
    public boolean listening() {
        return assigned.getCount() == 0 && poller != null && poller.isAlive() && System.nanoTime() - lastPoll < 30_000_000_000L;
    }

    public String cluster() {
        return cluster;
    }
}
