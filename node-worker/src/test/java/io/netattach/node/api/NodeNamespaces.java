package io.netattach.node.api;

import io.netattach.node.lab.NetnsLab;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.util.Map;

/** The node a @QuarkusTest node-worker runs "on": a na- namespace with uplink eth1 (default route) on a LAN bridge. */
public class NodeNamespaces implements QuarkusTestResourceLifecycleManager {
    static volatile String node;
    static volatile String nodeName;
    private NetnsLab lab;
    private java.nio.file.Path stateFile;

    @Override
    public Map<String, String> start() {
        lab = new NetnsLab();
        String lan = lab.lan("lan");
        node = lab.node("node", lan, "192.168.88.1/24", "192.168.88.254");
        nodeName = node + "-worker";
        try {
            stateFile = java.nio.file.Files.createTempFile("netattach-node-state", ".json");
            java.nio.file.Files.delete(stateFile); // the worker creates it on the first sandbox
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        return Map.of("netattach.node.host-netns", NetnsLab.path(node), "netattach.node.name", nodeName,
                "netattach.node.state-file", stateFile.toString());
    }

    @Override
    public void stop() {
        if (lab != null) lab.close();
        try {
            if (stateFile != null) java.nio.file.Files.deleteIfExists(stateFile);
        } catch (java.io.IOException ignored) {
            // best effort: a temp file
        }
    }
}
