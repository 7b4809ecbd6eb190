package io.netattach.node.bench;

import io.netattach.node.cni.CniPlugins;
import io.netattach.node.domain.AttachmentRequest;
import io.netattach.node.domain.PodRef;
import io.netattach.node.domain.RouteRequest;
import io.netattach.node.lab.NetnsLab;
import io.netattach.node.netlink.PodInterfaces;
import io.netattach.node.netlink.link.LinkAttrs;
import io.netattach.node.netlink.link.LinkSpec;
import io.netattach.node.netlink.link.Links;
import io.netattach.node.netlink.ns.NamespaceThread;
import io.netattach.node.netlink.ns.Netns;
import io.netattach.node.netlink.addr.Addresses;
import io.netattach.node.netlink.addr.IpPrefix;
import io.netattach.node.netlink.link.Link;
import io.netattach.node.netlink.route.Route;
import io.netattach.node.netlink.route.Routes;
import io.netattach.node.netlink.wire.MessageBuilder;
import io.netattach.node.netlink.wire.NetlinkSocket;
import io.netattach.node.netlink.wire.Nl;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Benchmark, not a test (run by deploy/local/bench-netlink.sh). Prints figures; the last line is one JSON object.
 * Phase 1, in-process: N attach+detach cycles of one macvlan with two addresses and a route through
 * node-worker's netlink path, interleaved with N cycles of the kernel's floor (the same netlink requests from a
 * minimal loop on sockets opened once, and the one RTM_DELLINK of that same configured link), after the same JIT
 * warm-up for both; N through an exec of the reference macvlan plugin with static IPAM (same namespaces); and N
 * deletes of a bare macvlan (the earlier DEL baseline). Phase 2 (with --service-pid): RSS of a running
 * node-worker idle and under a burst of concurrent sandboxes (attach commands via Kafka + shim-protocol ADDs).
 */
public final class NetlinkBench {
    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) opt.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        int n = Integer.parseInt(opt.getOrDefault("cycles", "200"));
        String pluginDir = opt.getOrDefault("plugin-dir", "/usr/lib/cni");
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        out.put("cycles", n);
        out.put("warmup", Integer.parseInt(opt.getOrDefault("warmup", "500")));

        try (NetnsLab lab = new NetnsLab(); NamespaceThread nsThread = new NamespaceThread()) {
            String lan = lab.lan("blan");
            String node = lab.node("bnode", lan, "192.168.99.1/24", "192.168.99.254");
            String pod = lab.netns("bpod");
            PodInterfaces native_ = new PodInterfaces(nsThread, NetnsLab.path(node));
            PodRef ref = new PodRef("bench", "pod", "bench-uid");
            Map<String, Object> conf = new HashMap<>(Map.of("cniVersion", "1.0.0", "name", "bench", "type", "macvlan", "master", "eth1", "mode", "bridge",
                    "ipam", Map.of("type", "host-local")));
            AttachmentRequest req = new AttachmentRequest("bench/net", "net1", conf, List.of("10.77.0.5/24", "fd77::5/64"),
                    List.of("10.77.0.1"), List.of(new RouteRequest("10.78.0.0/16", "10.77.0.1")), null, false);

            int warm = Integer.parseInt(opt.getOrDefault("warmup", "500"));
            long[] addPlugin = new long[n], delPlugin = new long[n];
            try (Netns nodeNs = Netns.open(NetnsLab.path(node)); Netns podNs = Netns.open(NetnsLab.path(pod));
                 NetlinkSocket ns = nsThread.openSocket(nodeNs); NetlinkSocket ps = nsThread.openSocket(podNs)) {
                // The kernel's floor: the very requests node-worker's ADD sends (master look-up, create into the pod,
                // GET of the new link, then alias + arp_notify, up, two addresses, route, address dump pipelined),
                // from one thread on sockets opened once; and the one RTM_DELLINK of that same configured link.
                Floor floor = new Floor(ns, ps, podNs, req);
                // JIT warm-up, the same for both paths: node-worker's ADD/DEL and the floor, interleaved.
                for (int i = 0; i < warm; i++) {
                    native_.attach(NetnsLab.path(pod), ref, req);
                    native_.detach(NetnsLab.path(pod), ref, null);
                    floor.delete(floor.add());
                }
                // Measured interleaved too, so a busy moment of this shared VM hits both alike.
                long[] addNative = new long[n], delNative = new long[n], addFloor = new long[n], delKernel = new long[n];
                for (int i = 0; i < n; i++) {
                    long t0 = System.nanoTime();
                    native_.attach(NetnsLab.path(pod), ref, req);
                    long t1 = System.nanoTime();
                    native_.detach(NetnsLab.path(pod), ref, null);
                    long t2 = System.nanoTime();
                    addNative[i] = t1 - t0;
                    delNative[i] = t2 - t1;
                    long f0 = System.nanoTime();
                    int index = floor.add();
                    long f1 = System.nanoTime();
                    floor.delete(index);
                    long f2 = System.nanoTime();
                    addFloor[i] = f1 - f0;
                    delKernel[i] = f2 - f1;
                }

                CniPlugins plugin = new CniPlugins(Path.of(pluginDir), nsThread, nodeNs);
                for (int i = 0; i < Math.min(10, warm); i++) {
                    plugin.add(NetnsLab.path(pod), ref, req);
                    plugin.delete(NetnsLab.path(pod), ref, req);
                }
                for (int i = 0; i < n; i++) {
                    long t0 = System.nanoTime();
                    plugin.add(NetnsLab.path(pod), ref, req);
                    long t1 = System.nanoTime();
                    plugin.delete(NetnsLab.path(pod), ref, req);
                    long t2 = System.nanoTime();
                    addPlugin[i] = t1 - t0;
                    delPlugin[i] = t2 - t1;
                }
                // The earlier baseline, kept for comparison: delete of a bare macvlan (down, no address, no route).
                long[] delBare = new long[n];
                Links nodeLinks = new Links(ns), podLinks = new Links(ps);
                int master = nodeLinks.get("eth1").orElseThrow().index();
                for (int i = 0; i < n; i++) {
                    var made = nodeLinks.add(new LinkSpec.Macvlan(new LinkAttrs("nabench", 0, null, master), LinkSpec.MacvlanMode.BRIDGE));
                    nodeLinks.setNetns(made, podNs.fd(), podNs.path());
                    var inPod = podLinks.get("nabench").orElseThrow();
                    long t0 = System.nanoTime();
                    podLinks.delete(inPod);
                    delBare[i] = System.nanoTime() - t0;
                }
                report(out, "add_native", addNative);
                report(out, "add_floor", addFloor);
                report(out, "del_native", delNative);
                report(out, "del_kernel", delKernel);
                report(out, "del_kernel_bare", delBare);
                report(out, "add_plugin", addPlugin);
                report(out, "del_plugin", delPlugin);
                out.put("add_speedup_median", round(median(addPlugin) / median(addNative)));
                out.put("add_floor_speedup_median", round(median(addPlugin) / median(addFloor)));
                out.put("add_native_minus_floor_median_ms", round((median(addNative) - median(addFloor)) / 1e6));
                out.put("del_speedup_median", round(median(delPlugin) / median(delNative)));
                out.put("del_native_minus_kernel_median_ms", round((median(delNative) - median(delKernel)) / 1e6));
                System.out.printf(Locale.ROOT, "ADD speed-up %.1fx (floor %.1fx), node-worker - floor %.3f ms; DEL node-worker - kernel %.3f ms%n",
                        median(addPlugin) / median(addNative), median(addPlugin) / median(addFloor),
                        (median(addNative) - median(addFloor)) / 1e6, (median(delNative) - median(delKernel)) / 1e6);
            }
            native_.close();
        }

        if (opt.containsKey("service-pid")) burst(opt, out);

        StringBuilder json = new StringBuilder("{");
        out.forEach((k, v) -> json.append(json.length() > 1 ? "," : "").append('"').append(k).append("\":").append(v instanceof String s ? "\"" + s + "\"" : v));
        System.out.println(json.append('}'));
        // the API client's event-loop threads are not daemons and outlive its close
        System.exit(0);
    }

    /** The kernel's floor of the ADD and DEL: node-worker's requests, nothing else (see main). */
    private static final class Floor {
        private final NetlinkSocket node, pod;
        private final Netns podNs;
        private final IpPrefix v4, v6;
        private final Route route;
        private final Links nodeLinks, podLinks;
        private final Addresses podAddrs;
        private final Routes podRoutes;

        Floor(NetlinkSocket node, NetlinkSocket pod, Netns podNs, AttachmentRequest req) {
            this.node = node;
            this.pod = pod;
            this.podNs = podNs;
            this.v4 = IpPrefix.parse("ip", req.ips().get(0));
            this.v6 = IpPrefix.parse("ip", req.ips().get(1));
            this.route = new Route(IpPrefix.parse("dst", req.routes().get(0).dst()), IpPrefix.parseAddress("gw", req.routes().get(0).gw()), 0);
            this.nodeLinks = new Links(node);
            this.podLinks = new Links(pod);
            this.podAddrs = new Addresses(pod);
            this.podRoutes = new Routes(pod);
        }

        int add() {
            Link master = nodeLinks.get("eth1").orElseThrow();
            nodeLinks.addElsewhere(new LinkSpec.Macvlan(new LinkAttrs("nafloor", 0, null, master.index()).in(podNs.fd()), LinkSpec.MacvlanMode.BRIDGE), podNs.path());
            Link l = podLinks.get("nafloor").orElseThrow();
            pod.pipeline(List.of(podLinks.aliasAndArpNotifyRequest(l, "netattach:floor"), podLinks.upRequest(l, true),
                    podAddrs.addRequest(l.index(), v4), podAddrs.addRequest(l.index(), v6),
                    podRoutes.addRequest(new Route(route.dst(), route.gateway(), l.index())), podAddrs.dumpRequest()));
            return l.index();
        }

        void delete(int index) {
            pod.execute("delete floor link", new MessageBuilder(Nl.RTM_DELLINK, 0).u8(0).u8(0).u16(0).u32(index).u32(0).u32(0));
        }
    }

    private static double median(long[] v) { long[] s = v.clone(); Arrays.sort(s); return s[s.length / 2]; }
    private static double p99(long[] v) { long[] s = v.clone(); Arrays.sort(s); return s[Math.min(s.length - 1, (int) Math.ceil(s.length * 0.99) - 1)]; }
    private static double round(double d) { return Math.round(d * 1000) / 1000.0; }

    private static void report(Map<String, Object> out, String name, long[] v) {
        double med = median(v) / 1e6, p99 = p99(v) / 1e6;
        System.out.printf(Locale.ROOT, "%-11s median %8.3f ms   p99 %8.3f ms%n", name, med, p99);
        out.put(name + "_median_ms", round(med));
        out.put(name + "_p99_ms", round(p99));
    }

    private static long rssKb(String pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc", pid, "status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", ""));
        }
        throw new IllegalStateException("no VmRSS for pid " + pid);
    }

    /** 200 (or --burst) sandboxes at once: attach commands via Kafka, then concurrent shim ADDs; RSS sampled throughout. */
    private static void burst(Map<String, String> opt, Map<String, Object> out) throws Exception {
        String pid = opt.get("service-pid");
        int count = Integer.parseInt(opt.getOrDefault("burst", "200"));
        String nodeName = opt.get("node");
        String socket = opt.get("socket");
        long idle = rssKb(pid);
        AtomicLong peak = new AtomicLong(idle);
        List<String> uids = new ArrayList<>();
        // node-worker reads each sandbox's pod from the API server (the lab's stand-in here): the pods exist there,
        // bound to this node and asking for a network, as a scheduler leaves them
        try (KubernetesClient kube = new KubernetesClientBuilder().withConfig(new ConfigBuilder().withMasterUrl(opt.get("api")).build()).build()) {
            for (int i = 0; i < count; i++) {
                uids.add(kube.pods().inNamespace("bench").resource(new PodBuilder().withNewMetadata().withName("b" + i).withNamespace("bench")
                        .addToAnnotations("k8s.v1.cni.cncf.io/networks", "net").endMetadata().withNewSpec().withNodeName(nodeName)
                        .addNewContainer().withName("app").withImage("bench").endContainer().endSpec().build()).create().getMetadata().getUid());
            }
        }
        try (NetnsLab lab = new NetnsLab()) {
            List<String> pods = new ArrayList<>();
            for (int i = 0; i < count; i++) pods.add(lab.netns("b" + i));
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, opt.get("bootstrap"),
                    ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                    ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class))) {
                for (int i = 0; i < count; i++) {
                    String uid = uids.get(i);
                    String ev = """
                            {"specversion":"1.0","id":"attach/bench/%1$s","source":"/netattach/bench","type":"io.netattach.node.attach","time":"2026-11-29T00:00:00Z",
                             "datacontenttype":"application/json","data":{"requestId":"attach/bench/%1$s","node":"%2$s","pod":{"namespace":"bench","name":"b%3$d","uid":"%1$s"},
                             "attachments":[{"network":"bench/net","interface":"net1","cniConfig":{"cniVersion":"1.0.0","type":"macvlan","mode":"bridge"},
                             "ips":["10.79.%4$d.%5$d/16","fd79::%3$x/64"],"gateways":["10.79.0.1"],"routes":[{"dst":"10.80.0.0/16","gw":"10.79.0.1"}],"mac":null,"defaultRoute":false}]}}
                            """.formatted(uid, nodeName, i, 1 + i / 250, 1 + i % 250).replace("\n", "");
                    producer.send(new ProducerRecord<>(opt.get("topic"), nodeName, ev));
                }
                producer.flush();
            }
            Thread sampler = Thread.ofPlatform().daemon(true).start(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    try {
                        peak.accumulateAndGet(rssKb(pid), Math::max);
                        Thread.sleep(5);
                    } catch (InterruptedException e) {
                        return;
                    } catch (Exception e) {
                        return;
                    }
                }
            });
            ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            long t0 = System.nanoTime();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                int idx = i;
                threads.add(Thread.ofVirtual().start(() -> {
                    String r = call(socket, "ADD", "b" + idx, uids.get(idx), NetnsLab.path(pods.get(idx)));
                    if (!r.startsWith("{\"exit\":0")) failures.add(r);
                }));
            }
            for (Thread t : threads) t.join();
            long burstMs = (System.nanoTime() - t0) / 1_000_000;
            long made = pods.stream().filter(p -> NetnsLab.linkNames(p).contains("net1")).count();
            for (int i = 0; i < count; i++) call(socket, "DEL", "b" + i, uids.get(i), NetnsLab.path(pods.get(i)));
            sampler.interrupt();
            System.out.printf(Locale.ROOT, "burst       %d sandboxes in %d ms, %d interfaces made, %d failed%n", count, burstMs, made, failures.size());
            if (!failures.isEmpty()) System.out.println("first failure: " + failures.peek());
            System.out.printf(Locale.ROOT, "rss         idle %d KiB, burst peak %d KiB, ratio %.2f%n", idle, peak.get(), peak.get() / (double) idle);
            out.put("burst_sandboxes", count);
            out.put("burst_ms", burstMs);
            out.put("burst_interfaces_made", made);
            out.put("rss_idle_kib", idle);
            out.put("rss_burst_peak_kib", peak.get());
            out.put("rss_ratio", round(peak.get() / (double) idle));
        }
    }

    private static String call(String socket, String command, String name, String uid, String netns) {
        String req = "{\"command\":\"" + command + "\",\"containerId\":\"c-" + uid + "\",\"netns\":\"" + netns + "\",\"ifName\":\"eth0\","
                + "\"pod\":{\"namespace\":\"bench\",\"name\":\"" + name + "\",\"uid\":\"" + uid + "\"},\"config\":{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\"type\":\"netattach-shim\"}}\n";
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(Path.of(socket)));
            OutputStream o = Channels.newOutputStream(ch);
            o.write(req.getBytes(StandardCharsets.UTF_8));
            o.flush();
            return new String(Channels.newInputStream(ch).readAllBytes(), StandardCharsets.UTF_8).trim();
        } catch (Exception e) {
            return "error: " + e.getMessage();
        }
    }
}
