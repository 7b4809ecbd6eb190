package io.netattach.attach.api;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import io.restassured.http.ContentType;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.nullValue;

@QuarkusTest
@WithKubernetesTestServer(crud = true)
class NetworkSelectionResourceTest {

    @Test
    void resolvesCommaSyntaxWithDefaultNamesAndNullsForAbsentFields() {
        given().contentType(ContentType.JSON)
                .body(Map.of("namespace", "nfv", "annotation", "macvlan-conf, other/ipvlan-conf@data0"))
                .when().post("/api/v1/network-selections")
                .then().statusCode(200)
                .body("elements", hasSize(2))
                .body("elements[0].name", equalTo("macvlan-conf"))
                .body("elements[0].namespace", equalTo("nfv"))
                .body("elements[0].interface", equalTo("net1"))
                .body("elements[0]", hasKey("interfaceRequest"))
                .body("elements[0].interfaceRequest", nullValue())
                .body("elements[0]", hasKey("ips"))
                .body("elements[0]", hasKey("ipamClaimReference"))
                .body("elements[0].mac", nullValue())
                .body("elements[1].namespace", equalTo("other"))
                .body("elements[1].interface", equalTo("data0"))
                .body("elements[1].interfaceRequest", equalTo("data0"));
    }

    @Test
    void returnsEveryJsonFieldUnderItsApiName() {
        String annotation = "[{\"name\":\"a\",\"ips\":[\"10.0.0.5/24\"],\"mac\":\"02:00:00:00:00:01\",\"default-route\":[\"10.0.0.1\"],"
                + "\"cni-args\":{\"k\":\"v\"},\"portMappings\":[{\"hostPort\":80,\"containerPort\":8080}],\"bandwidth\":{\"ingressRate\":5},"
                + "\"infiniband-guid\":\"c2:11:22:33:44:55:66:77\",\"ipam-claim-reference\":\"claim-a\"}]";
        given().contentType(ContentType.JSON).body(Map.of("namespace", "default", "annotation", annotation))
                .when().post("/api/v1/network-selections")
                .then().statusCode(200)
                .body("elements[0].interface", equalTo("net1"))
                .body("elements[0].ips[0]", equalTo("10.0.0.5/24"))
                .body("elements[0].mac", equalTo("02:00:00:00:00:01"))
                .body("elements[0].defaultRoute[0]", equalTo("10.0.0.1"))
                .body("elements[0].cniArgs.k", equalTo("v"))
                .body("elements[0].portMappings[0].containerPort", equalTo(8080))
                .body("elements[0].bandwidth.ingressRate", equalTo(5))
                .body("elements[0].infinibandGuid", equalTo("c2:11:22:33:44:55:66:77"))
                .body("elements[0].ipamClaimReference", equalTo("claim-a"));
    }

    @Test
    void answers422WithTheParserMessage() {
        given().contentType(ContentType.JSON)
                .body(Map.of("namespace", "default", "annotation", "[{\"name\":\"a\"},{\"name\":\"b\",\"mac\":\"zz:01:02:03:04:05\"}]"))
                .when().post("/api/v1/network-selections")
                .then().statusCode(422)
                .body("error", equalTo("element 2: \"mac\" is not a valid MAC address: \"zz:01:02:03:04:05\""));
    }


    @Test
    void emptyAnnotationGivesAnEmptyList() {
        given().contentType(ContentType.JSON).body(Map.of("namespace", "default", "annotation", ""))
                .when().post("/api/v1/network-selections")
                .then().statusCode(200).body("elements", hasSize(0));
    }
}
