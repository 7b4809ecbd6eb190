package io.netattach.node.api;

import io.netattach.node.lab.NetnsLab;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.util.Map;

/** The node a @QuarkusTest node-worker runs "on": a na- namespace with uplink eth1 (default route) on a LAN bridge. */
public class NodeNamespaces implements QuarkusTestResourceLifecycleManager {
    static volatile String node;
    static volatile String nodeName;
    private NetnsLab lab;

    @Override
    public Map<String, String> start() {
        lab = new NetnsLab();
        String lan = lab.lan("lan");
        node = lab.node("node", lan, "192.168.88.1/24", "192.168.88.254");
        nodeName = node + "-worker";
        return Map.of("netattach.node.host-netns", NetnsLab.path(node), "netattach.node.name", nodeName);
    }

    @Override
    public void stop() {
        if (lab != null) lab.close();
    }
}
