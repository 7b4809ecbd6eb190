#!/usr/bin/env bash
# deploy/local/bench.sh ipam: the figures of ipam-service on this machine (a benchmark, never a test).
#  1. pgbench: single-row UPDATE by key at N clients against the same PostgreSQL (the physical reference);
#  2. two ipam-service replicas (ports 18081, 18082) on one database, N concurrent allocators with churn
#     (allocate, and release an older one), over REST and over Kafka, on one hot pool and on 16 pools.
# Prints allocations/s, p50/p99 latency, duplicates (live leases seen twice by the load generator, and
# (pool, address) held twice counted in SQL afterwards) and the ratio to pgbench; the last line is one JSON object.
# It also prints the CPU budget per allocation that ratio 1.0 leaves on this machine (cores / pgbench tps: every
# process shares the cores) next to what the hot-pool runs spent.
# Each run first drives the same load unmeasured (JIT, connections): at least WARMUP_SECONDS, then on until the
# replicas' JIT compiled fewer than JIT_SETTLED methods in each of two 10 s windows in a row, at most
# WARMUP_MAX_SECONDS (on a slow VM the C2 compiler was still at over half of the replicas' CPU 60 s into the Kafka
# hot-pool run); each run prints the warm-up it took (warmupSeconds). Then it measures, and prints the CPU each
# process group (service replicas, PostgreSQL, Kafka, the load generator, other) spent per allocation in the
# measured window, and how many methods the replicas' JIT compiled in it (serviceJitCompiles), and PostgreSQL's WAL
# per allocation (walPerAllocation: bytes, and full-page images, which the first change of a page after a
# checkpoint writes), and the hypervisor's steal time (stealPct, of one core), and the replicas' mean operations
# per batch statement (operationsPerBatch). REST goes through a minimal keep-alive HTTP/1.1 client: the JDK
# HttpClient took ~2.5 ms of CPU per request here (0.1-0.2 ms now), on the cores the replicas and PostgreSQL share.
# Env: CLIENTS (8), SECONDS_PER_RUN (10), WARMUP_SECONDS (60), WARMUP_MAX_SECONDS (300), JIT_SETTLED (20),
# MODES ("rest kafka": one of them alone for a quicker comparison; the JSON then holds null for the other).
# Uses the netattach_ipam database; bench pools are removed afterwards.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
find_jdk25
CLIENTS=${CLIENTS:-8}
SECS=${SECONDS_PER_RUN:-10}
WARMUP=${WARMUP_SECONDS:-60}
WARMUP_MAX=${WARMUP_MAX_SECONDS:-300}
JIT_SETTLED=${JIT_SETTLED:-20}
PG=(psql -h 127.0.0.1 -U netattach_ipam -d netattach_ipam -qtA -v ON_ERROR_STOP=1)
# NETATTACH_APPS=<another checkout> runs that checkout's build instead (an A/B comparison in one run).
APP="${NETATTACH_APPS:-$NETATTACH_ROOT}/ipam-service/target/quarkus-app"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  "${PG[@]}" -c "delete from pool where name like 'bench-%' or cluster = 'bench'" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$(dirname "$0")/services.sh" status | grep -q 'Kafka *running' || "$(dirname "$0")/services.sh" start

if [ ! -f "$APP/quarkus-run.jar" ]; then
  say "building ipam-service"
  (cd "$NETATTACH_ROOT" && flock /tmp/netattach-mvn.lock ./mvnw -B -ntp -q -o -pl ipam-service package -DskipTests)
fi

say "pgbench reference: UPDATE one row by key, $CLIENTS clients, ${SECS}s"
pgbench -h 127.0.0.1 -U netattach_ipam -i -s 1 -q netattach_ipam >/dev/null 2>&1
printf '\\set aid random(1, 100000)\nUPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n' > "$WORK/update.sql"
PGBENCH_TPS=$(pgbench -h 127.0.0.1 -U netattach_ipam -n -c "$CLIENTS" -j 2 -T "$SECS" -f "$WORK/update.sql" netattach_ipam 2>/dev/null \
  | awk '/^tps/ {print $3; exit}')
pgbench -h 127.0.0.1 -U netattach_ipam -i -I d netattach_ipam >/dev/null 2>&1 || true
echo "pgbench: $PGBENCH_TPS tps"

"$(dirname "$0")/services.sh" topics

say "starting two ipam-service replicas"
for port in 18081 18082; do
  NETATTACH_HTTP_PORT=$port NETATTACH_IPAM_GROUP=netattach-ipam-bench QUARKUS_LOG_LEVEL=WARN NETATTACH_DB_PASSWORD=netattach \
    "$JAVA_HOME/bin/java" -jar "$APP/quarkus-run.jar" > "$NETATTACH_STATE/logs/bench-ipam-$port.log" 2>&1 &
  PIDS+=($!)
done
for port in 18081 18082; do
  for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$port/q/health/ready" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -fs "http://127.0.0.1:$port/q/health/ready" >/dev/null || die "replica on $port not ready: see $NETATTACH_STATE/logs/bench-ipam-$port.log"
done

cat > "$WORK/IpamLoad.java" <<'JAVA'
import java.io.*;
import java.net.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.time.*;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;
import java.util.regex.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.serialization.*;

/**
 * N allocators with churn against ipam-service; prints one JSON line: rate, p50, p99, duplicates, and the CPU
 * each process group spent per allocation during the measured window. The first `warmup` seconds run the same
 * load unmeasured (JIT of the replicas and of this generator, connections, Kafka metadata).
 */
public class IpamLoad {
    static final Pattern IP = Pattern.compile("\"ips\":\\[\"([^\"]+)\"");
    public static void main(String[] a) throws Exception {
        String mode = a[0]; int clients = Integer.parseInt(a[1]); int secs = Integer.parseInt(a[2]); int pools = Integer.parseInt(a[3]);
        String[] urls = a[4].split(",");
        int warmup = Integer.parseInt(a[5]), warmupMax = Math.max(warmup, Integer.parseInt(a[8])), settled = Integer.parseInt(a[9]);
        Set<Long> servicePids = new HashSet<>(), kafkaPids = new HashSet<>();
        for (String p : a[6].split(",")) if (!p.isBlank()) servicePids.add(Long.parseLong(p));
        for (String p : a[7].split(",")) if (!p.isBlank()) kafkaPids.add(Long.parseLong(p));
        ConcurrentHashMap<String, String> live = new ConcurrentHashMap<>();
        AtomicLong dups = new AtomicLong(), errors = new AtomicLong();
        ConcurrentLinkedQueue<Long> lat = new ConcurrentLinkedQueue<>();
        String run = Long.toString(System.nanoTime(), 36);
        Kafka kafka = mode.equals("kafka") ? new Kafka() : null;
        // set once the warm-up is over (see below); until then every allocation is a warm-up one
        AtomicLong measureFrom = new AtomicLong(Long.MAX_VALUE), end = new AtomicLong(Long.MAX_VALUE);
        ExecutorService ex = Executors.newFixedThreadPool(clients + 1);
        List<Future<?>> fs = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            final int client = c;
            fs.add(ex.submit(() -> {
                Deque<String[]> held = new ArrayDeque<>();
                Http[] conns = new Http[urls.length];
                for (int u = 0; u < urls.length; u++) conns[u] = new Http(urls[u]);
                int n = 0;
                while (System.nanoTime() < end.get()) {
                    int pool = pools == 1 ? 0 : (client + n) % pools;
                    String uid = run + "-" + client + "-" + n++;
                    Http http = conns[n % urls.length];
                    long t0 = System.nanoTime();
                    String ip;
                    try {
                        ip = kafka != null ? kafka.allocate(uid, pool) : http.allocate(uid, pool);
                    } catch (Exception e) { if (t0 >= measureFrom.get()) errors.incrementAndGet(); http.close(); continue; }
                    if (ip == null) { if (t0 >= measureFrom.get()) errors.incrementAndGet(); continue; }
                    if (t0 >= measureFrom.get()) lat.add(System.nanoTime() - t0);
                    String key = pool + "/" + ip;
                    if (live.putIfAbsent(key, uid) != null) dups.incrementAndGet();
                    held.add(new String[]{uid, key, Integer.toString(pool)});
                    if (held.size() > 4) { // churn: release the oldest
                        String[] old = held.poll();
                        live.remove(old[1]);
                        try {
                            if (kafka != null) kafka.release(old[0]);
                            else http.release(old[0], old[2]);
                        } catch (Exception e) { if (t0 >= measureFrom.get()) errors.incrementAndGet(); http.close(); }
                    }
                }
                for (Http h : conns) h.close();
                return null;
            }));
        }
        // warm-up: at least `warmup` seconds, then on until the replicas' JIT compiled fewer than `settled` methods in
        // each of two 10 s windows in a row (a run measured while C2 still compiled spent over half its service CPU in
        // the compiler; compilations come in bursts, one quiet window did not mean the end), at most `warmupMax`
        long started = System.nanoTime();
        // the replicas' /q/metrics, read at both ends of the window, is read now and then during the warm-up too: its
        // first reads compiled ~300 methods, which the window's JIT count then showed as the service's
        for (long t = 0; t < warmup; t += 10) { Batches.snapshot(urls); Thread.sleep(Math.min(10, warmup - t) * 1000L); }
        long jitBefore = Jit.compiles(servicePids);
        int quiet = 0;
        while (jitBefore >= 0 && quiet < 2 && System.nanoTime() - started < warmupMax * 1_000_000_000L) {
            Batches.snapshot(urls);
            Thread.sleep(10_000);
            long jitNow = Jit.compiles(servicePids);
            quiet = jitNow >= 0 && jitNow - jitBefore < settled ? quiet + 1 : 0;
            jitBefore = jitNow;
        }
        double warmedUp = (System.nanoTime() - started) / 1e9;
        // CPU per process group over the measured window only
        long from = System.nanoTime();
        end.set(from + secs * 1_000_000_000L);
        measureFrom.set(from);
        Map<Long, long[]> cpu0 = Cpu.snapshot(); long[] busy0 = Cpu.machine(); long jit0 = Jit.compiles(servicePids); long[] wal0 = Wal.snapshot(); double[] batch0 = Batches.snapshot(urls);
        while (System.nanoTime() < end.get()) Thread.sleep(Math.max(1, (end.get() - System.nanoTime()) / 1_000_000));
        Map<Long, long[]> cpu1 = Cpu.snapshot(); long[] busy1 = Cpu.machine(); long jit1 = Jit.compiles(servicePids); long[] wal1 = Wal.snapshot(); double[] batch1 = Batches.snapshot(urls);
        for (Future<?> f : fs) f.get();
        ex.shutdown();
        if (kafka != null) kafka.close();
        long[] l = lat.stream().mapToLong(Long::longValue).sorted().toArray();
        double p50 = l.length == 0 ? 0 : l[l.length / 2] / 1e6, p99 = l.length == 0 ? 0 : l[Math.min(l.length - 1, (int) (l.length * 0.99))] / 1e6;
        Map<String, Long> byGroup = new TreeMap<>();
        long self = ProcessHandle.current().pid();
        for (var e : cpu1.entrySet()) {
            long[] before = cpu0.get(e.getKey());
            long ticks = e.getValue()[0] - (before != null && before[1] == e.getValue()[1] ? before[0] : 0);
            String g = servicePids.contains(e.getKey()) ? "service" : kafkaPids.contains(e.getKey()) ? "kafka" : e.getKey() == self ? "load"
                    : e.getValue()[2] == 1 ? "postgres" : "other";
            byGroup.merge(g, ticks, Long::sum);
        }
        StringBuilder cpu = new StringBuilder();
        double perAlloc = Math.max(1, l.length);
        for (String g : List.of("service", "postgres", "kafka", "load", "other")) {
            cpu.append(cpu.isEmpty() ? "" : ",").append(String.format(Locale.ROOT, "\"%s\":%.2f", g, byGroup.getOrDefault(g, 0L) * 10.0 / perAlloc));
        }
        double busyPct = 100.0 * (1 - (double) (busy1[1] - busy0[1]) / Math.max(1, busy1[0] - busy0[0])) * Runtime.getRuntime().availableProcessors();
        // time the hypervisor gave this VM's CPUs to others (counted as busy above): work then costs more CPU time
        double stealPct = 100.0 * (busy1[2] - busy0[2]) / Math.max(1, busy1[0] - busy0[0]) * Runtime.getRuntime().availableProcessors();
        System.out.printf(Locale.ROOT, "{\"allocations\":%d,\"perSecond\":%.1f,\"p50ms\":%.2f,\"p99ms\":%.2f,\"duplicatesSeen\":%d,\"errors\":%d,\"cpuMsPerAllocation\":{%s},\"machineBusyPct\":%.0f,\"stealPct\":%.0f,\"serviceJitCompiles\":%d,\"warmupSeconds\":%.0f,\"walPerAllocation\":{\"bytes\":%.0f,\"fullPageImages\":%.2f},\"operationsPerBatch\":%.2f}%n",
                l.length, l.length / (double) secs, p50, p99, dups.get(), errors.get(), cpu, busyPct, stealPct, jit0 < 0 || jit1 < 0 ? -1 : jit1 - jit0, warmedUp,
                (wal1[1] - wal0[1]) / perAlloc, (wal1[0] - wal0[0]) / perAlloc,
                batch1[0] - batch0[0] > 0 ? (batch1[1] - batch0[1]) / (batch1[0] - batch0[0]) : 0);
    }

    /** The replicas' netattach_ipam_batch_operations {count, sum}, all together, from their /q/metrics. */
    static class Batches {
        static double[] snapshot(String[] urls) {
            double[] out = new double[2];
            for (String u : urls) {
                try (InputStream in = URI.create(u + "/q/metrics").toURL().openStream()) {
                    for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                        if (line.startsWith("netattach_ipam_batch_operations_count")) out[0] += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                        if (line.startsWith("netattach_ipam_batch_operations_sum")) out[1] += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                    }
                } catch (Exception ignored) { } // an older service without the metric: 0
            }
            return out;
        }
    }

    /**
     * PostgreSQL's WAL counters {full-page images, bytes} (pg_stat_wal, cluster-wide): a run that writes many full-page
     * images (the first change of each page after a checkpoint) spends more of PostgreSQL's CPU per allocation.
     */
    static class Wal {
        static long[] snapshot() {
            try {
                Process p = new ProcessBuilder("psql", "-h", "127.0.0.1", "-U", "netattach_ipam", "-d", "netattach_ipam", "-qtA", "-F", " ",
                        "-c", "select wal_fpi, wal_bytes from pg_stat_wal").redirectErrorStream(true).start();
                String[] f = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim().split(" ");
                p.waitFor();
                return new long[]{Long.parseLong(f[0]), Long.parseLong(f[1])};
            } catch (Exception e) {
                return new long[]{0, 0};
            }
        }
    }

    /**
     * Methods the replicas' JIT compiled, all together (HotSpot's sun.ci.totalCompiles, read from their
     * hsperfdata): compiling in the measured window means the service was not warmed up yet (-1: not readable).
     */
    static class Jit {
        static long compiles(Set<Long> pids) {
            try {
                long sum = 0;
                var host = sun.jvmstat.monitor.MonitoredHost.getMonitoredHost("localhost");
                for (long pid : pids) {
                    var vm = host.getMonitoredVm(new sun.jvmstat.monitor.VmIdentifier("//" + pid));
                    try {
                        sum += ((Number) vm.findByName("sun.ci.totalCompiles").getValue()).longValue();
                    } finally {
                        host.detach(vm);
                    }
                }
                return sum;
            } catch (Exception | LinkageError e) {
                return -1;
            }
        }
    }

    /** CPU ticks (10 ms) per process from /proc: pid -> {utime+stime, start time, 1 if postgres}. */
    static class Cpu {
        static Map<Long, long[]> snapshot() {
            Map<Long, long[]> out = new HashMap<>();
            File[] procs = new File("/proc").listFiles();
            if (procs == null) return out;
            for (File p : procs) {
                if (!p.getName().chars().allMatch(Character::isDigit)) continue;
                try {
                    String s = Files.readString(p.toPath().resolve("stat"));
                    String comm = s.substring(s.indexOf('(') + 1, s.lastIndexOf(')'));
                    String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
                    out.put(Long.parseLong(p.getName()), new long[]{Long.parseLong(f[11]) + Long.parseLong(f[12]), Long.parseLong(f[19]), comm.equals("postgres") ? 1 : 0});
                } catch (Exception ignored) { } // gone meanwhile
            }
            return out;
        }
        /** {total jiffies, idle+iowait jiffies, steal jiffies} of the machine. */
        static long[] machine() throws IOException {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
            long total = 0; for (int i = 1; i < f.length; i++) total += Long.parseLong(f[i]);
            return new long[]{total, Long.parseLong(f[4]) + Long.parseLong(f[5]), f.length > 8 ? Long.parseLong(f[8]) : 0};
        }
    }

    /**
     * A minimal HTTP/1.1 keep-alive client (one connection per allocator and replica): the JDK HttpClient took
     * ~2.5 ms of CPU per request on this machine (measured in one run, generator not warmed up), CPU that the
     * replicas and PostgreSQL share.
     */
    static class Http {
        final String host; final int port;
        Socket socket; InputStream in; OutputStream out;
        Http(String url) { URI u = URI.create(url); host = u.getHost(); port = u.getPort(); }
        String allocate(String uid, int pool) throws IOException {
            String body = "{\"owner\":{\"cluster\":\"bench\",\"namespace\":\"bench\",\"pod\":\"p-" + uid + "\",\"podUid\":\"" + uid + "\",\"interface\":\"net1\"}}";
            String[] r = exchange("POST /api/v1/pools/bench-" + pool + "/allocations", body);
            if (!r[0].equals("201")) return null;
            Matcher m = IP.matcher(r[1]);
            return m.find() ? m.group(1) : null;
        }
        void release(String uid, String pool) throws IOException {
            String[] r = exchange("DELETE /api/v1/pools/bench-" + pool + "/allocations?podUid=" + uid, null);
            if (!r[0].equals("200")) throw new IOException("release answered " + r[0]);
        }
        String[] exchange(String line, String body) throws IOException {
            if (socket == null) {
                socket = new Socket(host, port); socket.setTcpNoDelay(true);
                in = new BufferedInputStream(socket.getInputStream()); out = new BufferedOutputStream(socket.getOutputStream());
            }
            byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
            out.write((line + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\n" + (body != null ? "Content-Type: application/json\r\n" : "")
                    + "Content-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(b); out.flush();
            String status = readLine();
            if (status == null) throw new EOFException("connection closed");
            int length = -1; boolean chunked = false;
            for (String h; !(h = readLine()).isEmpty(); ) {
                String lower = h.toLowerCase(Locale.ROOT);
                if (lower.startsWith("content-length:")) length = Integer.parseInt(lower.substring(15).trim());
                else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) chunked = true;
            }
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            if (chunked) {
                for (int size; (size = Integer.parseInt(readLine().trim(), 16)) > 0; readLine()) got.write(in.readNBytes(size));
                readLine();
            } else if (length > 0) got.write(in.readNBytes(length));
            return new String[]{status.split(" ")[1], got.toString(StandardCharsets.UTF_8)};
        }
        String readLine() throws IOException {
            StringBuilder sb = new StringBuilder();
            for (int c; (c = in.read()) != -1; ) {
                if (c == '\n') return sb.toString();
                if (c != '\r') sb.append((char) c);
            }
            if (sb.isEmpty()) return null;
            return sb.toString();
        }
        void close() {
            try { if (socket != null) socket.close(); } catch (IOException ignored) { }
            socket = null;
        }
    }

    /** Requests on netattach.ipam.requests, answers matched by requestId from netattach.ipam.results. */
    static class Kafka {
        static final Pattern REQUEST_ID = Pattern.compile("\"requestId\":\"([^\"]+)\"");
        final KafkaProducer<String, String> producer;
        final KafkaConsumer<String, String> consumer;
        final ConcurrentHashMap<String, CompletableFuture<String>> waiting = new ConcurrentHashMap<>();
        final Thread poller;
        volatile boolean running = true;
        Kafka() throws Exception {
            Properties p = new Properties();
            p.put("bootstrap.servers", "127.0.0.1:9092"); p.put("acks", "all"); p.put("linger.ms", "0");
            producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
            Properties c = new Properties();
            c.put("bootstrap.servers", "127.0.0.1:9092"); c.put("group.id", "bench-" + UUID.randomUUID()); c.put("auto.offset.reset", "latest");
            // fetch.max.wait.ms left at its default: a fetch returns as soon as a record is there; a 5 ms wait made
            // the generator and the broker poll 200 times a second for nothing
            consumer = new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer());
            consumer.subscribe(List.of("netattach.ipam.results"));
            while (consumer.assignment().isEmpty()) consumer.poll(Duration.ofMillis(100));
            consumer.seekToEnd(consumer.assignment());
            for (var tp : consumer.assignment()) consumer.position(tp);
            poller = new Thread(() -> {
                while (running) for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(20))) {
                    Matcher m = REQUEST_ID.matcher(r.value());
                    if (m.find()) { var f = waiting.remove(m.group(1)); if (f != null) f.complete(r.value()); }
                }
            });
            poller.start();
        }
        String send(String id, String key, String type, String data) throws Exception {
            CompletableFuture<String> f = new CompletableFuture<>();
            waiting.put(id, f);
            String ev = "{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"/netattach/bench/bench\",\"type\":\"" + type + "\",\"time\":\"" + Instant.now()
                    + "\",\"datacontenttype\":\"application/json\",\"data\":" + data + "}";
            producer.send(new ProducerRecord<>("netattach.ipam.requests", key, ev));
            return f.get(30, TimeUnit.SECONDS);
        }
        String allocate(String uid, int pool) throws Exception {
            String id = "alloc/bench/" + uid + "/net1";
            String data = "{\"requestId\":\"" + id + "\",\"network\":\"bench/net" + pool + "\",\"ipam\":{\"type\":\"whereabouts\",\"range\":\"10." + (100 + pool) + ".0.0/16\"},"
                    + "\"owner\":{\"cluster\":\"bench\",\"namespace\":\"bench\",\"pod\":\"p-" + uid + "\",\"podUid\":\"" + uid + "\",\"interface\":\"net1\"}}";
            String r = send(id, uid, "io.netattach.ipam.allocate", data);
            Matcher m = IP.matcher(r);
            return r.contains("\"ok\":true") && m.find() ? m.group(1) : null;
        }
        void release(String uid) throws Exception {
            String id = "release/bench/" + uid;
            send(id, uid, "io.netattach.ipam.release", "{\"requestId\":\"" + id + "\",\"owner\":{\"cluster\":\"bench\",\"namespace\":\"bench\",\"pod\":\"p-" + uid + "\",\"podUid\":\"" + uid + "\",\"interface\":null}}");
        }
        void close() throws Exception { running = false; poller.join(); consumer.close(); producer.close(); }
    }
}
JAVA

URLS=http://127.0.0.1:18081,http://127.0.0.1:18082
# compiled once (the source launcher would compile it again on every run, on the cores being measured)
JVMSTAT=(--add-exports jdk.internal.jvmstat/sun.jvmstat.monitor=ALL-UNNAMED)
"$JAVA_HOME/bin/javac" -nowarn "${JVMSTAT[@]}" -cp "$APP/lib/main/*" -d "$WORK" "$WORK/IpamLoad.java" 2>"$WORK/javac.err" || { cat "$WORK/javac.err" >&2; die "load generator does not compile"; }
SERVICE_PIDS=$(IFS=,; echo "${PIDS[*]}")
KAFKA_PIDS=$(cat "$NETATTACH_STATE/kafka.pid" 2>/dev/null || true)
run_load() { # mode pools
  "$JAVA_HOME/bin/java" "${JVMSTAT[@]}" -cp "$WORK:$APP/lib/main/*" IpamLoad "$1" "$CLIENTS" "$SECS" "$2" "$URLS" "$WARMUP" "$SERVICE_PIDS" "$KAFKA_PIDS" "$WARMUP_MAX" "$JIT_SETTLED" 2>"$WORK/load-$1-$2.err" | tail -1
}
reset_pools() {
  "${PG[@]}" -c "delete from pool where name like 'bench-%' or cluster = 'bench'" >/dev/null
  # this machine runs PostgreSQL with autovacuum off: do what it would do between runs (dead rows, statistics)
  "${PG[@]}" -c "vacuum analyze pool" -c "vacuum analyze allocation" >/dev/null
  for i in $(seq 0 15); do
    curl -fs -X PUT -H 'Content-Type: application/json' "http://127.0.0.1:18081/api/v1/pools/bench-$i" \
      -d "{\"ipam\":{\"type\":\"whereabouts\",\"range\":\"10.$((100 + i)).0.0/16\"}}" >/dev/null
  done
}
sql_dups() {
  "${PG[@]}" -c "select count(*) from (select 1 from allocation group by pool, range_set, ordinal, value having count(*) > 1) d"
}

declare -A R
for mode in ${MODES:-rest kafka}; do
  for pools in 1 16; do
    reset_pools
    say "$mode, $pools pool(s), $CLIENTS clients, ${WARMUP}-${WARMUP_MAX}s warm-up (until the JIT settles) + ${SECS}s measured"
    out=$(run_load "$mode" "$pools")
    [ -n "$out" ] || { cat "$WORK/load-$mode-$pools.err" >&2; die "load generator failed ($mode, $pools)"; }
    d=$(sql_dups)
    echo "$out  sqlDuplicates=$d"
    R[$mode-$pools]=$(echo "$out" | sed "s/}\$/,\"sqlDuplicates\":$d}/")
  done
done

ratio() { echo "$1" | sed -E 's/.*"perSecond":([0-9.]+).*/\1/' | awk -v ref="$PGBENCH_TPS" '{ printf "%.3f", (ref > 0 ? $1 / ref : 0) }'; }
echo "ratio to pgbench (REST hot pool): $(ratio "${R[rest-1]:-null}")"
# what ratio 1.0 leaves per allocation on this machine: every process shares its cores, so an allocation and its
# release may cost at most cores / pgbench-tps of CPU across service, PostgreSQL, broker and load generator together
BUDGET=$(awk -v ref="${PGBENCH_TPS:-0}" -v n="$(nproc)" 'BEGIN { printf "%.3f", (ref > 0 ? n * 1000 / ref : 0) }')
spent() { echo "$1" | sed -nE 's/.*"cpuMsPerAllocation":\{([^}]*)\}.*/\1/p' | tr ',' '\n' | awk -F: '{ s += $2 } END { printf "%.3f", s }'; }
echo "CPU budget per allocation at ratio 1.0: $BUDGET ms ($(nproc) cores / pgbench tps); spent, REST hot pool: $(spent "${R[rest-1]:-}") ms, Kafka hot pool: $(spent "${R[kafka-1]:-}") ms"
printf '{"bench":"ipam","clients":%s,"seconds":%s,"pgbenchTps":%s,"cpuBudgetMsPerAllocation":%s,"rest":{"hotPool":%s,"pools16":%s},"kafka":{"hotPool":%s,"pools16":%s},"ratioRestHot":%s,"ratioRest16":%s,"ratioKafkaHot":%s,"ratioKafka16":%s}\n' \
  "$CLIENTS" "$SECS" "${PGBENCH_TPS:-0}" "$BUDGET" "${R[rest-1]:-null}" "${R[rest-16]:-null}" "${R[kafka-1]:-null}" "${R[kafka-16]:-null}" \
  "$(ratio "${R[rest-1]:-null}")" "$(ratio "${R[rest-16]:-null}")" "$(ratio "${R[kafka-1]:-null}")" "$(ratio "${R[kafka-16]:-null}")"
