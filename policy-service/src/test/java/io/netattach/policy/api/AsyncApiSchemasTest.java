package io.netattach.policy.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The contract check is not vacuous: what we send passes, and broken payloads fail it. */
class AsyncApiSchemasTest {
    private final ObjectMapper json = new ObjectMapper();

    private JsonNode decision() {
        return json.valueToTree(new Messages.PolicyDecisionData("r-1", "uid", false, "default/x: no",
                List.of(new Messages.DecisionData("default/x", false, "rbac", "no"))));
    }

    @Test
    void decisionDataPassesAndLosesValidityWithoutAllowedOrWithWrongTypes() throws Exception {
        assertTrue(AsyncApiSchemas.schema("PolicyDecisionData").validate(decision()).isEmpty());
        ObjectNode missing = (ObjectNode) decision();
        missing.remove("allowed");
        assertFalse(AsyncApiSchemas.schema("PolicyDecisionData").validate(missing).isEmpty());
        ObjectNode wrongType = (ObjectNode) decision();
        ((ObjectNode) wrongType.get("decisions").get(0)).put("allowed", "yes");
        assertFalse(AsyncApiSchemas.schema("PolicyDecisionData").validate(wrongType).isEmpty());
    }

    @Test
    void cloudEventNeedsSpecVersionAndANetattachType() throws Exception {
        ObjectNode event = json.valueToTree(Messages.CloudEvent.of("r-1/result", "/netattach/policy-service/local", "io.netattach.policy.decision",
                "default/p", "local", decision()));
        assertTrue(AsyncApiSchemas.schema("CloudEvent").validate(event).isEmpty());
        event.put("type", "com.example.other");
        assertFalse(AsyncApiSchemas.schema("CloudEvent").validate(event).isEmpty());
        event.put("type", "io.netattach.policy.decision");
        event.put("specversion", "0.3");
        assertFalse(AsyncApiSchemas.schema("CloudEvent").validate(event).isEmpty());
        event.put("specversion", "1.0");
        event.put("time", "yesterday");
        assertFalse(AsyncApiSchemas.schema("CloudEvent").validate(event).isEmpty(), "time must be date-time");
    }

    @Test
    void auditDataOutcomeMustBeKnown() throws Exception {
        ObjectNode audit = json.createObjectNode().put("outcome", "denied").put("rule", "rbac");
        assertTrue(AsyncApiSchemas.schema("AuditData").validate(audit).isEmpty());
        audit.put("outcome", "maybe");
        assertFalse(AsyncApiSchemas.schema("AuditData").validate(audit).isEmpty());
    }
}
