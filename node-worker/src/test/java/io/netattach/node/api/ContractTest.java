package io.netattach.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netattach.node.domain.Commands;
import io.netattach.node.domain.InterfaceReport;
import io.netattach.node.domain.PodRef;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ContractTest {
    private final EventJson json = new EventJson(new ObjectMapper(), "local", "node-a");
    private final PodRef pod = new PodRef("default", "web", "uid-1");

    @Test
    void resultsFollowTheContractAndTheCheckerCatchesViolations() throws Exception {
        Commands.Result ok = new Commands.Result("r1", pod, true, false, "/var/run/netns/p",
                List.of(new InterfaceReport("default/net-a", "net1", "02:00:00:00:00:01", 1500, List.of("10.0.0.5/24"), "/var/run/netns/p", null)), null, null);
        JsonNode ev = new ObjectMapper().readTree(json.result(ok));
        assertEquals(List.of(), Contract.checkEvent(ev, "NodeResultData"));
        assertEquals("r1/result", ev.get("id").asText());

        Commands.Result failed = new Commands.Result("r2", pod, false, false, null, List.of(), "NotFound", "master \"eth9\" not found");
        assertEquals(List.of(), Contract.checkEvent(new ObjectMapper().readTree(json.result(failed)), "NodeResultData"));

        Commands.Result unsupported = new Commands.Result("r4", pod, false, false, null, List.of(), "Unsupported", "this node's kernel cannot make ipvlan interfaces");
        assertEquals(List.of(), Contract.checkEvent(new ObjectMapper().readTree(json.result(unsupported)), "NodeResultData"));
        Commands.Result withSkip = new Commands.Result("r5", pod, true, false, "/var/run/netns/p",
                List.of(InterfaceReport.skipped("default/ipvlan-conf", "net2", "/var/run/netns/p", "this node's kernel cannot make ipvlan interfaces")), null, null);
        JsonNode skipEvent = new ObjectMapper().readTree(json.result(withSkip));
        assertEquals(List.of(), Contract.checkEvent(skipEvent, "NodeResultData"));
        assertTrue(skipEvent.at("/data/interfaces/0/skipped").asBoolean(), skipEvent.toString());

        Commands.Result badReason = new Commands.Result("r3", pod, false, false, null, List.of(), "Oops", "x");
        List<String> errors = Contract.checkEvent(new ObjectMapper().readTree(json.result(badReason)), "NodeResultData");
        assertTrue(errors.stream().anyMatch(e -> e.startsWith("data.error")), errors.toString());

        JsonNode missing = new ObjectMapper().readTree("{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"s\",\"type\":\"io.netattach.node.result\",\"time\":\"t\",\"datacontenttype\":\"application/json\",\"data\":{\"node\":\"n\"}}");
        assertTrue(Contract.checkEvent(missing, "NodeResultData").contains("data.requestId: required"));
    }

    @Test
    void sandboxAndInventoryEventsFollowTheContract() throws Exception {
        Commands.Sandbox sb = new Commands.Sandbox(pod, "c1", "/var/run/netns/p");
        assertEquals(List.of(), Contract.checkEvent(new ObjectMapper().readTree(json.sandbox(sb, "added")), "NodeSandboxData"));
        assertEquals(List.of(), Contract.checkEvent(new ObjectMapper().readTree(json.inventory("inv/1", java.util.Map.of(sb,
                List.of(new InterfaceReport("default/net-a", "net1", null, null, List.of(), "/p", null))))), "NodeInventoryData"));
    }
}
