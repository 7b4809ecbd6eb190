package io.netattach.policy.config;

import io.netattach.policy.domain.Setting;
import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The settings as an operator sets them: the mapping's defaults, environment variables over application.properties. */
class PolicySettingsTest {
    private static SmallRyeConfig config(Map<String, String> env, Map<String, String> properties) {
        // Quarkus's converter reads durations as "5s", as the service does
        return new SmallRyeConfigBuilder().withMapping(PolicySettings.class).withConverter(Duration.class, 100, new DurationConverter())
                .withSources(new EnvConfigSource(env, 300), new PropertiesConfigSource(properties, "application.properties", 250)).build();
    }

    private static PolicySettings settings(Map<String, String> env) {
        return config(env, Map.of()).getConfigMapping(PolicySettings.class);
    }

    @Test
    void defaultsAreMultusCompatible() {
        PolicySettings s = settings(Map.of());
        assertTrue(s.namespaceIsolation().enabled());
        assertEquals(Set.of("default"), Wiring.globalNamespaces(s.namespaceIsolation().globalNamespaces()));
        assertFalse(s.rbac().enabled(), "RBAC only for NADs that ask for it");
        assertEquals("get", s.rbac().verb(), "Roles written for Multus count as written");
    }

    @Test
    void anExplicitlyEmptyGlobalNamespacesMeansNoneEvenOverApplicationProperties() {
        SmallRyeConfig c = config(Map.of("NETATTACH_POLICY_NAMESPACE_ISOLATION_GLOBAL_NAMESPACES", ""),
                Map.of("netattach.policy.namespace-isolation.global-namespaces", "default"));
        assertEquals(Set.of(), Wiring.globalNamespaces(c.getConfigMapping(PolicySettings.class).namespaceIsolation().globalNamespaces()));
    }

    @Test
    void globalNamespacesAreACommaListWithBlanksIgnored() {
        PolicySettings s = settings(Map.of("NETATTACH_POLICY_NAMESPACE_ISOLATION_GLOBAL_NAMESPACES", "default, kube-system"));
        assertEquals(Set.of("default", "kube-system"), Wiring.globalNamespaces(s.namespaceIsolation().globalNamespaces()));
    }

    @Test
    void aGlobalNamespaceThatIsNotANamespaceNameIsRejectedNamingTheSettingAndTheValue() {
        var e = assertThrows(IllegalArgumentException.class, () -> Wiring.globalNamespaces(Optional.of(List.of("default", "Kube_System"))));
        assertTrue(e.getMessage().startsWith("netattach.policy.namespace-isolation.global-namespaces (NETATTACH_POLICY_NAMESPACE_ISOLATION_GLOBAL_NAMESPACES): "
                + "\"Kube_System\" is not a namespace name"), e.getMessage());
    }

    @Test
    void aVerbThatIsNotOneVerbIsRejectedNamingTheSettingAndTheValue() {
        assertEquals("use", Wiring.verb(" use "));
        var e = assertThrows(IllegalArgumentException.class, () -> Wiring.verb("get,list"));
        assertEquals("netattach.policy.rbac.verb (NETATTACH_POLICY_RBAC_VERB): \"get,list\" is not one verb (e.g. get, use)", e.getMessage());
    }

    /** Denial reasons and errors name these settings: each must be a key the service reads, set by the variable named. */
    @Test
    void everySettingNamedInReasonsIsAKeyOfTheMappingAndItsVariableSetsIt() {
        SmallRyeConfig defaults = config(Map.of(), Map.of());
        for (Setting s : List.of(Setting.NAMESPACE_ISOLATION, Setting.GLOBAL_NAMESPACES, Setting.RBAC_EVERY_NETWORK, Setting.RBAC_VERB, Setting.RBAC_EVALUATOR)) {
            assertNotNull(defaults.getConfigValue(s.key()).getValue(), s.key() + " has a default in PolicySettings");
            SmallRyeConfig env = new SmallRyeConfigBuilder().withSources(new EnvConfigSource(Map.of(s.env(), "x"), 300)).build();
            assertEquals("x", env.getConfigValue(s.key()).getValue(), s.env() + " sets " + s.key());
        }
    }
}
