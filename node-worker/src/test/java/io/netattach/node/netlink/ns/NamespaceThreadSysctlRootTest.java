package io.netattach.node.netlink.ns;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Sysctls are written under the configured root (the DaemonSet's writable mount), not always /proc/sys. */
class NamespaceThreadSysctlRootTest {

    @Test
    void writesSysctlsUnderTheConfiguredRootAndCountsOnlyExistingFiles(@TempDir Path root) throws Exception {
        Path arpNotify = root.resolve("net/ipv4/conf/net1/arp_notify");
        Files.createDirectories(arpNotify.getParent());
        Files.writeString(arpNotify, "0");
        try (NamespaceThread thread = new NamespaceThread(root);
             Netns self = Netns.open("/proc/self/ns/net")) {
            int written = thread.writeSysctls(self, Map.of(
                    "net/ipv4/conf/net1/arp_notify", "1",
                    "net/ipv6/conf/net1/ndisc_notify", "1"));
            assertEquals(1, written, "only the file that exists under the root is written");
            assertEquals("1", Files.readString(arpNotify));
        }
    }

    @Test
    void refusesKeysThatClimbOutOfTheRoot(@TempDir Path root) {
        try (NamespaceThread thread = new NamespaceThread(root)) {
            assertThrows(IllegalArgumentException.class,
                    () -> thread.writeSysctls(null, Map.of("../../etc/passwd", "x")));
        }
    }
}
