package io.netattach.attach.kafka;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReplyTest {
    private final ObjectMapper json = new ObjectMapper();

    private static String event(String type, String data) {
        return """
                {"specversion":"1.0","id":"x","source":"/netattach/node-worker/local","type":"%s","time":"2026-01-01T00:00:00Z",
                 "datacontenttype":"application/json","data":%s}""".formatted(type, data);
    }

    @Test
    void anAnswerIsKnownByItsRequestIdAndCarriesItsData() {
        Reply r = Reply.parse(json, event("io.netattach.ipam.result", "{\"requestId\":\"alloc/c/u/net1/abc\",\"ok\":true}"));
        Reply.Answer a = assertInstanceOf(Reply.Answer.class, r);
        assertEquals("alloc/c/u/net1/abc", a.requestId());
        assertTrue(a.data().path("ok").asBoolean());
    }

    @Test
    void aWaitingSandboxNamesItsPodContainerAndNode() {
        Reply r = Reply.parse(json, event("io.netattach.node.sandbox",
                "{\"node\":\"node-a\",\"event\":\"waiting\",\"containerId\":\"c1\",\"pod\":{\"namespace\":\"n\",\"name\":\"p\",\"uid\":\"u1\"}}"));
        assertEquals(new Reply.SandboxWaiting("u1", "c1", "node-a"), r);
    }

    @Test
    void inventoriesAndOtherSandboxEventsAreMessagesOfTheContractThatAreNotRead() {
        assertInstanceOf(Reply.Unread.class, Reply.parse(json, event("io.netattach.node.inventory", "{\"node\":\"node-a\",\"sandboxes\":[]}")));
        assertInstanceOf(Reply.Unread.class, Reply.parse(json, event("io.netattach.node.sandbox", "{\"node\":\"node-a\",\"event\":\"added\",\"pod\":{}}")));
    }

    @Test
    void unreadableRecordsAreRefusedWithTheFieldAndValue() {
        assertEquals("record value: null (a tombstone), expected a CloudEvent", refused(null));
        assertTrue(refused("{not json").startsWith("record value is not JSON: "), refused("{not json"));
        assertEquals("record value: expected a CloudEvent object, got \"[1,2]\"", refused("[1,2]"));
        assertEquals("type: missing", refused("{\"data\":{}}"));
        assertEquals("data of io.netattach.ipam.result: expected an object, got \"x\"", refused(event("io.netattach.ipam.result", "\"x\"")));
        assertEquals("data.requestId of io.netattach.policy.decision: missing", refused(event("io.netattach.policy.decision", "{\"allowed\":true}")));
        assertEquals("data.requestId of io.netattach.node.result: expected a non-empty string, got 17", refused(event("io.netattach.node.result", "{\"requestId\":17}")));
        assertEquals("data.pod.uid of io.netattach.node.sandbox waiting: missing",
                refused(event("io.netattach.node.sandbox", "{\"node\":\"n\",\"event\":\"waiting\",\"pod\":{\"name\":\"p\"}}")));
        assertTrue(refused(event("io.netattach.ipam.allocate", "{}")).startsWith("type: \"io.netattach.ipam.allocate\" is not a message of the reply topics"));
    }

    private String refused(String value) {
        return assertThrows(Reply.UnreadableReply.class, () -> Reply.parse(json, value)).getMessage();
    }
}
