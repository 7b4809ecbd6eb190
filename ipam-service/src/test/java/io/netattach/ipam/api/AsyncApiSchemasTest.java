package io.netattach.ipam.api;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** The contract check of the Kafka test can fail: a result without "ok", or with a bad type, is refused. */
class AsyncApiSchemasTest {
    private static final String ENVELOPE = "{\"specversion\":\"1.0\",\"id\":\"r/result\",\"source\":\"/netattach/ipam-service/local\",\"type\":\"%s\","
            + "\"time\":\"2026-01-01T00:00:00Z\",\"datacontenttype\":\"application/json\",\"data\":%s}";

    @Test
    void acceptsAValidResultAndRefusesBrokenOnes() throws Exception {
        AsyncApiSchemas s = new AsyncApiSchemas();
        assertEquals("", s.problems("IpamResult", ENVELOPE.formatted("io.netattach.ipam.result", "{\"requestId\":\"r\",\"ok\":true,\"ips\":[\"10.0.0.2/24\"]}")));
        assertFalse(s.problems("IpamResult", ENVELOPE.formatted("io.netattach.ipam.result", "{\"requestId\":\"r\"}")).isEmpty());
        assertFalse(s.problems("IpamResult", ENVELOPE.formatted("Result", "{\"requestId\":\"r\",\"ok\":true}")).isEmpty());
        assertFalse(s.problems("IpamResult", ENVELOPE.formatted("io.netattach.ipam.result", "{\"requestId\":\"r\",\"ok\":false,\"error\":{\"reason\":\"Oops\",\"message\":\"x\"}}")).isEmpty());
    }
}
