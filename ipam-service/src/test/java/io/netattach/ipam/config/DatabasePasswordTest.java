package io.netattach.ipam.config;

import io.netattach.ipam.store.DatabasePassword;
import io.quarkus.runtime.LaunchMode;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URL;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shipped application.properties has no built-in database password for production, and a start without one stops. */
class DatabasePasswordTest {
    private static Optional<String> password(String profile, Map<String, String> environment) throws IOException {
        URL properties = DatabasePasswordTest.class.getClassLoader().getResource("application.properties");
        SmallRyeConfig config = new SmallRyeConfigBuilder().withProfile(profile)
                .withSources(new PropertiesConfigSource(properties, 250))
                .withSources(new PropertiesConfigSource(environment, "environment", 300))
                .build();
        return config.getOptionalValue("quarkus.datasource.password", String.class);
    }

    @Test
    void productionHasNoBuiltInPasswordAndDoesNotStartWithoutOne() throws IOException {
        Optional<String> none = password("prod", Map.of());
        assertEquals(Optional.empty(), none);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> DatabasePassword.require(none, LaunchMode.NORMAL));
        assertTrue(e.getMessage().contains("NETATTACH_DB_PASSWORD") && e.getMessage().contains("QUARKUS_DATASOURCE_PASSWORD"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> DatabasePassword.require(Optional.of(" "), LaunchMode.NORMAL), "a blank one is none");
    }

    @Test
    void productionTakesThePasswordFromTheEnvironmentAndTheTestsKeepTheLocalOne() throws IOException {
        assertEquals(Optional.of("s3cret"), password("prod", Map.of("NETATTACH_DB_PASSWORD", "s3cret")));
        // the manifests' variable (from the Secret) wins over the file's value
        assertEquals(Optional.of("from-secret"), password("prod", Map.of("quarkus.datasource.password", "from-secret")));
        assertDoesNotThrow(() -> DatabasePassword.require(Optional.of("s3cret"), LaunchMode.NORMAL));
        assertEquals(Optional.of("netattach"), password("test", Map.of()));
        assertDoesNotThrow(() -> DatabasePassword.require(Optional.empty(), LaunchMode.TEST), "only production insists");
    }
}
