/*
 * netattach-shim: the CNI plugin that the container runtime executes, chained after the node's primary CNI.
 *
 * It forwards the runtime's request (the CNI_* environment and the stdin config) to the local node-worker
 * over its unix socket, prints what the worker answers and exits with the worker's code. node-worker does
 * all the work (docs/node-worker.md "Sandbox API"); this program only carries bytes, so that a pod start
 * costs one small process, not a JVM (docs/benchmarks.md, "Attach").
 *
 * Protocol (node-worker's SandboxSocket), one connection per call, one JSON line each way:
 *   request  {"command":..,"containerId":..,"netns":..,"ifName":..,"pod":{"namespace":..,"name":..,"uid":..},"config":<stdin>}
 *   response {"exit":N,"stdout":<what to print, or null>}
 * The socket is the config's "socketPath", else $NETATTACH_NODE_SOCKET, else /run/netattach/node.sock.
 *
 * Nothing here is interpreted by a shell; runtime-supplied strings are only JSON-quoted. Build:
 *   cc -std=c11 -O2 -Wall -Wextra -Werror -static -o netattach-shim netattach-shim.c
 * (node-worker's Maven build does this; static, so it runs on any Linux node without a libc match).
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/netattach/node.sock"
#define TIMEOUT_SECONDS 120
#define MAX_CONFIG (1 << 20)
#define VERSION_RESULT "{\"cniVersion\":\"1.1.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n"

typedef struct {
    char *data;
    size_t len, cap;
} buf;

static void die_oom(void) {
    static const char msg[] = "{\"code\":999,\"msg\":\"netattach: out of memory\"}\n";
    (void) !write(1, msg, sizeof msg - 1);
    _exit(1);
}

static void put_n(buf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) die_oom();
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void put(buf *b, const char *s) { put_n(b, s, strlen(s)); }

/* A JSON string literal of s: quotes, backslashes and control characters escaped; other bytes as they are. */
static void put_quoted(buf *b, const char *s) {
    put(b, "\"");
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        char esc[8];
        switch (*p) {
            case '"': put(b, "\\\""); break;
            case '\\': put(b, "\\\\"); break;
            case '\n': put(b, "\\n"); break;
            case '\r': put(b, "\\r"); break;
            case '\t': put(b, "\\t"); break;
            default:
                if (*p < 0x20) {
                    snprintf(esc, sizeof esc, "\\u%04x", *p);
                    put(b, esc);
                } else {
                    put_n(b, (const char *) p, 1);
                }
        }
    }
    put(b, "\"");
}

static const char *env_or(const char *name, const char *fallback) {
    const char *v = getenv(name);
    return v ? v : fallback;
}

/* The value of "key": "<value>" in a JSON text (first occurrence), for the value's allowed characters. */
static char *json_string_member(const char *json, const char *key, const char *allowed_chars, int allow_any_but_quote) {
    size_t klen = strlen(key);
    for (const char *p = strstr(json, key); p; p = strstr(p + 1, key)) {
        if (p == json || p[-1] != '"' || p[klen] != '"') continue;
        const char *q = p + klen + 1;
        while (isspace((unsigned char) *q)) q++;
        if (*q != ':') continue;
        q++;
        while (isspace((unsigned char) *q)) q++;
        if (*q != '"') continue;
        const char *start = ++q;
        while (*q && *q != '"') {
            if (allow_any_but_quote ? *q == '\\' : !strchr(allowed_chars, *q)) break;
            q++;
        }
        if (*q != '"' || q == start) continue;
        char *out = strndup(start, (size_t) (q - start));
        if (!out) die_oom();
        return out;
    }
    return NULL;
}

/* CNI_ARGS is "K1=V1;K2=V2": the value of key, trimmed, or "". */
static char *cni_arg(const char *args, const char *key) {
    size_t klen = strlen(key);
    const char *p = args;
    while (*p) {
        const char *end = strchr(p, ';');
        if (!end) end = p + strlen(p);
        const char *k = p;
        while (k < end && isspace((unsigned char) *k)) k++;
        const char *eq = memchr(k, '=', (size_t) (end - k));
        if (eq) {
            const char *ke = eq;
            while (ke > k && isspace((unsigned char) ke[-1])) ke--;
            if ((size_t) (ke - k) == klen && strncmp(k, key, klen) == 0) {
                const char *v = eq + 1, *ve = end;
                while (v < ve && isspace((unsigned char) *v)) v++;
                while (ve > v && isspace((unsigned char) ve[-1])) ve--;
                char *out = strndup(v, (size_t) (ve - v));
                if (!out) die_oom();
                return out;
            }
        }
        p = *end ? end + 1 : end;
    }
    char *out = strdup("");
    if (!out) die_oom();
    return out;
}

static char *cni_error(const char *version, int code, const char *msg, const char *details) {
    buf b = {0};
    put(&b, "{\"cniVersion\":");
    put_quoted(&b, version);
    char num[16];
    snprintf(num, sizeof num, "%d", code);
    put(&b, ",\"code\":");
    put(&b, num);
    put(&b, ",\"msg\":");
    put_quoted(&b, msg);
    if (details) {
        put(&b, ",\"details\":");
        put_quoted(&b, details);
    }
    put(&b, "}\n");
    return b.data;
}

static int write_all(int fd, const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        s += w;
        n -= (size_t) w;
    }
    return 0;
}

static void trim(buf *b) {
    size_t start = 0;
    while (start < b->len && isspace((unsigned char) b->data[start])) start++;
    size_t end = b->len;
    while (end > start && isspace((unsigned char) b->data[end - 1])) end--;
    memmove(b->data, b->data + start, end - start);
    b->len = end - start;
    b->data[b->len] = '\0';
}

/* What the alarm prints: prepared before waiting, so the handler only writes. */
static char *timeout_message;

static void on_timeout(int sig) {
    (void) sig;
    if (timeout_message) (void) !write(1, timeout_message, strlen(timeout_message));
    _exit(1);
}

int main(void) {
    const char *command = env_or("CNI_COMMAND", "");
    if (strcmp(command, "VERSION") == 0) {
        return write_all(1, VERSION_RESULT, sizeof VERSION_RESULT - 1) == 0 ? 0 : 1;
    }

    buf config = {0};
    put(&config, "");
    char chunk[65536];
    for (;;) {
        ssize_t r = read(0, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            char *e = cni_error("1.0.0", 4, "netattach: cannot read the network config from stdin", strerror(errno));
            write_all(1, e, strlen(e));
            return 1;
        }
        if (r == 0) break;
        if (config.len + (size_t) r > MAX_CONFIG) {
            char *e = cni_error("1.0.0", 4, "netattach: network config on stdin is over 1 MiB", NULL);
            write_all(1, e, strlen(e));
            return 1;
        }
        put_n(&config, chunk, (size_t) r);
    }
    trim(&config);
    if (memchr(config.data, '\0', config.len)) {
        char *e = cni_error("1.0.0", 4, "netattach: network config on stdin holds a NUL byte", NULL);
        write_all(1, e, strlen(e));
        return 1;
    }
    /* A raw line break can only sit between JSON tokens: the request is one line. */
    for (size_t i = 0; i < config.len; i++) {
        if (config.data[i] == '\n' || config.data[i] == '\r') config.data[i] = ' ';
    }

    const char *version = json_string_member(config.data, "cniVersion", "0123456789.", 0);
    if (!version) version = "1.0.0";
    const char *args = env_or("CNI_ARGS", "");
    char *socket_path = json_string_member(config.data, "socketPath", NULL, 1);
    const char *sock = socket_path ? socket_path : env_or("NETATTACH_NODE_SOCKET", DEFAULT_SOCKET);

    buf req = {0};
    put(&req, "{\"command\":");
    put_quoted(&req, command);
    put(&req, ",\"containerId\":");
    put_quoted(&req, env_or("CNI_CONTAINERID", ""));
    put(&req, ",\"netns\":");
    put_quoted(&req, env_or("CNI_NETNS", ""));
    put(&req, ",\"ifName\":");
    put_quoted(&req, env_or("CNI_IFNAME", ""));
    put(&req, ",\"pod\":{\"namespace\":");
    put_quoted(&req, cni_arg(args, "K8S_POD_NAMESPACE"));
    put(&req, ",\"name\":");
    put_quoted(&req, cni_arg(args, "K8S_POD_NAME"));
    put(&req, ",\"uid\":");
    put_quoted(&req, cni_arg(args, "K8S_POD_UID"));
    put(&req, "},\"config\":");
    put(&req, config.len ? config.data : "null");
    put(&req, "}\n");

    /* The worker bounds its own wait; this is only a last resort against a wedged worker. */
    char msg[96];
    snprintf(msg, sizeof msg, "netattach: node-worker did not answer within %d s", TIMEOUT_SECONDS);
    timeout_message = cni_error(version, 11, msg, sock);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_timeout;
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    alarm(TIMEOUT_SECONDS);

    const char *failure = NULL;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(sock) >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        failure = strerror(errno);
    } else {
        strcpy(addr.sun_path, sock);
    }
    if (!failure && fd < 0) failure = strerror(errno);
    if (!failure) {
        int rc;
        do rc = connect(fd, (struct sockaddr *) &addr, sizeof addr); while (rc < 0 && errno == EINTR);
        if (rc < 0) failure = strerror(errno);
    }
    if (!failure && write_all(fd, req.data, req.len) < 0) failure = strerror(errno);
    buf resp = {0};
    put(&resp, "");
    while (!failure) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) failure = strerror(errno);
        else if (r == 0) break;
        else put_n(&resp, chunk, (size_t) r);
    }
    alarm(0);
    if (fd >= 0) close(fd);
    if (failure) {
        if (strcmp(command, "DEL") == 0) {
            /* Nothing to undo without the worker; the pod's interfaces go with its namespace. */
            fprintf(stderr, "netattach: node-worker not reachable at %s on DEL: %s\n", sock, failure);
            return 0;
        }
        buf m = {0};
        put(&m, "netattach: node-worker not reachable at ");
        put(&m, sock);
        char *e = cni_error(version, 11, m.data, failure);
        write_all(1, e, strlen(e));
        return 1;
    }

    /* {"exit":N,"stdout":BODY} */
    trim(&resp);
    static const char head[] = "{\"exit\":";
    static const char mid[] = ",\"stdout\":";
    int ok = resp.len > sizeof head && strncmp(resp.data, head, sizeof head - 1) == 0 && resp.data[resp.len - 1] == '}';
    const char *p = resp.data + sizeof head - 1;
    long code = 0;
    if (ok) {
        const char *digits = p;
        while (isdigit((unsigned char) *p) && p - digits < 4) code = code * 10 + (*p++ - '0');
        ok = p > digits && strncmp(p, mid, sizeof mid - 1) == 0 && code <= 255;
    }
    if (!ok) {
        char *e = cni_error(version, 999, "netattach: unexpected answer from node-worker", resp.data);
        write_all(1, e, strlen(e));
        return 1;
    }
    buf body = {0};
    const char *start = p + sizeof mid - 1;
    put_n(&body, start, (size_t) (resp.data + resp.len - 1 - start));
    trim(&body);
    if (strcmp(body.data, "null") != 0) {
        put(&body, "\n");
        if (write_all(1, body.data, body.len) < 0) return 1;
    }
    return (int) code;
}
