package io.netattach.lab;

import com.fasterxml.jackson.databind.JsonNode;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

/** ipam-service's REST view, as an operator sees it: which pod UIDs hold addresses right now. */
final class Ipam {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final String BASE = System.getProperty("netattach.ipam.url", "http://127.0.0.1:8081");

    private Ipam() {
    }

    static Set<String> holders() {
        Set<String> uids = new HashSet<>();
        for (JsonNode pool : get("/api/v1/pools")) {
            String name = URLEncoder.encode(pool.path("name").asText(), StandardCharsets.UTF_8);
            for (JsonNode a : get("/api/v1/pools/" + name + "/allocations")) {
                uids.add(a.path("owner").path("podUid").asText());
            }
        }
        return uids;
    }

    /** Every address ipam-service holds for the pod, over all pools. */
    static Set<String> addressesOf(String podUid) {
        Set<String> out = new HashSet<>();
        for (JsonNode pool : get("/api/v1/pools")) {
            String name = URLEncoder.encode(pool.path("name").asText(), StandardCharsets.UTF_8);
            for (JsonNode a : get("/api/v1/pools/" + name + "/allocations")) {
                if (podUid.equals(a.path("owner").path("podUid").asText())) out.add(a.path("address").asText());
            }
        }
        return out;
    }

    /** PUT or POST a JSON body; returns the status code and body. */
    static HttpResponse<String> send(String method, String path, String json) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create(BASE + path)).header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (java.io.IOException e) {
            throw new IllegalStateException(method + " " + path + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static JsonNode get(String path) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(BASE + path)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IllegalStateException("GET " + path + " answered " + r.statusCode() + ": " + r.body());
            }
            return LabWorld.JSON.readTree(r.body());
        } catch (java.io.IOException e) {
            throw new IllegalStateException("GET " + path + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
