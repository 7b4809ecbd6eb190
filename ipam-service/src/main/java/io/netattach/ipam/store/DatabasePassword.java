package io.netattach.ipam.store;

import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.util.Optional;

/**
 * ipam-service has no built-in database password: in production a start without one stops with this message
 * (a server with trust authentication would take any, so nothing else would say it).
 */
@ApplicationScoped
public class DatabasePassword {
    @ConfigProperty(name = "quarkus.datasource.password") Optional<String> password;

    void check(@Observes @Priority(1) StartupEvent ev) {
        require(password, LaunchMode.current());
    }

    /** @throws IllegalStateException naming the variables to set, when production has no password */
    public static void require(Optional<String> password, LaunchMode mode) {
        if (mode == LaunchMode.NORMAL && password.filter(p -> !p.isBlank()).isEmpty()) {
            throw new IllegalStateException("quarkus.datasource.password is not set: give ipam-service its PostgreSQL password in "
                    + "NETATTACH_DB_PASSWORD or QUARKUS_DATASOURCE_PASSWORD (the manifests take it from the Secret netattach-ipam-db-credentials); "
                    + "there is no built-in one");
        }
    }
}
