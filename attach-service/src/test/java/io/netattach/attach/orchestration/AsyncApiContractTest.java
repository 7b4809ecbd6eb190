package io.netattach.attach.orchestration;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The contract check the orchestration test relies on does reject what violates docs/asyncapi.yaml. */
class AsyncApiContractTest {
    private final ObjectMapper json = new ObjectMapper();
    private static final String ENVELOPE = """
            {"specversion":"1.0","id":"x","source":"/netattach/attach-service/local","type":"io.netattach.ipam.release",
             "time":"2026-01-01T00:00:00Z","datacontenttype":"application/json","netattachcluster":"local","data":%s}""";

    @Test
    void acceptsAWellFormedRelease() throws Exception {
        var ok = json.readTree(ENVELOPE.formatted("{\"requestId\":\"r\",\"owner\":{\"cluster\":\"c\",\"namespace\":\"n\",\"pod\":\"p\",\"podUid\":\"u\",\"interface\":null}}"));
        assertTrue(AsyncApiContract.violations(ok).isEmpty(), AsyncApiContract.violations(ok).toString());
    }

    @Test
    void everyRecordMustCarryTheStructuredModeContentTypeOfTheCloudEventsBinding() {
        assertTrue(AsyncApiContract.headerViolations(java.util.Map.of("content-type", "application/cloudevents+json")).isEmpty());
        assertFalse(AsyncApiContract.headerViolations(java.util.Map.of()).isEmpty(), "no content-type");
        assertFalse(AsyncApiContract.headerViolations(java.util.Map.of("content-type", "application/json")).isEmpty(), "binary mode's type");
    }

    @Test
    void aReleaseIsKeyedByItsPodUidAsItsKafkaBindingDeclares() throws Exception {
        var release = json.readTree(ENVELOPE.formatted("{\"requestId\":\"r\",\"owner\":{\"cluster\":\"c\",\"namespace\":\"n\",\"pod\":\"p\",\"podUid\":\"u\",\"interface\":null}}"));
        assertTrue(AsyncApiContract.keyViolations("u", release).isEmpty(), AsyncApiContract.keyViolations("u", release).toString());
        assertFalse(AsyncApiContract.keyViolations("c", release).isEmpty(), "keyed by the cluster id");
        assertFalse(AsyncApiContract.keyViolations(null, release).isEmpty(), "no key");
        var reconcile = json.readTree(ENVELOPE.replace("ipam.release", "ipam.reconcile")
                .formatted("{\"requestId\":\"r\",\"cluster\":\"c\",\"liveOwners\":[],\"snapshotTime\":\"2026-01-01T00:00:00Z\"}"));
        assertTrue(AsyncApiContract.keyViolations("c", reconcile).isEmpty(), "a reconcile is keyed by its cluster");
    }

    @Test
    void rejectsAReleaseWithoutOwnerAndAnUnknownType() throws Exception {
        assertFalse(AsyncApiContract.violations(json.readTree(ENVELOPE.formatted("{\"requestId\":\"r\"}"))).isEmpty());
        assertFalse(AsyncApiContract.violations(json.readTree(ENVELOPE.replace("ipam.release", "ipam.bogus").formatted("{}"))).isEmpty());
    }
}
