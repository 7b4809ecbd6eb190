package io.netattach.node.api;

import io.netattach.node.domain.Commands;
import io.netattach.node.domain.InterfaceReport;
import io.netattach.node.kafka.KafkaSettings;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jboss.logging.Logger;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Publishes results, sandbox events and the inventory to netattach.node.results. The command consumer's sends wait
 * for the broker's ack, so a command's offset is committed only after its result is durable. What the CNI path
 * publishes goes out from a queue of its own instead: a CNI call never waits for the broker, which may be away.
 */
public final class KafkaEvents implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(KafkaEvents.class);

    private final KafkaProducer<String, String> producer;
    private final EventJson json;
    private final String topic;
    private final String node;
    private final ExecutorService later = Executors.newSingleThreadExecutor(Thread.ofVirtual().name("node-results-later").factory());

    /** @param client the Kafka settings to start from: the broker's (bootstrap, security), see KafkaSettings */
    public KafkaEvents(Map<String, Object> client, String topic, EventJson json, String node) {
        this.producer = new KafkaProducer<>(KafkaSettings.merged(client, Map.of(
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                // every send is awaited (results are what attach-service waits for): no 5 ms linger per record
                ProducerConfig.LINGER_MS_CONFIG, 0,
                ProducerConfig.CLIENT_ID_CONFIG, "netattach-node-worker-" + node,
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class)));
        this.json = json;
        this.topic = topic;
        this.node = node;
    }

    private void send(String key, String value) {
        try {
            producer.send(new ProducerRecord<>(topic, key, value)).get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while publishing to " + topic, e);
        } catch (Exception e) {
            throw new IllegalStateException("cannot publish to " + topic + ": " + e.getMessage(), e);
        }
    }

    /** Sends in order from the queue; a failure is logged: attach-service asks again when its wait for the node runs out. */
    private void sendLater(String key, String value, String what) {
        try {
            later.execute(() -> {
                try {
                    send(key, value);
                } catch (RuntimeException e) {
                    LOG.warnf("%s not published: %s", what, e.getMessage());
                }
            });
        } catch (RejectedExecutionException e) {
            LOG.debugf("%s not published: shutting down", what);
        }
    }

    public void result(Commands.Result result) { send(result.pod().uid(), json.result(result)); }

    public void resultLater(Commands.Result result) { sendLater(result.pod().uid(), json.result(result), "result of " + result.requestId()); }

    public void sandboxLater(Commands.Sandbox sandbox, String event) {
        sendLater(sandbox.pod().uid(), json.sandbox(sandbox, event), "sandbox " + event + " of " + sandbox.pod().subject());
    }

    public void inventory(String id, Map<Commands.Sandbox, List<InterfaceReport>> sandboxes) { send(node, json.inventory(id, sandboxes)); }

    @Override
    public void close() {
        later.shutdown();
        try {
            later.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close(java.time.Duration.ofSeconds(5));
    }
}
