package io.netattach.policy.domain;

import io.netattach.policy.domain.crd.AttachmentPolicies;
import io.netattach.policy.domain.crd.AttachmentPolicy;
import io.netattach.policy.domain.crd.LabelSelector;
import io.netattach.policy.domain.crd.PolicySource;
import io.netattach.policy.domain.rbac.Binding;
import io.netattach.policy.domain.rbac.LocalAccessReview;
import io.netattach.policy.domain.rbac.RbacSource;
import io.netattach.policy.domain.rbac.Role;
import io.netattach.policy.domain.rbac.RoleRule;
import io.netattach.policy.domain.rbac.Subject;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Decisions per second of the gate with the local RBAC evaluator, over an indexed in-memory cluster the size of a
 * big multi-tenant one. Not a test: run bench/decision-benchmark.sh. Prints figures, asserts nothing.
 */
public final class DecisionBenchmark {
    public static void main(String[] args) {
        int namespaces = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        int policiesPerNs = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 200_000;

        Map<String, List<Binding>> bindings = new HashMap<>();
        Map<String, Role> roles = new HashMap<>();
        List<AttachmentPolicy> policies = new ArrayList<>();
        for (int i = 0; i < namespaces; i++) {
            String ns = "tenant-" + i;
            roles.put(ns + "/nad-user", new Role(ns, "nad-user", List.of(new RoleRule(List.of("k8s.cni.cncf.io"),
                    List.of("network-attachment-definitions"), List.of("get", "use"), List.of("net-a", "net-b")))));
            List<Binding> bs = new ArrayList<>();
            for (int b = 0; b < 5; b++) {
                bs.add(new Binding(ns, "other-" + b, "Role", "other", List.of(new Subject("ServiceAccount", "sa-" + b, ns))));
            }
            bs.add(new Binding(ns, "nad-users", "Role", "nad-user", List.of(new Subject("Group", "system:serviceaccounts:" + ns, null))));
            bindings.put(ns, bs);
            for (int p = 0; p < policiesPerNs; p++) {
                policies.add(new AttachmentPolicy(new PolicyRef(ns, "p" + p), null, new LabelSelector(Map.of("app", "db" + p), List.of()),
                        List.of("net-a", "net-b"), 4, true, List.of("10.0.0.0/8"), false, false));
            }
        }
        RbacSource rbac = new RbacSource() {
            @Override public boolean ready() { return true; }
            @Override public long version() { return 1; }
            @Override public List<Binding> roleBindings(String ns) { return bindings.getOrDefault(ns, List.of()); }
            @Override public List<Binding> clusterRoleBindings() { return List.of(); }
            @Override public Optional<Role> role(String ns, String name) { return Optional.ofNullable(roles.get(ns + "/" + name)); }
            @Override public Optional<Role> clusterRole(String name) { return Optional.empty(); }
        };
        PolicySource source = new PolicySource() {
            @Override public boolean ready() { return true; }
            @Override public long version() { return 1; }
            @Override public List<AttachmentPolicy> policies() { return policies; }
            @Override public Map<String, String> namespaceLabels(String ns) { return Map.of(); }
        };
        for (Duration ttl : List.of(Duration.ZERO, Duration.ofSeconds(5))) {
            // RBAC on every NAD (the cluster-wide switch), so every network costs an evaluation
            PolicyGate gate = new PolicyGate(new NamespaceIsolation(true, Set.of()),
                    new ServiceAccountAccess(true, "use", new LocalAccessReview(rbac), new InMemoryNetworks()),
                    new AttachmentPolicies(true, false, source), false, new DecisionCache(ttl, Clock.systemUTC()));
            int allowed = 0;
            long start = 0;
            for (int r = -rounds / 5; r < rounds; r++) { // the first fifth warms the JIT
                if (r == 0) start = System.nanoTime();
                String ns = "tenant-" + Math.floorMod(r, namespaces);
                PodRef pod = new PodRef(ns, "pod-" + r, "uid-" + r, "app", Map.of("app", "db" + Math.floorMod(r, 3)));
                var req = new PolicyRequest("b-" + r, "bench", pod, List.of(
                        new Selection(ns, "net-a", "net1", List.of("10.1.2.3/24"), null, null),
                        new Selection(ns, r % 2 == 0 ? "net-b" : "net-c", "net2", null, null, null)));
                if (gate.decide(req).allowed() && r >= 0) allowed++;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("cache %-4s: %d namespaces, %d policies, %d RBAC bindings: %,d requests (2 networks each) in %.2f s = %,.0f requests/s, %.1f us/request; %d allowed%n",
                    ttl, namespaces, policies.size(), namespaces * 6, rounds, seconds, rounds / seconds, seconds * 1e6 / rounds, allowed);
        }
    }
}
