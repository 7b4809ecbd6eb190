package io.netattach.attach.orchestration;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netattach.attach.kafka.Bus;
import io.netattach.attach.kafka.Topic;
import io.netattach.attach.kube.PodView;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tells a pod's node why attach-service does not attach the pod (io.netattach.node.blocked): the node fails the
 * pod's waiting CNI ADD with that reason when it is definitive, so the pod does not start without the networks it
 * asked for, and the kubelet shows why. The same notice is not sent again until the node asks (its sandbox waits).
 */
@ApplicationScoped
class NodeNotices {
    private static final Logger LOG = Logger.getLogger(NodeNotices.class);

    @Inject Bus bus;

    /** pod UID -> the last notice sent (its request id: reason and message hashed). */
    private final Map<String, String> sent = new ConcurrentHashMap<>();

    void blocked(PodView pod, String network, String reason, String message, boolean definitive) {
        if (pod.nodeName() == null || pod.nodeName().isEmpty()) return;
        String id = "blocked/" + pod.uid() + "/" + PodReconciler.hash(network + "|" + reason + "|" + message + "|" + definitive);
        if (id.equals(sent.put(pod.uid(), id))) return;
        ObjectNode data = JsonNodeFactory.instance.objectNode();
        data.put("requestId", id);
        data.put("node", pod.nodeName());
        data.set("pod", Payloads.podRef(pod));
        data.put("network", network);
        data.put("reason", reason);
        data.put("message", message);
        data.put("definitive", definitive);
        try {
            bus.send(Topic.NODE_COMMANDS, pod.nodeName(), id, "io.netattach.node.blocked", pod.ref(), data);
        } catch (RuntimeException e) {
            sent.remove(pod.uid(), id); // try again with the next reconcile
            LOG.warnf("pod %s: node %s not told why it is not attached: %s", pod.ref(), pod.nodeName(), e.getMessage());
        }
    }

    /** The node asked again (a new sandbox waits): the next notice goes out even if it is the same. */
    void reset(String podUid) {
        sent.remove(podUid);
    }

    void forget(String podUid) {
        sent.remove(podUid);
    }

    void clear() {
        sent.clear();
    }
}
