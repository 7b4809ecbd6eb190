package io.netattach.policy.api;

import io.netattach.policy.kafka.KafkaSettings;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
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
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * policy-service's Kafka: one producer (decisions and audit events, acks=all, idempotent, no linger) and the
 * consumer of netattach.policy.requests, a plain poll loop (the reactive messaging stack it replaced spent its
 * CPU in hand-offs between threads). The records of one poll are decided in order and their audit events sent;
 * once the broker has every one of those, their decisions are sent (in the same order, so one pod's answers keep
 * their order); once it has those too, the poll is done. No decision is ever sent before its audit events are
 * stored, and a poll costs two broker round trips instead of two per record (a burst of 500 pods waited ~0.6 s
 * at p50 for its decisions, one record after the other). Offsets are committed at most every 500 ms, and on
 * rebalance and shutdown. A poll whose answers could not all be sent is read again from its first record after
 * 1 s (a redelivery is decided again and answered with the same ids).
 */
@ApplicationScoped
public class PolicyKafka {
    private static final Logger LOG = Logger.getLogger(PolicyKafka.class);
    /** Offsets are committed at most this often (and on rebalance and shutdown). */
    private static final long COMMIT_EVERY_NANOS = 500_000_000L;

    @ConfigProperty(name = "kafka.bootstrap.servers") String bootstrap;
    // every kafka.* property (security protocol, SASL, ... from KAFKA_* variables), as Quarkus collects them
    @Inject @io.smallrye.common.annotation.Identifier("default-kafka-broker") Map<String, Object> brokerConfig;
    @ConfigProperty(name = "netattach.kafka.requests-topic") String requestsTopic;
    @ConfigProperty(name = "netattach.kafka.consumer-group") String group;
    @ConfigProperty(name = "netattach.kafka.decisions-topic") String decisionsTopic;
    @Inject PolicyRequestListener listener;

    private KafkaProducer<String, String> producer;
    private KafkaConsumer<String, String> consumer;
    private Thread poller;
    private volatile boolean running;
    private volatile long lastPoll = System.nanoTime();
    /** Offsets of the records answered and not yet committed (poll thread only). */
    private final Map<TopicPartition, OffsetAndMetadata> done = new HashMap<>();

    /** After the topics are made (TopicBootstrap, priority 1), before the informers (Wiring, default priority). */
    void start(@Observes @Priority(5) StartupEvent ev) {
        producer = new KafkaProducer<>(KafkaSettings.merged(brokerConfig, Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                // decisions are awaited by attach-service, audit events before them: no 5 ms linger
                ProducerConfig.LINGER_MS_CONFIG, 0,
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class)));
        consumer = new KafkaConsumer<>(KafkaSettings.merged(brokerConfig, Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.GROUP_ID_CONFIG, group,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class)));
        running = true;
        poller = Thread.ofPlatform().name("policy-requests").daemon().start(this::run);
    }

    void stop(@Observes ShutdownEvent ev) throws InterruptedException {
        running = false;
        if (consumer != null) consumer.wakeup();
        if (poller != null) poller.join(30_000);
        if (producer != null) producer.close(Duration.ofSeconds(5));
    }

    /** Starts sending one record; completes when the broker has it (acks=all). */
    public CompletableFuture<Void> send(String topic, String key, String value) {
        CompletableFuture<Void> sent = new CompletableFuture<>();
        producer.send(new ProducerRecord<>(topic, key, value), (meta, e) -> { if (e != null) sent.completeExceptionally(e); else sent.complete(null); });
        return sent;
    }

    /** For readiness: the poll loop alive and polling within the last 30 s. */
    public boolean listening() {
        return poller != null && poller.isAlive() && System.nanoTime() - lastPoll < 30_000_000_000L;
    }

    private void run() {
        try {
            consumer.subscribe(List.of(requestsTopic), new ConsumerRebalanceListener() {
                // every record read before a rebalance was answered (the poll loop answers its poll before the next)
                @Override public void onPartitionsRevoked(Collection<TopicPartition> parts) { commit(true); }
                @Override public void onPartitionsLost(Collection<TopicPartition> parts) { parts.forEach(done::remove); }
                @Override public void onPartitionsAssigned(Collection<TopicPartition> parts) { }
            });
            long lastCommit = System.nanoTime();
            while (running) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
                lastPoll = System.nanoTime();
                if (!records.isEmpty()) {
                    try {
                        answer(records);
                        for (TopicPartition tp : records.partitions()) {
                            done.put(tp, new OffsetAndMetadata(records.records(tp).getLast().offset() + 1));
                        }
                    } catch (RuntimeException e) {
                        // some answer could not be sent: read this poll again from its first record (answered again, same ids)
                        LOG.errorf(e, "could not answer policy requests; reading them again in 1 s");
                        for (TopicPartition tp : records.partitions()) consumer.seek(tp, records.records(tp).getFirst().offset());
                        Thread.sleep(1000);
                    }
                }
                if (System.nanoTime() - lastCommit >= COMMIT_EVERY_NANOS) {
                    commit(false);
                    lastCommit = System.nanoTime();
                }
            }
        } catch (WakeupException | InterruptedException e) {
            // shutting down
        } finally {
            commit(true);
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /** Decides every record of the poll, then answers: audit events first, stored, then the decisions. */
    private void answer(ConsumerRecords<String, String> records) {
        List<CompletableFuture<Void>> audits = new ArrayList<>();
        List<PolicyRequestListener.Answer> answers = new ArrayList<>();
        for (ConsumerRecord<String, String> r : records) {
            PolicyRequestListener.Answer a = listener.decide(r.value(), audits);
            if (a != null) answers.add(a);
        }
        awaitAll(audits);
        awaitAll(answers.stream().map(a -> send(decisionsTopic, a.key(), a.value())).toList());
    }

    private void commit(boolean sync) {
        if (done.isEmpty()) return;
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>(done);
        done.clear();
        try {
            if (sync) {
                consumer.commitSync(offsets, Duration.ofSeconds(5));
            } else {
                consumer.commitAsync(offsets, (o, e) -> { if (e != null) LOG.debugf("offset commit failed (the next one covers it): %s", e.toString()); });
            }
        } catch (RuntimeException e) {
            // not fatal: those records come again after a rebalance or restart, and are answered again with the same ids
            LOG.warnf("offset commit failed: %s", e.toString());
        }
    }

    /** Waits until the broker has every one of {@code sends}; a failed send throws its own exception. */
    static void awaitAll(List<CompletableFuture<Void>> sends) {
        try {
            CompletableFuture.allOf(sends.toArray(CompletableFuture[]::new)).join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw e;
        }
    }
}
