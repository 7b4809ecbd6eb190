package io.netattach.node.netlink;

import io.netattach.node.domain.AttachException;
import io.netattach.node.domain.AttachmentRequest;
import io.netattach.node.domain.InterfaceBackend;
import io.netattach.node.domain.InterfaceReport;
import io.netattach.node.domain.NetworkConfig;
import io.netattach.node.domain.PodNetworks;
import io.netattach.node.domain.PodRef;
import io.netattach.node.domain.RouteRequest;
import io.netattach.node.netlink.addr.Address;
import io.netattach.node.netlink.addr.Addresses;
import io.netattach.node.netlink.addr.IpPrefix;
import io.netattach.node.netlink.link.InterfaceName;
import io.netattach.node.netlink.link.Link;
import io.netattach.node.netlink.link.LinkAttrs;
import io.netattach.node.netlink.link.LinkSpec;
import io.netattach.node.netlink.link.Links;
import io.netattach.node.netlink.link.Mac;
import io.netattach.node.netlink.ns.NamespaceThread;
import io.netattach.node.netlink.ns.Netns;
import io.netattach.node.netlink.route.Route;
import io.netattach.node.netlink.route.Routes;
import io.netattach.node.netlink.wire.Errno;
import io.netattach.node.netlink.wire.Libc;
import io.netattach.node.netlink.wire.NetlinkException;
import io.netattach.node.netlink.wire.NetlinkSocket;

import io.netattach.node.cni.CniPlugins;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Makes pod interfaces natively: macvlan / ipvlan / vlan are created by the kernel straight into the pod
 * namespace under their final name; a veth peer (bridge) under a temporary name, renamed there; a host device is
 * moved in and renamed. Then MTU, MAC, link up, addresses, routes. Every step registers
 * its undo, so a failure leaves nothing behind. The interface's alias marks it as ours
 * ({@code netattach:<podUid>:<network>:<fingerprint>[:orig=<name>]}), which makes a redelivered attach
 * recognisable after a restart and lets detach remove only what netattach made.
 */
public final class PodInterfaces implements InterfaceBackend {
    private static final String MARK = "netattach:";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final NamespaceThread nsThread;
    private final Netns node;
    private final NetlinkSocket nodeSocket;
    private final CniPlugins plugins;
    private final Set<String> delegateTypes;
    /** What delegated interfaces were made from, for their plugin DEL (keyed podUid/interface). */
    private final Map<String, AttachmentRequest> delegated = new ConcurrentHashMap<>();

    /** Called between attach steps with the step's name; tests use it to change the world at a precise point. */
    interface StepHook { void reached(String step); }

    private volatile StepHook stepHook = step -> { };

    /** For tests only. */
    void onStep(StepHook hook) { this.stepHook = hook; }

    private void step(String name) { stepHook.reached(name); }

    /** @param nodeNetnsPath the node's host namespace (e.g. /proc/self/ns/net or /var/run/netns/X) */
    public PodInterfaces(NamespaceThread nsThread, String nodeNetnsPath) {
        this(nsThread, nodeNetnsPath, Path.of("/opt/cni/bin"), Set.of());
    }

    /**
     * @param pluginDir      where CNI plugin binaries live, for types that are not built in
     * @param delegateTypes  built-in types to run through their plugin binary anyway
     */
    public PodInterfaces(NamespaceThread nsThread, String nodeNetnsPath, Path pluginDir, Set<String> delegateTypes) {
        this.nsThread = nsThread;
        this.node = Netns.open(nodeNetnsPath);
        // The process's own namespace needs no setns (and no CAP_SYS_ADMIN): only the netns thread ever leaves it.
        this.nodeSocket = nodeNetnsPath.equals("/proc/self/ns/net") ? NetlinkSocket.open(nodeNetnsPath) : nsThread.openSocket(node);
        this.plugins = new CniPlugins(pluginDir, nsThread, node);
        this.delegateTypes = Set.copyOf(delegateTypes);
    }

    public void close() {
        nodeSocket.close();
        node.close();
    }

    public String nodeNetns() { return node.path(); }

    private static String marker(PodRef pod, AttachmentRequest r) {
        String network = r.network();
        // IFLA_IFALIAS holds at most 255 bytes; a NAD's namespace/name can be longer, so it is shortened to a hash.
        if (network.length() > 160 || network.contains(":")) {
            network = "#" + AttachmentRequest.shortHash(network);
        }
        return MARK + pod.uid() + ":" + network + ":" + r.fingerprint();
    }

    private static String podPrefix(PodRef pod) { return MARK + pod.uid() + ":"; }

    private static String tempName(String prefix) {
        byte[] b = new byte[4];
        RANDOM.nextBytes(b);
        return prefix + HexFormat.of().formatHex(b);
    }

    /** Validated inputs of one attachment, parsed before any syscall. */
    private record Plan(String iface, Mac mac, List<IpPrefix> ips, List<InetAddress> gateways, List<Route> routes,
                        NetworkConfig config) {}

    private static Plan plan(AttachmentRequest r) {
        try {
            InterfaceName.validate("interface", r.iface());
            Mac mac = r.mac() == null || r.mac().isBlank() ? null : Mac.parse("mac", r.mac());
            List<IpPrefix> ips = new ArrayList<>();
            for (int i = 0; i < r.ips().size(); i++) ips.add(IpPrefix.parse("ips[" + i + "]", r.ips().get(i)));
            List<InetAddress> gws = new ArrayList<>();
            for (int i = 0; i < r.gateways().size(); i++) gws.add(IpPrefix.parseAddress("gateways[" + i + "]", r.gateways().get(i)));
            List<Route> routes = new ArrayList<>();
            for (int i = 0; i < r.routes().size(); i++) {
                RouteRequest rr = r.routes().get(i);
                IpPrefix dst = IpPrefix.parse("routes[" + i + "].dst", rr.dst());
                InetAddress gw = rr.gw() == null || rr.gw().isBlank() ? null : IpPrefix.parseAddress("routes[" + i + "].gw", rr.gw());
                if (gw != null && (gw instanceof java.net.Inet4Address) != dst.v4()) {
                    throw new IllegalArgumentException("routes[" + i + "]: gw " + rr.gw() + " and dst " + rr.dst() + " are of different families");
                }
                routes.add(new Route(dst, gw, 0));
            }
            NetworkConfig config = NetworkConfig.parse(r.cniConfig());
            // Kind-specific values are checked here too, so a bad one fails before any syscall.
            switch (config) {
                case NetworkConfig.Macvlan m -> { if (!m.mode().isEmpty()) LinkSpec.MacvlanMode.parse(m.mode()); }
                case NetworkConfig.Ipvlan v -> { if (!v.mode().isEmpty()) LinkSpec.IpvlanMode.parse(v.mode()); }
                case NetworkConfig.Vlan v -> { if (v.vlanId() < 1 || v.vlanId() > 4094) throw new IllegalArgumentException("cniConfig.vlanId " + v.vlanId() + ": expected 1..4094"); }
                case NetworkConfig.Bridge b -> { if (b.vlan() > 4094) throw new IllegalArgumentException("cniConfig.vlan " + b.vlan() + ": expected 0..4094"); }
                default -> { }
            }
            if (config instanceof NetworkConfig.Bridge b && b.isGateway()) gws = bridgeGateways(ips, gws);
            return new Plan(r.iface(), mac, ips, gws, routes, config);
        } catch (IllegalArgumentException e) {
            throw new AttachException("Invalid", "network " + r.network() + " interface " + r.iface() + ": " + e.getMessage(), e);
        }
    }

    /**
     * As the bridge plugin (calcGateways): with isGateway, an address family IPAM gave no gateway for gets the
     * first address of the subnet of its first address.
     */
    private static List<InetAddress> bridgeGateways(List<IpPrefix> ips, List<InetAddress> gws) {
        List<InetAddress> out = new ArrayList<>(gws);
        for (boolean v4 : new boolean[] {true, false}) {
            if (out.stream().anyMatch(g -> (g instanceof java.net.Inet4Address) == v4)) continue;
            ips.stream().filter(ip -> ip.v4() == v4).findFirst().ifPresent(ip -> out.add(firstAddress(ip)));
        }
        return out;
    }

    private static InetAddress firstAddress(IpPrefix ip) {
        byte[] b = ip.network().address().getAddress();
        b[b.length - 1] |= 1;
        return IpPrefix.fromBytes(b);
    }

    @Override
    public InterfaceReport attach(String netnsPath, PodRef pod, AttachmentRequest r) {
        // The pod socket is opened by the namespace thread while this thread validates the request and looks up
        // the master: one hand-off per attach, off the critical path. Errors keep their precedence: a request
        // that is invalid is Invalid, whether or not its namespace exists.
        Netns opened;
        AttachException noNetns = null;
        try {
            opened = openPodNetns(netnsPath);
        } catch (AttachException e) {
            opened = null;
            noNetns = e;
        }
        try (Netns pns = opened; NamespaceThread.PendingSocket pending = opened == null ? null : nsThread.openSocketLater(opened)) {
            Plan plan = plan(r);
            String type = String.valueOf(r.cniConfig().get("type"));
            boolean delegate = plan.config() instanceof NetworkConfig.Delegated || delegateTypes.contains(type);
            String marker = marker(pod, r);
            if (noNetns != null) throw noNetns;
            if (!delegate && plan.config() instanceof NetworkConfig.Bridge b && b.ipMasq()) {
                // masquerading is an iptables/nftables rule on the node, which node-worker does not write
                throw new AttachException("Invalid", "network " + r.network() + " interface " + r.iface() + ": cniConfig.ipMasq true is not made by "
                        + "node-worker (it writes no iptables/nftables rules): leave ipMasq out, or add bridge to netattach.node.delegate-types "
                        + "to run the bridge plugin");
            }
            Lower lower = delegate ? null : lower(plan.config());
            if (lower != null) return attachLower(plan, lower, r, pod, pns, pending, marker, netnsPath);
            NetlinkSocket ps = pending.get();
            Links podLinks = new Links(ps);
            Optional<Link> existing = podLinks.get(plan.iface());
            if (existing.isPresent()) return alreadyThere(existing.get(), plan, r, pod, marker, ps, netnsPath);
            if (delegate) return attachByPlugin(netnsPath, pod, r, ps, marker);
            Rollback rollback = new Rollback();
            try {
                Link link = switch (plan.config()) {
                    case NetworkConfig.Bridge b -> makeBridgePort(plan, r, pns, ps, marker, rollback, b);
                    case NetworkConfig.HostDevice h -> moveHostDevice(plan, pns, ps, marker, rollback, h);
                    default -> throw new IllegalStateException("unreachable: " + plan.config());
                };
                List<Address> addresses = configure(plan, r, ps, link, List.of(), rollback);
                step("configured");
                checkStillThere(pns, r, plan, netnsPath);
                return report(r, podLinks.get(plan.iface()).orElse(link), addresses, netnsPath);
            } catch (RuntimeException e) {
                rollback.run(e);
                throw asAttachException(r, e);
            }
        }
    }

    /**
     * The interface name is taken in the pod: ours from an earlier delivery of this very attach (then it is
     * reported as it is: idempotent), or a conflict.
     */
    private InterfaceReport alreadyThere(Link l, Plan plan, AttachmentRequest r, PodRef pod, String marker, NetlinkSocket ps, String netnsPath) {
        String alias = l.alias() == null ? "" : l.alias();
        if (alias.equals(marker) || alias.startsWith(marker + ":")) return report(r, l, new Addresses(ps).dump(l.index()), netnsPath);
        if (alias.startsWith(marker.substring(0, marker.lastIndexOf(':') + 1))) {
            throw new AttachException("Conflict", "interface \"" + plan.iface() + "\" of network " + r.network()
                    + " already exists in the pod with a different configuration; detach it first");
        }
        throw new AttachException("Conflict", "interface name \"" + plan.iface() + "\" is already taken in the pod "
                + pod.subject() + " (" + (l.kind() == null ? "device" : l.kind()) + " #" + l.index() + ")");
    }

    private void checkStillThere(Netns pns, AttachmentRequest r, Plan plan, String netnsPath) {
        if (!pns.stillAt()) {
            // Our fd keeps the namespace alive, but the runtime has deleted it: the pod is gone, so is the point.
            throw new AttachException("NotFound", "pod network namespace " + netnsPath + " was deleted during the attach of network "
                    + r.network() + " interface " + plan.iface());
        }
    }

    /** A kind the kernel makes as the child of a master: its name, master field, MTU, and its link spec. */
    private record Lower(String kind, String master, int mtu, java.util.function.Function<LinkAttrs, LinkSpec> spec) {
    }

    /** macvlan, ipvlan and vlan as {@link Lower}; null for every other kind. */
    private static Lower lower(NetworkConfig c) {
        return switch (c) {
            case NetworkConfig.Macvlan m -> new Lower("macvlan", m.master(), m.mtu(),
                    attrs -> new LinkSpec.Macvlan(attrs, m.mode().isEmpty() ? LinkSpec.MacvlanMode.BRIDGE : LinkSpec.MacvlanMode.parse(m.mode())));
            case NetworkConfig.Ipvlan v -> new Lower("ipvlan", v.master(), v.mtu(),
                    attrs -> new LinkSpec.Ipvlan(attrs, v.mode().isEmpty() ? LinkSpec.IpvlanMode.L2 : LinkSpec.IpvlanMode.parse(v.mode()), LinkSpec.IpvlanFlag.BRIDGE));
            case NetworkConfig.Vlan v -> new Lower("vlan", v.master(), v.mtu(), attrs -> new LinkSpec.Vlan(attrs, v.vlanId()));
            default -> null;
        };
    }

    /**
     * macvlan / ipvlan / vlan, the hot path: master look-up (while the pod socket is being opened), create
     * straight into the pod under the final name, one GET for its index, then alias + arp_notify, link up,
     * addresses, routes and the address dump for the report as one pipelined batch. No look-up of the name
     * before the create: the kernel answers EEXIST, and only then is the existing interface examined (ours
     * from an earlier delivery: reported as it is; someone else's: Conflict). The same examination runs when
     * anything fails before the interface exists (master gone, say), so a redelivery still succeeds.
     */
    private InterfaceReport attachLower(Plan plan, Lower lower, AttachmentRequest r, PodRef pod, Netns pns, NamespaceThread.PendingSocket pending,
                                        String marker, String netnsPath) {
        String kind = lower.kind();
        Rollback rollback = new Rollback();
        try {
            try {
                makeLowerLink(plan, lower, r, pns, pending);
            } catch (AttachException | NetlinkException beforeAnything) {
                // Nothing of ours was made; if the name is there, that decides (redelivery or conflict).
                Optional<Link> existing = new Links(pending.get()).get(plan.iface());
                if (existing.isPresent()) return alreadyThere(existing.get(), plan, r, pod, marker, pending.get(), netnsPath);
                if (beforeAnything instanceof NetlinkException e && e.errno() == Errno.EEXIST) {
                    throw new AttachException("Conflict", "interface name \"" + plan.iface() + "\" is already taken in the pod namespace "
                            + pns.path() + " (network " + r.network() + ")", e);
                }
                throw beforeAnything;
            }
            NetlinkSocket ps = pending.get();
            Links podLinks = new Links(ps);
            // By index once known: the name may belong to someone else's interface once ours is gone.
            int[] index = {0};
            rollback.add("delete " + kind + " " + plan.iface(), () -> (index[0] > 0 ? podLinks.get(index[0]) : podLinks.get(plan.iface()))
                    .filter(l -> index[0] == 0 || l.index() == index[0]).ifPresent(podLinks::delete));
            Link made = podLinks.get(plan.iface()).orElseThrow(() -> new IllegalStateException(plan.iface() + " vanished from the pod namespace " + ps.where()));
            index[0] = made.index();
            step("created");
            // Only arp_notify, as the reference macvlan plugin (1.1.1) sets: no /proc/sys write (a namespace thread
            // visit, ~0.4 ms on a new device) for ndisc_notify, which that plugin leaves alone.
            List<Address> addresses = configure(plan, r, ps, made, List.of(podLinks.aliasAndArpNotifyRequest(made, marker)), rollback);
            step("configured");
            checkStillThere(pns, r, plan, netnsPath);
            return report(r, made, addresses, netnsPath);
        } catch (RuntimeException e) {
            rollback.run(e);
            throw asAttachException(r, e);
        }
    }

    /** Through the CNI plugin binary; the interface is then marked as ours like a native one. */
    private InterfaceReport attachByPlugin(String netnsPath, PodRef pod, AttachmentRequest r, NetlinkSocket ps, String marker) {
        plugins.add(netnsPath, pod, r);
        delegated.put(pod.uid() + "/" + r.iface(), r);
        try {
            Links links = new Links(ps);
            Link l = links.get(r.iface()).orElseThrow(() -> new AttachException("Failed",
                    "network " + r.network() + ": the CNI plugin reported success but made no interface " + r.iface()));
            links.setAlias(l, marker + ":cni=" + r.cniConfig().get("type"));
            Link now = links.get(r.iface()).orElse(l);
            return report(r, now, new Addresses(ps).dump(now.index()), netnsPath);
        } catch (RuntimeException e) {
            delegated.remove(pod.uid() + "/" + r.iface());
            try {
                plugins.delete(netnsPath, pod, r);
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw asAttachException(r, e);
        }
    }

    private Netns openPodNetns(String path) {
        try {
            return Netns.open(path);
        } catch (Libc.SyscallException e) {
            throw new AttachException("NotFound", "pod network namespace " + path + " cannot be opened: " + e.getMessage(), e);
        }
    }

    private static AttachException asAttachException(AttachmentRequest r, RuntimeException e) {
        if (e instanceof AttachException a) return a;
        String reason = e instanceof IllegalArgumentException ? "Invalid" : "Failed";
        return new AttachException(reason, "network " + r.network() + " interface " + r.iface() + ": " + e.getMessage(), e);
    }

    /**
     * Creates the macvlan / ipvlan / vlan child of its master on the node, straight into the pod namespace
     * (IFLA_NET_NS_FD) under its final name: no move between namespaces (an RCU grace period) and no rename
     * (~1.1 ms), since no node interface can clash in there. A refusal of
     * the create is thrown as the kernel's {@link NetlinkException} for EEXIST (the caller examines the name),
     * as an {@link AttachException} otherwise.
     */
    private void makeLowerLink(Plan plan, Lower lower, AttachmentRequest r, Netns pns, NamespaceThread.PendingSocket pending) {
        Links nodeLinks = new Links(nodeSocket);
        String masterField = "cniConfig.master";
        String masterName = lower.master();
        int mtu = lower.mtu();
        if (masterName.isEmpty()) {
            masterName = defaultRouteInterface().orElseThrow(() -> new AttachException("NotFound",
                    "network " + r.network() + ": " + masterField + " is empty and the node namespace " + node.path() + " has no default route"));
        }
        try {
            InterfaceName.validate(masterField, masterName);
        } catch (IllegalArgumentException e) {
            throw new AttachException("Invalid", "network " + r.network() + ": " + e.getMessage());
        }
        final String mName = masterName;
        Link master = nodeLinks.get(masterName).orElseThrow(() -> new AttachException("NotFound",
                "network " + r.network() + ": failed to look up master \"" + mName + "\" in node namespace " + node.path() + ": no such device"));
        if (mtu > master.mtu()) {
            throw new AttachException("Invalid", "network " + r.network() + ": cniConfig.mtu " + mtu + " is above the MTU "
                    + master.mtu() + " of master \"" + masterName + "\" (must be 0.." + master.mtu() + ")");
        }
        LinkSpec spec = lower.spec().apply(new LinkAttrs(plan.iface(), mtu, plan.mac(), master.index()).in(pns.fd()));
        // The pod socket is needed from here on (the rollback of the create goes through it): wait for it first.
        pending.get();
        try {
            nodeLinks.addElsewhere(spec, pns.path());
        } catch (NetlinkException e) {
            if (e.errno() == Errno.EEXIST) throw e;
            if (e.errno() == Errno.EOPNOTSUPP) {
                // rtnl_newlink: no link ops registered for the kind, even after trying to load its module
                throw new AttachException(PodNetworks.UNSUPPORTED, "network " + r.network() + ": this node's kernel cannot make "
                        + lower.kind() + " interfaces (creating one on master \"" + masterName + "\": " + e.getMessage() + ")", e);
            }
            throw new AttachException("Failed",
                    "network " + r.network() + ": cannot create " + lower.kind() + " on master \"" + masterName + "\": " + e.getMessage(), e);
        }
    }

    /**
     * Sets arp_notify / ndisc_notify (as the reference plugins do: the new address is announced on link up)
     * while the link still has its temporary name, then renames it and sets our alias. The sysctls go first
     * because a rename re-registers the device's sysctl tables, and the first write after it costs ~2.5 ms.
     */
    private Link renameInPod(NetlinkSocket ps, Netns pns, String tmp, String name, String alias) {
        Links pod = new Links(ps);
        Link made = pod.get(tmp).orElseThrow(() -> new IllegalStateException(tmp + " vanished from the pod namespace " + ps.where()));
        nsThread.writeSysctls(pns, Map.of("net/ipv4/conf/" + tmp + "/arp_notify", "1", "net/ipv6/conf/" + tmp + "/ndisc_notify", "1"));
        pod.setName(made, name, alias);
        step("created");
        return pod.get(name).orElseThrow(() -> new IllegalStateException(name + " vanished from the pod namespace " + ps.where()));
    }

    private Link makeBridgePort(Plan plan, AttachmentRequest r, Netns pns, NetlinkSocket ps, String marker, Rollback rb,
                                NetworkConfig.Bridge b) {
        Links nodeLinks = new Links(nodeSocket);
        try {
            InterfaceName.validate("cniConfig.bridge", b.bridge());
        } catch (IllegalArgumentException e) {
            throw new AttachException("Invalid", "network " + r.network() + ": " + e.getMessage());
        }
        Link bridge = ensureBridge(nodeLinks, b, rb);
        if (b.isGateway()) {
            Addresses nodeAddrs = new Addresses(nodeSocket);
            for (InetAddress gw : plan.gateways()) {
                IpPrefix subnet = plan.ips().stream().filter(ip -> ip.contains(gw)).findFirst().orElseThrow(() ->
                        new AttachException("Invalid", "network " + r.network() + ": gateway " + gw.getHostAddress() + " is in none of the ips " + plan.ips()));
                IpPrefix gwAddr = new IpPrefix(gw, subnet.prefix());
                if (nodeAddrs.ensure(bridge.index(), gwAddr)) {
                    rb.add("remove gateway " + gwAddr + " from " + bridge.name(), () -> nodeAddrs.delete(bridge.index(), gwAddr));
                }
                nsThread.writeSysctl(node, gw instanceof java.net.Inet4Address ? "net/ipv4/ip_forward" : "net/ipv6/conf/all/forwarding", "1");
            }
        }
        String hostName = tempName("veth");
        String tmp = tempName("na");
        Link host = nodeLinks.add(new LinkSpec.Veth(new LinkAttrs(hostName, b.mtu(), null, 0), tmp, pns.fd()));
        rb.add("delete veth " + hostName, () -> nodeLinks.deleteIfPresent(hostName));
        nodeLinks.setMaster(host, bridge.index());
        if (b.hairpinMode()) nodeLinks.setHairpin(host, true);
        if (b.vlan() > 0) nodeLinks.addPortVlan(host, b.vlan());
        nodeLinks.setUp(host, true);
        return renameInPod(ps, pns, tmp, plan.iface(), marker);
    }

    private Link ensureBridge(Links nodeLinks, NetworkConfig.Bridge b, Rollback rb) {
        Optional<Link> found = nodeLinks.get(b.bridge());
        Link bridge;
        if (found.isPresent()) {
            bridge = found.get();
            if (!"bridge".equals(bridge.kind())) {
                throw new AttachException("Conflict", "cniConfig.bridge \"" + b.bridge() + "\" exists on the node but is a "
                        + (bridge.kind() == null ? "device" : bridge.kind()) + ", not a bridge");
            }
        } else {
            try {
                bridge = nodeLinks.add(new LinkSpec.Bridge(new LinkAttrs(b.bridge(), b.mtu(), null, 0), b.vlan() > 0));
                Link made = bridge;
                rb.add("delete bridge " + b.bridge(), () -> nodeLinks.delete(made));
            } catch (NetlinkException e) {
                if (e.errno() != Errno.EEXIST) throw e;
                bridge = nodeLinks.get(b.bridge()).orElseThrow(); // made concurrently by another attach
            }
        }
        if (b.promiscMode() && !bridge.promisc()) nodeLinks.setPromisc(bridge, true);
        if (!bridge.up()) nodeLinks.setUp(bridge, true);
        return bridge;
    }

    private Link moveHostDevice(Plan plan, Netns pns, NetlinkSocket ps, String marker, Rollback rb, NetworkConfig.HostDevice h) {
        Links nodeLinks = new Links(nodeSocket);
        Link dev;
        if (!h.device().isEmpty()) {
            dev = nodeLinks.get(h.device()).orElseThrow(() -> new AttachException("NotFound",
                    "cniConfig.device \"" + h.device() + "\" not found in node namespace " + node.path()));
        } else {
            Mac want = Mac.parse("cniConfig.hwaddr", h.hwaddr());
            dev = nodeLinks.dump().stream().filter(l -> want.equals(l.mac())).findFirst().orElseThrow(() -> new AttachException("NotFound",
                    "no device with cniConfig.hwaddr " + want + " in node namespace " + node.path()));
        }
        String orig = dev.name();
        String alias = marker + ":orig=" + orig;
        if (dev.up()) nodeLinks.setUp(dev, false);
        nodeLinks.setNetns(dev, pns.fd(), pns.path());
        rb.add("return " + orig + " to the node", () -> returnHostDevice(ps, orig, plan.iface()));
        return renameInPod(ps, pns, orig, plan.iface(), alias);
    }

    private void returnHostDevice(NetlinkSocket ps, String orig, String current) {
        Links pod = new Links(ps);
        Optional<Link> l = pod.get(current).or(() -> pod.get(orig));
        if (l.isEmpty()) return;
        if (l.get().up()) pod.setUp(l.get(), false);
        pod.setNetns(l.get(), node.fd(), node.path());
        Links nodeLinks = new Links(nodeSocket);
        Link back = nodeLinks.get(l.get().name()).orElseThrow();
        if (!back.name().equals(orig)) nodeLinks.setName(back, orig, "");
        else nodeLinks.setAlias(back, "");
    }

    /**
     * In the pod: {@code first} (e.g. alias + arp_notify), MTU, MAC, link up, addresses, routes other than default
     * ones, and a dump of the addresses (for the report), as one pipelined batch; then default routes, only if
     * asked (each replaces the namespace's current one, which comes back on rollback). Returns the link's
     * addresses as the kernel reports them after the batch.
     */
    private List<Address> configure(Plan plan, AttachmentRequest r, NetlinkSocket ps, Link link, List<NetlinkSocket.Request> first, Rollback rb) {
        Links pod = new Links(ps);
        int mtu = switch (plan.config()) {
            case NetworkConfig.Macvlan m -> m.mtu();
            case NetworkConfig.Ipvlan v -> v.mtu();
            case NetworkConfig.Vlan v -> v.mtu();
            case NetworkConfig.Bridge b -> b.mtu();
            default -> 0;
        };
        List<NetlinkSocket.Request> batch = new ArrayList<>(first);
        if (mtu > 0 && link.mtu() != mtu) batch.add(pod.mtuRequest(link, mtu));
        if (plan.mac() != null && !plan.mac().equals(link.mac())) batch.add(pod.macRequest(link, plan.mac()));
        batch.add(pod.upRequest(link, true));
        Addresses addrs = new Addresses(ps);
        for (IpPrefix ip : plan.ips()) batch.add(addrs.addRequest(link.index(), ip));
        Routes routes = new Routes(ps);
        List<Route> defaults = new ArrayList<>();
        for (Route rt : plan.routes()) {
            if (rt.isDefault() && !wantsDefault(plan, r)) continue;
            // As the reference plugins (ipam.ConfigureIface; checked against /usr/lib/cni/macvlan with static
            // IPAM): a route without gw goes via the gateway of its family, on-link only if there is none.
            InetAddress gw = rt.gateway() != null ? rt.gateway() : gatewayOf(plan, rt.dst().v4());
            Route route = new Route(rt.dst(), gw, link.index());
            if (rt.isDefault()) defaults.add(route);
            else batch.add(routes.addRequest(route));
        }
        int dumpAt = batch.size();
        batch.add(addrs.dumpRequest());
        List<Address> addresses = Addresses.parse(ps.pipeline(batch).get(dumpAt), link.index());
        boolean defaultV4 = false, defaultV6 = false;
        for (Route route : defaults) {
            replaceDefault(routes, route, rb);
            if (route.dst().v4()) defaultV4 = true; else defaultV6 = true;
        }
        if (wantsDefault(plan, r)) {
            for (InetAddress gw : plan.gateways()) {
                boolean v4 = gw instanceof java.net.Inet4Address;
                if (v4 ? defaultV4 : defaultV6) continue;
                IpPrefix any = IpPrefix.parse("default", v4 ? "0.0.0.0/0" : "::/0");
                replaceDefault(routes, new Route(any, gw, link.index()), rb);
                if (v4) defaultV4 = true; else defaultV6 = true;
            }
        }
        return addresses;
    }

    /** The pod's default route goes here: the selection's default-route, or a bridge with isDefaultGateway (as the bridge plugin). */
    private static boolean wantsDefault(Plan plan, AttachmentRequest r) {
        return r.defaultRoute() || plan.config() instanceof NetworkConfig.Bridge b && b.isDefaultGateway();
    }

    private static InetAddress gatewayOf(Plan plan, boolean v4) {
        return plan.gateways().stream().filter(g -> (g instanceof java.net.Inet4Address) == v4).findFirst().orElse(null);
    }

    /** This interface takes the default route; the previous one (e.g. eth0's) comes back on rollback. */
    private static void replaceDefault(Routes routes, Route route, Rollback rb) {
        int family = route.dst().family();
        Optional<Route> previous = routes.dump(family).stream().filter(Route::isDefault).findFirst();
        routes.replace(route);
        previous.ifPresent(p -> rb.add("restore default route", () -> routes.replace(p)));
    }

    private static InterfaceReport report(AttachmentRequest r, Link l, List<Address> addresses, String netnsPath) {
        List<String> ips = addresses.stream().filter(a -> a.scope() == 0).map(Address::prefix).map(IpPrefix::toString).toList();
        return new InterfaceReport(r.network(), l.name(), l.mac() == null ? null : l.mac().toString(), l.mtu(), ips, netnsPath, null);
    }

    @Override
    public List<String> detach(String netnsPath, PodRef pod, List<String> interfaces) {
        Netns pns;
        try {
            pns = Netns.open(netnsPath);
        } catch (Libc.SyscallException e) {
            if (e.errno() == Errno.ENOENT) return List.of(); // the namespace is gone, and its interfaces with it
            throw new AttachException("Failed", "pod network namespace " + netnsPath + ": " + e.getMessage(), e);
        }
        try (pns; NetlinkSocket ps = nsThread.openSocket(pns)) {
            Links links = new Links(ps);
            List<String> removed = new ArrayList<>();
            for (Link l : links.dump()) {
                String alias = l.alias();
                if (alias == null || !alias.startsWith(podPrefix(pod))) continue;
                if (interfaces != null && !interfaces.contains(l.name())) continue;
                int orig = alias.indexOf(":orig=");
                AttachmentRequest viaPlugin = alias.contains(":cni=") ? delegated.remove(pod.uid() + "/" + l.name()) : null;
                if (viaPlugin != null) {
                    plugins.delete(netnsPath, pod, viaPlugin);
                } else if (orig >= 0) {
                    returnHostDevice(ps, alias.substring(orig + 6), l.name());
                } else {
                    try {
                        links.delete(l);
                    } catch (NetlinkException e) {
                        if (e.errno() != Errno.ENODEV) throw e;
                    }
                }
                removed.add(l.name());
            }
            return removed;
        }
    }

    @Override
    public List<InterfaceReport> inspect(String netnsPath, PodRef pod) {
        Netns pns;
        try {
            pns = Netns.open(netnsPath);
        } catch (Libc.SyscallException e) {
            return List.of();
        }
        try (pns; NetlinkSocket ps = nsThread.openSocket(pns)) {
            List<InterfaceReport> out = new ArrayList<>();
            for (Link l : new Links(ps).dump()) {
                String alias = l.alias();
                if (alias == null || !alias.startsWith(podPrefix(pod))) continue;
                String[] parts = alias.split(":");
                String network = parts.length > 2 ? parts[2] : null;
                List<String> ips = new Addresses(ps).dump(l.index()).stream().filter(a -> a.scope() == 0)
                        .map(a -> a.prefix().toString()).toList();
                out.add(new InterfaceReport(network, l.name(), l.mac() == null ? null : l.mac().toString(), l.mtu(), ips, netnsPath, null));
            }
            return out;
        }
    }

    /** The link holding the node's IPv4 default route (then IPv6), like the reference plugins' default master. */
    public Optional<String> defaultRouteInterface() {
        Routes routes = new Routes(nodeSocket);
        for (int family : new int[] {2, 10}) {
            Optional<Route> def = routes.dump(family).stream().filter(Route::isDefault).findFirst();
            if (def.isPresent()) return new Links(nodeSocket).get(def.get().linkIndex()).map(Link::name);
        }
        return Optional.empty();
    }
}
