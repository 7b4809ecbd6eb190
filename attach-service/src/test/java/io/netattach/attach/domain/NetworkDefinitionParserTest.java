package io.netattach.attach.domain;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NetworkDefinitionParserTest {

    @Test
    void readsASinglePluginConfigWithItsIpamSectionAndFillsTheNameFromTheNad() throws Exception {
        NetworkDefinition d = NetworkDefinitionParser.parse("default", "macvlan-conf", """
                { "cniVersion": "0.3.1", "type": "macvlan", "master": "eth0", "mode": "bridge",
                  "ipam": { "type": "host-local", "subnet": "192.168.1.0/24", "gateway": "192.168.1.1" } }""", "intel.com/sriov");
        assertEquals("default/macvlan-conf", d.key());
        assertEquals("macvlan", d.cniConfig().path("type").asText());
        assertEquals("macvlan-conf", d.cniConfig().path("name").asText());
        assertEquals("192.168.1.0/24", d.ipam().path("subnet").asText());
        assertEquals("intel.com/sriov", d.resourceName());
    }

    @Test
    void readsAConflistTakingTheFirstIpamSection() throws Exception {
        NetworkDefinition d = NetworkDefinitionParser.parse("nfv", "chain", """
                { "cniVersion": "1.0.0", "name": "chain", "plugins": [
                    { "type": "bridge", "bridge": "br0", "ipam": { "type": "whereabouts", "range": "10.5.0.0/24" } },
                    { "type": "tuning", "sysctl": {} } ] }""", "");
        assertEquals(2, d.cniConfig().path("plugins").size());
        assertEquals("whereabouts", d.ipam().path("type").asText());
        assertNull(d.resourceName());
    }

    @Test
    void aConfigWithoutIpamHasNoIpam() throws Exception {
        assertNull(NetworkDefinitionParser.parse("a", "b", "{\"type\":\"macvlan\",\"ipam\":{}}", null).ipam());
        assertNull(NetworkDefinitionParser.parse("a", "b", "{\"type\":\"macvlan\"}", null).ipam());
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of(null, "\"spec.config\" is empty"),
                Arguments.of("  ", "\"spec.config\" is empty"),
                Arguments.of("{\"type\": ", "\"spec.config\" is not valid JSON"),
                Arguments.of("[1]", "\"spec.config\" must be a JSON object"),
                Arguments.of("{\"cniVersion\": 1, \"type\": \"x\"}", "cniVersion must be a string"),
                Arguments.of("{\"name\": 5, \"type\": \"x\"}", ".name must be a string"),
                Arguments.of("{\"master\": \"eth0\"}", "\"spec.config\".type is required"),
                Arguments.of("{\"plugins\": []}", "plugins must be a non-empty list"),
                Arguments.of("{\"plugins\": [{\"type\":\"bridge\"}, {\"sysctl\":{}}]}", "plugins[1].type is required"),
                Arguments.of("{\"type\":\"macvlan\",\"ipam\":\"host-local\"}", ".ipam must be an object"),
                Arguments.of("{\"type\":\"macvlan\",\"ipam\":{\"subnet\":\"10.0.0.0/24\"}}", ".ipam.type is required"),
                Arguments.of("{\"type\":\"macvlan\",\"mtu\":\"9000\",\"ipam\":{\"type\":\"static\"}}", ".mtu must be an integer"),
                // every plugin config, not only one with an ipam section
                Arguments.of("{\"type\":\"host-device\",\"device\":\"eth3\",\"mtu\":\"big\"}", "\"spec.config\".mtu must be an integer from 68 to 65535, got \"big\""),
                Arguments.of("{\"type\":\"macvlan\",\"mtu\":40}", ".mtu must be an integer from 68 to 65535, got 40"),
                Arguments.of("{\"type\":\"bridge\",\"mtu\":70000,\"ipam\":{\"type\":\"host-local\",\"subnet\":\"10.0.0.0/24\"}}", "got 70000"),
                Arguments.of("{\"cniVersion\":\"1.0.0\",\"plugins\":[{\"type\":\"macvlan\"},{\"type\":\"tuning\",\"mtu\":1.5}]}", "plugins[1].mtu must be an integer"));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("invalid")
    void rejectsAnUnusableConfigNamingTheNadAndTheField(String config, String fragment) {
        var e = assertThrows(InvalidDefinitionException.class, () -> NetworkDefinitionParser.parse("ns", "net", config, null));
        assertTrue(e.getMessage().startsWith("NetworkAttachmentDefinition ns/net: "), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), e.getMessage() + " should contain " + fragment);
    }
}
