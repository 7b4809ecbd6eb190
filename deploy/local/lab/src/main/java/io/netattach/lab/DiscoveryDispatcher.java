package io.netattach.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Answers what kubectl needs beyond fabric8's CRUD dispatcher: /version, the legacy discovery documents
 * (/api, /api/v1, /apis, /apis/group/version, including the groups of CRDs stored in the server, computed on
 * each request) and an empty OpenAPI v2 document. Everything else goes to a CRUD dispatcher unchanged: pods to
 * one, Events to another, every other kind to a third. fabric8's dispatcher scans every object it holds on every
 * request, under one lock, so with one store each pod request also scanned the Events (as many as the pods in the
 * attach benchmark); a real API server keeps each resource in its own part of etcd. Each store has its own
 * resourceVersion counter, which clients treat as opaque per resource, as they must.
 */
final class DiscoveryDispatcher extends Dispatcher {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One resource: group ("" = core), version, plural, kind, namespaced, kubectl short names. */
    record Resource(String group, String version, String plural, String kind, boolean namespaced, List<String> shortNames) {
        Resource(String group, String version, String plural, String kind, boolean namespaced, String... shortNames) {
            this(group, version, plural, kind, namespaced, List.of(shortNames));
        }
    }

    private static final List<Resource> BUILT_IN = List.of(
            new Resource("", "v1", "pods", "Pod", true, "po"),
            new Resource("", "v1", "pods/status", "Pod", true),
            new Resource("", "v1", "services", "Service", true, "svc"),
            new Resource("", "v1", "configmaps", "ConfigMap", true, "cm"),
            new Resource("", "v1", "secrets", "Secret", true),
            new Resource("", "v1", "serviceaccounts", "ServiceAccount", true, "sa"),
            new Resource("", "v1", "events", "Event", true, "ev"),
            new Resource("", "v1", "namespaces", "Namespace", false, "ns"),
            new Resource("", "v1", "nodes", "Node", false, "no"),
            new Resource("apps", "v1", "deployments", "Deployment", true, "deploy"),
            new Resource("apps", "v1", "statefulsets", "StatefulSet", true, "sts"),
            new Resource("apps", "v1", "daemonsets", "DaemonSet", true, "ds"),
            new Resource("apps", "v1", "replicasets", "ReplicaSet", true, "rs"),
            new Resource("rbac.authorization.k8s.io", "v1", "roles", "Role", true),
            new Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true),
            new Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
            new Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false),
            new Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false, "crd", "crds"),
            new Resource("coordination.k8s.io", "v1", "leases", "Lease", true),
            new Resource("events.k8s.io", "v1", "events", "Event", true),
            new Resource("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", false));

    private final KubernetesCrudDispatcher crud;
    private final KubernetesCrudDispatcher pods;
    private final KubernetesCrudDispatcher events;
    private final String serverAddress;

    /** crud: every kind but pods and Events (CRDs too, which discovery reads). */
    DiscoveryDispatcher(KubernetesCrudDispatcher crud, KubernetesCrudDispatcher pods, KubernetesCrudDispatcher events, String serverAddress) {
        this.crud = crud;
        this.pods = pods;
        this.events = events;
        this.serverAddress = serverAddress;
    }

    /** The store of the resource a path names: /api/v1/[namespaces/NS/]pods|events[/...], /apis/events.k8s.io/... */
    KubernetesCrudDispatcher storeOf(String bare) {
        if (bare.startsWith("/apis/events.k8s.io/")) {
            return events;
        }
        if (!bare.startsWith("/api/v1/")) {
            return crud;
        }
        String rest = bare.substring("/api/v1/".length());
        if (rest.startsWith("namespaces/")) {
            int slash = rest.indexOf('/', "namespaces/".length());
            if (slash < 0) {
                return crud; // a Namespace itself
            }
            rest = rest.substring(slash + 1);
        }
        String resource = rest.indexOf('/') < 0 ? rest : rest.substring(0, rest.indexOf('/'));
        return switch (resource) {
            case "pods" -> pods;
            case "events" -> events;
            default -> crud;
        };
    }

    @Override
    public MockResponse dispatch(RecordedRequest request) {
        String path = request.getPath();
        int query = path.indexOf('?');
        String bare = query < 0 ? path : path.substring(0, query);
        if ("GET".equals(request.getMethod())) {
            MockResponse discovery = discovery(bare);
            if (discovery != null) {
                return discovery;
            }
        }
        return storeOf(bare).dispatch(request);
    }

    private MockResponse discovery(String path) {
        List<Resource> all = allResources();
        switch (path) {
            case "/version":
                return json(200, JSON.createObjectNode().put("major", "1").put("minor", "32")
                        .put("gitVersion", "v1.32.0-netattach-lab-standin").put("platform", "linux/amd64"));
            case "/api":
                ObjectNode api = JSON.createObjectNode().put("kind", "APIVersions");
                api.putArray("versions").add("v1");
                api.putArray("serverAddressByClientCIDRs").addObject().put("clientCIDR", "0.0.0.0/0")
                        .put("serverAddress", serverAddress);
                return json(200, api);
            case "/apis":
                ObjectNode list = JSON.createObjectNode().put("kind", "APIGroupList").put("apiVersion", "v1");
                ArrayNode groups = list.putArray("groups");
                groupVersions(all).forEach((group, versions) -> {
                    if (group.isEmpty()) {
                        return;
                    }
                    ObjectNode g = groups.addObject().put("name", group);
                    ArrayNode vs = g.putArray("versions");
                    versions.forEach(v -> vs.addObject().put("groupVersion", group + "/" + v).put("version", v));
                    g.putObject("preferredVersion").put("groupVersion", group + "/" + versions.getFirst())
                            .put("version", versions.getFirst());
                });
                return json(200, list);
            case "/openapi/v2":
                // kubectl's client-side validation accepts an empty protobuf document and then skips validation.
                return new MockResponse().setResponseCode(200)
                        .setHeader("Content-Type", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
                        .setBody("");
            case "/openapi/v3":
                return json(404, status(404, "NotFound", "OpenAPI v3 is not served by the lab API server"));
            default:
                break;
        }
        if (path.equals("/api/v1")) {
            return json(200, resourceList("v1", all.stream().filter(r -> r.group().isEmpty()).toList()));
        }
        if (path.startsWith("/apis/")) {
            String[] parts = path.substring(6).split("/");
            if (parts.length == 2) {
                List<Resource> of = all.stream()
                        .filter(r -> r.group().equals(parts[0]) && r.version().equals(parts[1])).toList();
                return of.isEmpty() ? null : json(200, resourceList(parts[0] + "/" + parts[1], of));
            }
        }
        return null;
    }

    /** Built-in resources plus one per version of every CRD stored in the server right now. */
    private List<Resource> allResources() {
        List<Resource> all = new ArrayList<>(BUILT_IN);
        MockResponse crds = crud.handleGet("/apis/apiextensions.k8s.io/v1/customresourcedefinitions");
        if (crds.code() == 200) {
            try {
                JsonNode items = JSON.readTree(crds.getBody().readUtf8()).path("items");
                for (JsonNode crd : items) {
                    JsonNode spec = crd.path("spec");
                    String group = spec.path("group").asText();
                    boolean namespaced = "Namespaced".equals(spec.path("scope").asText());
                    String plural = spec.path("names").path("plural").asText();
                    String kind = spec.path("names").path("kind").asText();
                    List<String> shortNames = new ArrayList<>();
                    spec.path("names").path("shortNames").forEach(n -> shortNames.add(n.asText()));
                    for (JsonNode v : spec.path("versions")) {
                        all.add(new Resource(group, v.path("name").asText(), plural, kind, namespaced, shortNames));
                        if (v.path("subresources").has("status")) {
                            all.add(new Resource(group, v.path("name").asText(), plural + "/status", kind, namespaced));
                        }
                    }
                }
            } catch (Exception e) {
                System.err.println("lab API server: cannot read stored CRDs for discovery: " + e.getMessage());
            }
        }
        return all;
    }

    private static Map<String, List<String>> groupVersions(List<Resource> all) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (Resource r : all) {
            List<String> versions = out.computeIfAbsent(r.group(), k -> new ArrayList<>());
            if (!versions.contains(r.version())) {
                versions.add(r.version());
            }
        }
        return out;
    }

    private static ObjectNode resourceList(String groupVersion, List<Resource> resources) {
        ObjectNode list = JSON.createObjectNode().put("kind", "APIResourceList").put("apiVersion", "v1")
                .put("groupVersion", groupVersion);
        ArrayNode items = list.putArray("resources");
        for (Resource r : resources) {
            ObjectNode item = items.addObject().put("name", r.plural()).put("singularName", "")
                    .put("namespaced", r.namespaced()).put("kind", r.kind());
            ArrayNode shortNames = item.putArray("shortNames");
            r.shortNames().forEach(shortNames::add);
            ArrayNode verbs = item.putArray("verbs");
            if (r.plural().endsWith("/status")) {
                List.of("get", "patch", "update").forEach(verbs::add);
            } else if (r.kind().equals("SubjectAccessReview")) {
                verbs.add("create");
            } else {
                List.of("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
                        .forEach(verbs::add);
            }
        }
        return list;
    }

    private static ObjectNode status(int code, String reason, String message) {
        return JSON.createObjectNode().put("kind", "Status").put("apiVersion", "v1").put("status", "Failure")
                .put("reason", reason).put("message", message).put("code", code);
    }

    private static MockResponse json(int code, JsonNode body) {
        return new MockResponse().setResponseCode(code).setHeader("Content-Type", "application/json")
                .setBody(body.toString());
    }
}
