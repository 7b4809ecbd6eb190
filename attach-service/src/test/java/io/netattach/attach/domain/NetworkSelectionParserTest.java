package io.netattach.attach.domain;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NetworkSelectionParserTest {

    /** annotation -> expected "namespace/name@interface[?request]" per element, default namespace "default". */
    static Stream<Arguments> accepted() {
        return Stream.of(
                // seed document
                Arguments.of("macvlan-conf", List.of("default/macvlan-conf@net1")),
                Arguments.of("macvlan-conf, ipvlan-conf, bridge-conf", List.of("default/macvlan-conf@net1", "default/ipvlan-conf@net2", "default/bridge-conf@net3")),
                Arguments.of("[\n  {\n    \"name\": \"macvlan-conf\",\n    \"ips\": [\"192.168.1.100/24\"]\n  }\n]\n", List.of("default/macvlan-conf@net1")),
                Arguments.of("[\n {\"name\": \"control-plane\", \"interface\": \"ctrl0\"},\n {\"name\": \"data-plane\", \"interface\": \"data0\"}\n]\n", List.of("default/control-plane@ctrl0!", "default/data-plane@data0!")),
                Arguments.of("[{\"name\": \"macvlan-conf\", \"interface\": \"storage\"},{\"name\": \"ipvlan-conf\", \"interface\": \"backup\"}]", List.of("default/macvlan-conf@storage!", "default/ipvlan-conf@backup!")),
                // comma syntax forms and whitespace
                Arguments.of("ns1/net-a", List.of("ns1/net-a@net1")),
                Arguments.of("net-a@eth5", List.of("default/net-a@eth5!")),
                Arguments.of("ns1/net-a@eth5", List.of("ns1/net-a@eth5!")),
                Arguments.of("  ns1 / net-a @ eth5 ,net-b  ", List.of("ns1/net-a@eth5!", "default/net-b@net2")),
                Arguments.of("\tnet-a\n,\nnet-b\t", List.of("default/net-a@net1", "default/net-b@net2")),
                Arguments.of("net-a@", List.of("default/net-a@net1")),
                // numbering counts every element, named ones included (Multus: delegate index)
                Arguments.of("a@x1, b, c@x3, d", List.of("default/a@x1!", "default/b@net2", "default/c@x3!", "default/d@net4")),
                // the same NAD twice is allowed: two interfaces
                Arguments.of("a, a", List.of("default/a@net1", "default/a@net2")),
                Arguments.of("0net, a-b-c, 123", List.of("default/0net@net1", "default/a-b-c@net2", "default/123@net3")),
                Arguments.of("a@" + "x".repeat(15), List.of("default/a@" + "x".repeat(15) + "!")),
                Arguments.of("[{\"name\":\"a\",\"interface\":\"\u00e9th0\"}]", List.of("default/a@\u00e9th0!")),
                // JSON: namespace, empty interface = none requested, pre-3.2 "interfaceRequest", case-insensitive keys
                Arguments.of("[{\"name\":\"a\",\"namespace\":\"other\"}]", List.of("other/a@net1")),
                Arguments.of("[{\"name\":\"a\",\"namespace\":\"\",\"interface\":\"\"}]", List.of("default/a@net1")),
                Arguments.of("[{\"name\":\"a\",\"interfaceRequest\":\"old0\"}]", List.of("default/a@old0!")),
                Arguments.of("[{\"Name\":\"a\",\"INTERFACE\":\"up0\"}]", List.of("default/a@up0!")),
                Arguments.of("[{\"name\":\"my.net.v1\"}]", List.of("default/my.net.v1@net1")),
                Arguments.of("[{\"name\":\"a\",\"unknown-field\":42}]", List.of("default/a@net1")),
                Arguments.of("[]", List.of()),
                Arguments.of("", List.of()),
                Arguments.of("   ", List.of())
        );
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("accepted")
    void acceptsWhatMultusAccepts(String annotation, List<String> expected) throws Exception {
        List<NetworkSelection> got = NetworkSelectionParser.parse(annotation, "default");
        List<String> shown = got.stream()
                .map(s -> s.network() + "@" + s.interfaceName() + (s.interfaceRequest() != null ? "!" : ""))
                .toList();
        assertEquals(expected, shown);
        for (int i = 0; i < got.size(); i++) assertEquals(i + 1, got.get(i).position());
    }

    /** annotation -> fragments the error message must contain (what and where). */
    static Stream<Arguments> rejected() {
        return Stream.of(
                // comma syntax
                Arguments.of("a,,b", List.of("element 2", "empty network reference")),
                Arguments.of("a,", List.of("element 2", "empty network reference")),
                Arguments.of("a/b/c", List.of("element 1", "more than one '/'")),
                Arguments.of("a@b@c", List.of("element 1", "more than one '@'")),
                Arguments.of("ns/", List.of("element 1", "empty network name")),
                Arguments.of("@eth1", List.of("element 1", "empty network name")),
                Arguments.of("ok, Bad_Name", List.of("element 2", "\"Bad_Name\"", "DNS-1123 label")),
                Arguments.of("my.net", List.of("element 1", "\"my.net\"", "DNS-1123 label")),
                Arguments.of("-a", List.of("element 1", "DNS-1123 label")),
                Arguments.of("NS/a", List.of("element 1", "\"namespace\"", "\"NS\"")),
                Arguments.of("a@" + "x".repeat(16), List.of("element 1", "\"interface\"", "longer than 15 bytes")),
                Arguments.of("a@eth 1", List.of("element 1", "whitespace", "\"eth 1\"")),
                Arguments.of("a@eth:1", List.of("element 1", "contains ':'")),
                Arguments.of("[{\"name\":\"a\",\"interface\":\"eth\u00a01\"}]", List.of("element 1", "whitespace")),
                Arguments.of("[{\"name\":\"a\",\"interface\":\"x\u0120y\"}]", List.of("element 1", "0xA0")),
                Arguments.of("[{\"name\":\"a\",\"interface\":\"eth\\t1\"}]", List.of("element 1", "whitespace")),
                Arguments.of("a@.", List.of("element 1", "'.' and '..'")),
                Arguments.of("a@..", List.of("element 1", "'.' and '..'")),
                Arguments.of("a@x, b@x", List.of("element 2", "interface \"x\" is already used by element 1")),
                Arguments.of("a@net2, b", List.of("element 2", "interface \"net2\" is already used by element 1")),
                // JSON structure
                Arguments.of("[{\"name\": \"a\"", List.of("not valid JSON")),
                Arguments.of("{\"name\": \"a\"}", List.of("not a list")),
                Arguments.of("\"a\"", List.of("not a list")),
                Arguments.of("[\"a\"]", List.of("element 1", "expected an object")),
                Arguments.of("[{}]", List.of("element 1", "\"name\" is required")),
                Arguments.of("[{\"name\": \"\"}]", List.of("element 1", "\"name\" is required")),
                Arguments.of("[{\"name\": 5}]", List.of("element 1", "\"name\" must be a string")),
                Arguments.of("[{\"name\": \"ns/a\"}]", List.of("element 1", "\"name\"", "\"ns/a\"")),
                Arguments.of("[{\"name\": \"A\"}]", List.of("element 1", "\"name\"", "DNS-1123 subdomain")),
                Arguments.of("[{\"name\":\"a\",\"namespace\":\"x.y\"}]", List.of("element 1", "\"namespace\"", "\"x.y\"")),
                // interface
                Arguments.of("[{\"name\":\"a\"},{\"name\":\"b\",\"interface\":\"averyveryverylong0\"}]", List.of("element 2", "\"interface\"", "longer than 15 bytes")),
                Arguments.of("[{\"name\":\"a\",\"interface\":\"a/b\"}]", List.of("element 1", "contains '/'")),
                Arguments.of("[{\"name\":\"a\",\"interface\":\"é\".repeat(8)}]".replace("\"é\".repeat(8)", "\"éééééééé\""), List.of("element 1", "longer than 15 bytes")),
                Arguments.of("[{\"name\":\"a\",\"interface\":\"x\"},{\"name\":\"b\",\"interface\":\"x\"}]", List.of("element 2", "already used by element 1")),
                Arguments.of("[{\"name\":\"a\",\"interface\":7}]", List.of("element 1", "\"interface\" must be a string")),
                // ips
                Arguments.of("[{\"name\":\"a\",\"ips\":\"10.0.0.1\"}]", List.of("element 1", "\"ips\" must be a list")),
                Arguments.of("[{\"name\":\"a\",\"ips\":[\"10.0.0.256/24\"]}]", List.of("element 1", "\"ips\"", "\"10.0.0.256/24\"")),
                Arguments.of("[{\"name\":\"a\",\"ips\":[\"10.0.0.1/33\"]}]", List.of("element 1", "\"10.0.0.1/33\"")),
                Arguments.of("[{\"name\":\"a\",\"ips\":[\"fd00::1/129\"]}]", List.of("element 1", "\"fd00::1/129\"")),
                Arguments.of("[{\"name\":\"a\",\"ips\":[\"host.example\"]}]", List.of("element 1", "\"host.example\"")),
                Arguments.of("[{\"name\":\"a\",\"ips\":[\"010.0.0.1\"]}]", List.of("element 1", "\"010.0.0.1\"")),
                Arguments.of("[{\"name\":\"a\",\"ips\":[\"[fd00::1]\"]}]", List.of("element 1", "\"[fd00::1]\"")),
                Arguments.of("[{\"name\":\"a\",\"ips\":[1]}]", List.of("element 1", "list of strings")),
                // mac
                Arguments.of("[{\"name\":\"a\"},{\"name\":\"b\",\"mac\":\"zz:01:02:03:04:05\"}]", List.of("element 2: \"mac\" is not a valid MAC address: \"zz:01:02:03:04:05\"")),
                Arguments.of("[{\"name\":\"a\",\"mac\":\"02:00:00:00:00\"}]", List.of("element 1", "\"mac\"")),
                Arguments.of("[{\"name\":\"a\",\"mac\":\"02:00:00:00:00:00:00:01\"}]", List.of("element 1", "\"mac\"")),
                Arguments.of("[{\"name\":\"a\",\"mac\":\"02:00-00:00:00:01\"}]", List.of("element 1", "\"mac\"")),
                // default-route
                Arguments.of("[{\"name\":\"a\",\"default-route\":[\"10.0.0.1/24\"]}]", List.of("element 1", "\"default-route\"", "\"10.0.0.1/24\"")),
                Arguments.of("[{\"name\":\"a\",\"default-route\":\"10.0.0.1\"}]", List.of("element 1", "\"default-route\" must be a list")),
                // cni-args, portMappings, bandwidth
                Arguments.of("[{\"name\":\"a\",\"cni-args\":[1]}]", List.of("element 1", "\"cni-args\" must be an object")),
                Arguments.of("[{\"name\":\"a\",\"portMappings\":{}}]", List.of("element 1", "\"portMappings\" must be a list")),
                Arguments.of("[{\"name\":\"a\",\"portMappings\":[{\"containerPort\":\"80\"}]}]", List.of("element 1", "entry 1", "\"containerPort\"")),
                Arguments.of("[{\"name\":\"a\",\"portMappings\":[{\"hostPort\":70000}]}]", List.of("element 1", "\"hostPort\"", "70000")),
                Arguments.of("[{\"name\":\"a\",\"portMappings\":[{\"hostIP\":\"nope\"}]}]", List.of("element 1", "\"hostIP\"")),
                Arguments.of("[{\"name\":\"a\",\"bandwidth\":[]}]", List.of("element 1", "\"bandwidth\" must be an object")),
                Arguments.of("[{\"name\":\"a\",\"bandwidth\":{\"ingressRate\":-1}}]", List.of("element 1", "ingressRate")),
                Arguments.of("[{\"name\":\"a\",\"bandwidth\":{\"egressBurst\":\"1M\"}}]", List.of("element 1", "egressBurst")),
                // infiniband-guid, ipam-claim-reference
                Arguments.of("[{\"name\":\"a\",\"infiniband-guid\":\"not-a-guid\"}]", List.of("element 1", "\"infiniband-guid\"", "\"not-a-guid\"")),
                Arguments.of("[{\"name\":\"a\",\"ipam-claim-reference\":\"Bad Claim\"}]", List.of("element 1", "\"ipam-claim-reference\"", "\"Bad Claim\"")),
                Arguments.of("[{\"name\":\"a\",\"ipam-claim-reference\":3}]", List.of("element 1", "\"ipam-claim-reference\" must be a string"))
        );
    }

    @Test
    void acceptsWhatMultusAcceptsInTheCommaSyntax() throws Exception {
        // "/name": the empty namespace is the pod's own
        NetworkSelection own = NetworkSelectionParser.parse("/macvlan-conf@data0", "tenant").getFirst();
        assertEquals("tenant", own.namespace());
        assertEquals("macvlan-conf", own.name());
        assertEquals("data0", own.interfaceName());
        // a NAD name longer than a DNS label (63): Kubernetes allows 253, and Multus checks only the pattern
        String longName = "n".repeat(200);
        assertEquals(longName, NetworkSelectionParser.parse("other/" + longName, "tenant").getFirst().name());
        assertEquals(longName, NetworkSelectionParser.parse("[{\"name\": \"" + longName + "\"}]", "tenant").getFirst().name());
        InvalidSelectionException tooLong = assertThrows(InvalidSelectionException.class, () -> NetworkSelectionParser.parse("n".repeat(254), "tenant"));
        assertTrue(tooLong.getMessage().contains("at most 253 characters"), tooLong.getMessage());
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("rejected")
    void rejectsWithAMessageSayingWhatAndWhere(String annotation, List<String> fragments) {
        InvalidSelectionException e = assertThrows(InvalidSelectionException.class, () -> NetworkSelectionParser.parse(annotation, "default"));
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), () -> "message " + e.getMessage() + " should contain " + f);
        }
    }

    @Test
    void readsEverySpecFieldOfTheJsonSyntax() throws Exception {
        String annotation = """
                [{"name": "net-a", "namespace": "ns1", "interface": "data0",
                  "ips": ["10.1.0.5/24", "fd00::5"], "mac": "02:00:00:aa:bb:cc",
                  "default-route": ["10.1.0.1"], "cni-args": {"foo": "bar"},
                  "portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}],
                  "bandwidth": {"ingressRate": 1000, "ingressBurst": 100, "egressRate": 2000, "egressBurst": 200},
                  "infiniband-guid": "c2:11:22:33:44:55:66:77", "ipam-claim-reference": "claim-1"},
                 {"name": "net-b"}]
                """;
        List<NetworkSelection> got = NetworkSelectionParser.parse(annotation, "default");
        NetworkSelection a = got.get(0);
        assertEquals("ns1", a.namespace());
        assertEquals("net-a", a.name());
        assertEquals("data0", a.interfaceName());
        assertEquals("data0", a.interfaceRequest());
        assertEquals(List.of("10.1.0.5/24", "fd00::5"), a.ips());
        assertEquals("02:00:00:aa:bb:cc", a.mac());
        assertEquals(List.of("10.1.0.1"), a.defaultRoute());
        assertEquals("bar", a.cniArgs().get("foo").asText());
        assertEquals(8080, a.portMappings().get(0).get("hostPort").asInt());
        assertEquals(2000, a.bandwidth().get("egressRate").asInt());
        assertEquals("c2:11:22:33:44:55:66:77", a.infinibandGuid());
        assertEquals("claim-1", a.ipamClaimReference());
        NetworkSelection b = got.get(1);
        assertEquals("default", b.namespace());
        assertEquals("net2", b.interfaceName());
        assertNull(b.interfaceRequest());
        assertNull(b.ips());
        assertNull(b.mac());
        assertNull(b.cniArgs());
        assertNull(b.portMappings());
        assertNull(b.bandwidth());
    }

    @Test
    void acceptsEveryMacNotationGoParsesAndIpv6Forms() throws Exception {
        for (String mac : List.of("02:00:5E:10:00:01", "02-00-5e-10-00-01", "0200.5e10.0001")) {
            String ann = "[{\"name\":\"a\",\"mac\":\"" + mac + "\"}]";
            assertEquals(mac, NetworkSelectionParser.parse(ann, "default").get(0).mac());
        }
        for (String ip : List.of("::1", "fd00::/64", "2001:db8::1/128", "::ffff:10.0.0.1", "0.0.0.0/0", "10.0.0.1")) {
            String ann = "[{\"name\":\"a\",\"ips\":[\"" + ip + "\"]}]";
            assertEquals(List.of(ip), NetworkSelectionParser.parse(ann, "default").get(0).ips());
        }
        for (String guid : List.of("c2:11:22:33:44:55:66:77", "02:00:5e:10:00:01")) {
            String ann = "[{\"name\":\"a\",\"infiniband-guid\":\"" + guid + "\"}]";
            assertEquals(guid, NetworkSelectionParser.parse(ann, "default").get(0).infinibandGuid());
        }
    }

    @Test
    void rejectsAnInvalidPodNamespace() {
        InvalidSelectionException e = assertThrows(InvalidSelectionException.class, () -> NetworkSelectionParser.parse("a", "Bad NS"));
        assertTrue(e.getMessage().contains("\"namespace\""), e.getMessage());
    }
}
