package io.netattach.policy.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What makes a record unanswerable (it goes to the dead-letter topic), and the reason naming the field and value. */
class PolicyRequestReadingTest {
    private final ObjectMapper json = new ObjectMapper();

    private String reason(String value) {
        return assertThrows(PolicyRequestListener.Unanswerable.class, () -> PolicyRequestListener.read(json, value)).getMessage();
    }

    private static String event(String data) {
        return "{\"specversion\": \"1.0\", \"id\": \"r-1\", \"type\": \"io.netattach.policy.request\", \"data\": " + data + "}";
    }

    @Test
    void aRequestWithRequestIdAndPodUidIsReadEvenWithOtherFieldsMissing() {
        var request = PolicyRequestListener.read(json, event("{\"requestId\": \"r-1\", \"pod\": {\"uid\": \"u-1\"}}"));
        assertEquals("r-1", request.requestId());
        assertEquals("u-1", request.pod().uid());
    }

    @Test
    void eachUnanswerableRecordIsNamedByItsField() {
        assertTrue(reason("{not json").startsWith("value: not JSON ("), reason("{not json"));
        assertTrue(reason("{not json").endsWith("): {not json"));
        assertTrue(reason("").startsWith("data: missing"), reason(""));
        assertTrue(reason("{\"id\": \"x\"}").startsWith("data: missing"));
        assertTrue(reason(event("\"text\"")).startsWith("data: \"text\" is not an object"), reason(event("\"text\"")));
        assertTrue(reason(event("{\"pod\": {\"uid\": \"u\"}}")).startsWith("data.requestId: missing"));
        assertTrue(reason(event("{\"requestId\": \" \", \"pod\": {\"uid\": \"u\"}}")).startsWith("data.requestId: \" \" is blank"));
        assertTrue(reason(event("{\"requestId\": \"r\"}")).startsWith("data.pod: missing"));
        assertTrue(reason(event("{\"requestId\": \"r\", \"pod\": {\"name\": \"p\"}}")).startsWith("data.pod.uid: missing"));
        String wrongType = reason(event("{\"requestId\": \"r\", \"pod\": {\"uid\": \"u\", \"labels\": [\"a\"]}}"));
        assertTrue(wrongType.startsWith("data.pod.labels: "), wrongType);
    }
}
