package io.netattach.attach.kafka;

import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.util.Optional;

/** Topic names as configured, with the per-run suffix tests add. */
@ApplicationScoped
public class Topics {
    @ConfigProperty(name = "netattach.kafka.topic-suffix") Optional<String> suffix;

    public String policyRequests() { return name("netattach.policy.requests"); }
    public String policyDecisions() { return name("netattach.policy.decisions"); }
    public String ipamRequests() { return name("netattach.ipam.requests"); }
    public String ipamResults() { return name("netattach.ipam.results"); }
    public String nodeCommands() { return name("netattach.node.commands"); }
    public String nodeResults() { return name("netattach.node.results"); }
    public String audit() { return name("netattach.audit"); }

    private String name(String base) {
        return base + suffix.orElse("");
    }
}
