/*
 * loadgen: the echo benchmark's load generator (bench/echo/run drives it).
 *
 * One thread, one epoll set, N TCP connections to an echo server. Each
 * connection keeps K messages of S bytes in flight: when the last byte of a
 * message comes back, the next message is generated and sent. After a warm-up
 * it counts, for a measured duration, the messages that came back and their
 * latency, then drains every connection, half-closes it and waits for the
 * server's EOF. It prints one machine-readable line on stdout:
 *
 *   msgs_per_s=... p50_us=... p99_us=... p999_us=... max_us=... mean_us=...
 *   msgs=... bytes=... conns=... min_conn_msgs=... seconds=... cpu_s=... errors=0
 *
 * (cpu_s is this process's own CPU time, user + system, start to end, so the
 * run script can tell how much of the machine other processes took.)
 *
 * Why it is built this way:
 *
 * - Every echoed byte is checked. Message m of connection c carries a header
 *   naming (c, m) and a random body chosen by (c, m) (see "message pattern"),
 *   so a byte that comes back wrong, shifted, duplicated, from another
 *   connection or from another message is caught.
 *   The in-flight messages of a connection live in a ring of K*S bytes: stream
 *   offset P is ring offset P % (K*S), so the bytes still to send and the bytes
 *   still to verify are both contiguous runs of that ring (at most two pieces),
 *   sent with one writev and checked with memcmp. A message is built once, by
 *   two memcpys, so the user-space cost per message stays small next to the
 *   kernel's TCP work, which over loopback is about the same on both sides.
 * - Any mismatch, early close, reset, surplus byte, failed connect, or a server
 *   that stops answering is a loud failure: a message on stderr saying which
 *   connection, which message and which byte, and exit status 1. A benchmark
 *   that measures a broken server must not print a number.
 * - Latency is per message: from just before the write that carries its first
 *   byte to just after the read that delivers its last echoed byte
 *   (CLOCK_MONOTONIC, vDSO). It goes into a log-linear histogram with 1 ns
 *   buckets below 2,048 ns and 1,024 buckets per power of two above (relative
 *   error under 0.1%: 1 us at 1 ms), so p50 and p99 are exact to well under a
 *   microsecond in the range that matters.
 * - Connects are nonblocking and paced: at most --connect-batch are in
 *   progress at once, so 1,000 connections do not overflow a server's accept
 *   backlog (a dropped SYN would cost a 1 s retransmit). Load starts only when
 *   every connection is up, so the warm-up and the window see all of them.
 * - By default it sleeps in epoll_wait like any server's client; --busy-poll
 *   spins on epoll_wait(0) instead, which takes the cost of waking the load
 *   generator off the server but leaves no idle time on its CPU for others.
 * - Only completions inside the window count; a message sent in the warm-up
 *   and echoed in the window counts (its latency is real). After the window no
 *   new message is generated; the ones in flight are still verified.
 *
 * Build: gcc -O2 -Wall -o loadgen loadgen.c
 * Usage: loadgen --port P [--connections N] [--size S] [--inflight K]
 *                [--warmup SEC] [--duration SEC] [--host 127.0.0.1] ...
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* ---- options ---------------------------------------------------------- */

static const char *opt_host = "127.0.0.1";
static int opt_port = 0;
static int opt_conns = 100;
static size_t opt_size = 64;
static int opt_inflight = 1;
static double opt_warmup = 1.0;
static double opt_duration = 5.0;
static int opt_connect_batch = 100;
static double opt_connect_timeout = 10.0;
static double opt_stall_timeout = 5.0;
static double opt_drain_timeout = 10.0;
static int opt_quiet = 0;
static int opt_busy_poll = 0;

/* ---- failure ---------------------------------------------------------- */

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "loadgen: FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(stderr);
    exit(1);
}

/* ---- time ------------------------------------------------------------- */

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- histogram (log-linear, see the header) --------------------------- */

#define SUB_BITS 10                       /* 1,024 buckets per power of two */
#define SUB_COUNT (1u << SUB_BITS)
#define LINEAR_LIMIT (2u * SUB_COUNT)     /* exact below 2,048 ns */
#define HIST_BUCKETS (LINEAR_LIMIT + 64u * SUB_COUNT)

static uint64_t hist[HIST_BUCKETS];
static uint64_t hist_count, hist_sum_ns, hist_max_ns;

static inline unsigned hist_index(uint64_t v) {
    if (v < LINEAR_LIMIT) return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);  /* >= SUB_BITS + 1 */
    unsigned shift = msb - SUB_BITS;                    /* v >> shift in [1024, 2048) */
    return LINEAR_LIMIT + (shift - 1) * SUB_COUNT + (unsigned)((v >> shift) - SUB_COUNT);
}

/* The middle of a bucket, in ns. */
static double hist_value(unsigned i) {
    if (i < LINEAR_LIMIT) return (double)i;
    unsigned shift = (i - LINEAR_LIMIT) / SUB_COUNT + 1;
    uint64_t low = (uint64_t)((i - LINEAR_LIMIT) % SUB_COUNT + SUB_COUNT) << shift;
    return (double)low + (double)(1ull << shift) / 2.0;
}

static inline void hist_record(uint64_t v) {
    hist[hist_index(v)]++;
    hist_count++;
    hist_sum_ns += v;
    if (v > hist_max_ns) hist_max_ns = v;
}

/* The smallest recorded value with at least q of the samples at or below it. */
static double hist_quantile_us(double q) {
    if (hist_count == 0) return 0.0;
    uint64_t rank = (uint64_t)(q * (double)hist_count + 0.999999);
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += hist[i];
        if (seen >= rank) return hist_value(i) / 1000.0;
    }
    return (double)hist_max_ns / 1000.0;
}

/* ---- message pattern ---------------------------------------------------
 *
 * Message m of connection c: a 16-byte header (c, m and a hash of both), then
 * a slice of a pool of random bytes at an offset derived from (c, m). The
 * header makes a message from another connection or another place in the
 * stream certain to mismatch; the random body makes a shift, a duplicate or a
 * corrupted byte mismatch. Building a message is two memcpys: computing a
 * 16 KiB pattern word by word took 11% of the load generator's time in
 * scenario (c), where it runs closest to saturation. */

#define POOL_SPAN (1u << 20)              /* message bodies start in the first 1 MiB */
static unsigned char *pool;

static inline uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static void make_pool(size_t max_message) {
    size_t size = POOL_SPAN + max_message, i;
    pool = malloc(size + 8);
    if (!pool) { fprintf(stderr, "loadgen: out of memory\n"); exit(1); }
    for (i = 0; i < size; i += 8) {
        uint64_t w = splitmix64(i);
        memcpy(pool + i, &w, 8);
    }
}

static void fill_message(unsigned char *dst, size_t size, uint32_t conn, uint64_t seq) {
    uint64_t h = splitmix64(((uint64_t)conn << 40) ^ seq);
    unsigned char header[16];
    uint32_t check = (uint32_t)h;
    memcpy(header, &conn, 4);
    memcpy(header + 4, &seq, 8);
    memcpy(header + 12, &check, 4);
    memcpy(dst, header, size < 16 ? size : 16);
    if (size > 16) memcpy(dst + 16, pool + (h >> 32) % (POOL_SPAN / 64) * 64, size - 16);
}

/* ---- connections ------------------------------------------------------ */

enum conn_state { C_IDLE, C_CONNECTING, C_OPEN, C_SHUTDOWN, C_DONE };

struct conn {
    int fd;
    uint32_t id;
    enum conn_state state;
    int want_out;              /* EPOLLOUT registered */
    unsigned char *ring;       /* K*S bytes: the messages in flight */
    uint64_t *sent_at;         /* K timestamps: first byte of each slot's message */
    uint64_t gen;              /* stream bytes generated (a multiple of S) */
    uint64_t tx;               /* stream bytes written */
    uint64_t rx;               /* stream bytes echoed and verified */
    uint64_t window_msgs;      /* completions inside the measured window */
    uint64_t connect_started;
};

static struct conn *conns;
static size_t ring_bytes;      /* K*S */
static int epfd;
static unsigned char *scratch;
static size_t scratch_size;

enum phase { P_CONNECT, P_WARMUP, P_MEASURE, P_DRAIN };
static enum phase phase = P_CONNECT;
static uint64_t t_window_start, t_window_end;
static uint64_t window_msgs, window_bytes;
static uint64_t last_progress;

static void ep_set(struct conn *c, int op, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(epfd, op, c->fd, &ev) != 0)
        die("epoll_ctl on connection %u: %s", c->id, strerror(errno));
}

static void want_out(struct conn *c, int on) {
    if (c->want_out == on) return;
    c->want_out = on;
    ep_set(c, EPOLL_CTL_MOD, EPOLLIN | (on ? EPOLLOUT : 0));
}

static void generate(struct conn *c) {
    uint64_t seq = c->gen / opt_size;
    fill_message(c->ring + c->gen % ring_bytes, opt_size, c->id, seq);
    c->gen += opt_size;
}

/* Write what is generated and not yet written, from the ring (two pieces at
 * most). Timestamps the messages whose first byte this write carries. */
static void flush(struct conn *c) {
    while (c->tx < c->gen) {
        size_t off = c->tx % ring_bytes, left = c->gen - c->tx;
        struct iovec iov[2];
        int n_iov = 1;
        iov[0].iov_base = c->ring + off;
        iov[0].iov_len = left < ring_bytes - off ? left : ring_bytes - off;
        if (iov[0].iov_len < left) {
            iov[1].iov_base = c->ring;
            iov[1].iov_len = left - iov[0].iov_len;
            n_iov = 2;
        }
        uint64_t t = now_ns();
        ssize_t n = writev(c->fd, iov, n_iov);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) { want_out(c, 1); return; }
            if (errno == EINTR) continue;
            die("connection %u: write failed after %llu bytes sent: %s (server closed or reset?)",
                c->id, (unsigned long long)c->tx, strerror(errno));
        }
        /* first message start at or after tx, up to tx + n */
        uint64_t start = (c->tx + opt_size - 1) / opt_size * opt_size;
        for (; start < c->tx + (uint64_t)n; start += opt_size)
            c->sent_at[(start / opt_size) % (uint64_t)opt_inflight] = t;
        c->tx += (uint64_t)n;
    }
    want_out(c, 0);
}

static void report_mismatch(struct conn *c, const unsigned char *got, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint64_t pos = c->rx + i;
        unsigned char want = c->ring[pos % ring_bytes];
        if (got[i] != want)
            die("connection %u: echoed byte %llu (message %llu, byte %llu of %zu) is 0x%02x, "
                "expected 0x%02x",
                c->id, (unsigned long long)pos, (unsigned long long)(pos / opt_size),
                (unsigned long long)(pos % opt_size), opt_size, got[i], want);
    }
}

/* Check n echoed bytes against the ring, then retire completed messages. */
static void on_echo(struct conn *c, const unsigned char *got, size_t n, uint64_t t) {
    if (n > c->tx - c->rx)
        die("connection %u: server sent %zu bytes but only %llu were outstanding "
            "(surplus bytes: not an echo)",
            c->id, n, (unsigned long long)(c->tx - c->rx));
    size_t off = c->rx % ring_bytes;
    size_t first = n < ring_bytes - off ? n : ring_bytes - off;
    if (memcmp(got, c->ring + off, first) != 0 ||
        (first < n && memcmp(got + first, c->ring, n - first) != 0))
        report_mismatch(c, got, n);

    uint64_t before = c->rx / opt_size;
    c->rx += n;
    uint64_t done = c->rx / opt_size;      /* messages fully echoed so far */
    for (uint64_t m = before; m < done; m++) {
        if (t >= t_window_start && t < t_window_end) {  /* by timestamp, not by phase */
            hist_record(t - c->sent_at[m % (uint64_t)opt_inflight]);
            window_msgs++;
            window_bytes += opt_size;
            c->window_msgs++;
        }
        if (phase != P_DRAIN && t < t_window_end) generate(c);  /* m + K takes slot m % K */
    }
    if (done > before) last_progress = t;
}

static void start_shutdown(struct conn *c) {
    if (shutdown(c->fd, SHUT_WR) != 0)
        die("connection %u: shutdown: %s", c->id, strerror(errno));
    c->state = C_SHUTDOWN;
}

static int conns_done;

static void on_readable(struct conn *c) {
    for (;;) {
        ssize_t n = read(c->fd, scratch, scratch_size);
        uint64_t t = now_ns();
        if (n > 0) {
            on_echo(c, scratch, (size_t)n, t);
            if ((size_t)n < scratch_size) break;  /* likely drained; epoll is level-triggered */
            continue;
        }
        if (n == 0) {
            if (c->state == C_SHUTDOWN && c->rx == c->tx) {
                close(c->fd);
                c->fd = -1;
                c->state = C_DONE;
                conns_done++;
                return;
            }
            die("connection %u: server closed the connection early (%llu bytes echoed, "
                "%llu outstanding)",
                c->id, (unsigned long long)c->rx, (unsigned long long)(c->tx - c->rx));
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        die("connection %u: read failed after %llu bytes echoed: %s", c->id,
            (unsigned long long)c->rx, strerror(errno));
    }
    if (c->state == C_OPEN) {
        if (phase == P_DRAIN && c->rx == c->gen) start_shutdown(c);
        else flush(c);
    }
}

/* ---- connecting ------------------------------------------------------- */

static struct sockaddr_in server_addr;
static int next_to_connect, connecting, connected;

static void start_connect(struct conn *c) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket for connection %u: %s%s", c->id, strerror(errno),
            errno == EMFILE ? " (raise the limit: ulimit -n)" : "");
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        die("TCP_NODELAY: %s", strerror(errno));
    c->fd = fd;
    c->connect_started = now_ns();
    int r = connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr);
    if (r != 0 && errno != EINPROGRESS)
        die("connect %u to %s:%d: %s", c->id, opt_host, opt_port, strerror(errno));
    c->state = C_CONNECTING;
    connecting++;
    ep_set(c, EPOLL_CTL_ADD, EPOLLOUT);
}

static void on_connected(struct conn *c) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0)
        die("connect %u to %s:%d: %s", c->id, opt_host, opt_port, strerror(err));
    c->state = C_OPEN;
    connecting--;
    connected++;
    c->want_out = 0;
    ep_set(c, EPOLL_CTL_MOD, EPOLLIN);
}

static double cpu_seconds(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0.0;
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ---- main ------------------------------------------------------------- */

static void usage(FILE *f) {
    fprintf(f,
            "usage: loadgen --port P [options]\n"
            "  -p, --port P             server port (required)\n"
            "  -H, --host ADDR          server IPv4 address (default 127.0.0.1)\n"
            "  -c, --connections N      connections (default 100)\n"
            "  -s, --size S             message size in bytes (default 64)\n"
            "  -k, --inflight K         messages in flight per connection (default 1)\n"
            "  -w, --warmup SEC         warm-up, not counted (default 1)\n"
            "  -d, --duration SEC       measured window (default 5)\n"
            "      --connect-batch N    connects in progress at once (default 100)\n"
            "      --connect-timeout S  for all connections to be up (default 10)\n"
            "      --stall-timeout S    fail if no echo completes for S seconds (default 5)\n"
            "      --drain-timeout S    for the last echoes and the server's EOF (default 10)\n"
            "      --busy-poll          spin on epoll_wait(0) instead of sleeping\n"
            "  -q, --quiet              only the result line\n");
}

static double parse_double(const char *name, const char *s, double min) {
    char *end;
    double v = strtod(s, &end);
    if (*s == 0 || *end != 0 || v < min) {
        fprintf(stderr, "loadgen: %s must be a number >= %g, got '%s'\n", name, min, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    static const struct option longopts[] = {
        {"port", required_argument, 0, 'p'},        {"host", required_argument, 0, 'H'},
        {"connections", required_argument, 0, 'c'}, {"size", required_argument, 0, 's'},
        {"inflight", required_argument, 0, 'k'},    {"warmup", required_argument, 0, 'w'},
        {"duration", required_argument, 0, 'd'},    {"connect-batch", required_argument, 0, 1},
        {"connect-timeout", required_argument, 0, 2}, {"stall-timeout", required_argument, 0, 3},
        {"drain-timeout", required_argument, 0, 4}, {"quiet", no_argument, 0, 'q'},
        {"busy-poll", no_argument, 0, 5},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "p:H:c:s:k:w:d:qh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p': opt_port = (int)parse_double("--port", optarg, 1); break;
        case 'H': opt_host = optarg; break;
        case 'c': opt_conns = (int)parse_double("--connections", optarg, 1); break;
        case 's': opt_size = (size_t)parse_double("--size", optarg, 1); break;
        case 'k': opt_inflight = (int)parse_double("--inflight", optarg, 1); break;
        case 'w': opt_warmup = parse_double("--warmup", optarg, 0); break;
        case 'd': opt_duration = parse_double("--duration", optarg, 0.01); break;
        case 1: opt_connect_batch = (int)parse_double("--connect-batch", optarg, 1); break;
        case 2: opt_connect_timeout = parse_double("--connect-timeout", optarg, 0.01); break;
        case 3: opt_stall_timeout = parse_double("--stall-timeout", optarg, 0.01); break;
        case 4: opt_drain_timeout = parse_double("--drain-timeout", optarg, 0.01); break;
        case 5: opt_busy_poll = 1; break;
        case 'q': opt_quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (opt_port <= 0 || opt_port > 65535) { usage(stderr); return 2; }
    memset(&server_addr, 0, sizeof server_addr);
    server_addr.sin_family = AF_INET;
    server_addr.sin_port = htons((uint16_t)opt_port);
    if (inet_pton(AF_INET, opt_host, &server_addr.sin_addr) != 1) {
        fprintf(stderr, "loadgen: --host must be an IPv4 address, got '%s'\n", opt_host);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)opt_conns + 16)
        die("%d connections need %d file descriptors but the limit is %llu (ulimit -n)",
            opt_conns, opt_conns + 16, (unsigned long long)rl.rlim_cur);

    make_pool(opt_size);
    ring_bytes = opt_size * (size_t)opt_inflight;
    scratch_size = ring_bytes > 65536 ? ring_bytes : 65536;
    scratch = malloc(scratch_size);
    conns = calloc((size_t)opt_conns, sizeof *conns);
    if (!scratch || !conns) die("out of memory");
    for (int i = 0; i < opt_conns; i++) {
        conns[i].id = (uint32_t)i;
        conns[i].fd = -1;
        conns[i].ring = malloc(ring_bytes);
        conns[i].sent_at = calloc((size_t)opt_inflight, sizeof(uint64_t));
        if (!conns[i].ring || !conns[i].sent_at) die("out of memory");
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1: %s", strerror(errno));

    enum { MAX_EVENTS = 1024 };
    static struct epoll_event events[MAX_EVENTS];
    uint64_t t_begin = now_ns(), t_phase = t_begin;
    uint64_t connect_deadline = t_begin + (uint64_t)(opt_connect_timeout * 1e9);

    for (;;) {
        uint64_t t = now_ns();
        switch (phase) {
        case P_CONNECT:
            while (next_to_connect < opt_conns && connecting < opt_connect_batch)
                start_connect(&conns[next_to_connect++]);
            if (connected == opt_conns) {
                phase = P_WARMUP;
                t_phase = t;
                t_window_start = t + (uint64_t)(opt_warmup * 1e9);
                t_window_end = t_window_start + (uint64_t)(opt_duration * 1e9);
                last_progress = t;
                if (!opt_quiet)
                    fprintf(stderr, "loadgen: %d connections up in %.3f s; warm-up %.1f s, window %.1f s\n",
                            opt_conns, (t - t_begin) / 1e9, opt_warmup, opt_duration);
                for (int i = 0; i < opt_conns; i++) {
                    for (int k = 0; k < opt_inflight; k++) generate(&conns[i]);
                    flush(&conns[i]);
                }
            } else if (t > connect_deadline) {
                die("only %d of %d connections to %s:%d were up after %.1f s", connected,
                    opt_conns, opt_host, opt_port, opt_connect_timeout);
            }
            break;
        case P_WARMUP:
            if (t >= t_window_start) phase = P_MEASURE;
            break;
        case P_MEASURE:
            if (t >= t_window_end) {
                phase = P_DRAIN;
                t_phase = t;
                last_progress = t;
                for (int i = 0; i < opt_conns; i++)
                    if (conns[i].state == C_OPEN && conns[i].rx == conns[i].gen)
                        start_shutdown(&conns[i]);
            }
            break;
        case P_DRAIN:
            if (conns_done == opt_conns) goto finished;
            if (t - t_phase > (uint64_t)(opt_drain_timeout * 1e9)) {
                int waiting_echo = 0, waiting_eof = 0;
                for (int i = 0; i < opt_conns; i++) {
                    if (conns[i].state == C_OPEN) waiting_echo++;
                    if (conns[i].state == C_SHUTDOWN) waiting_eof++;
                }
                die("drain: after %.1f s, %d connections still wait for echoes and %d for the "
                    "server's EOF after our half-close",
                    opt_drain_timeout, waiting_echo, waiting_eof);
            }
            break;
        }
        if ((phase == P_WARMUP || phase == P_MEASURE) &&
            t - last_progress > (uint64_t)(opt_stall_timeout * 1e9))
            die("no echo completed for %.1f s (server stalled?)", opt_stall_timeout);

        int n = epoll_wait(epfd, events, MAX_EVENTS, opt_busy_poll && phase != P_CONNECT ? 0 : 50);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            uint32_t ev = events[i].events;
            if (c->state == C_CONNECTING) {
                on_connected(c);
                continue;
            }
            if (c->state == C_DONE) continue;
            if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
            if (c->state == C_OPEN && (ev & EPOLLOUT)) flush(c);
        }
    }

finished:;
    double seconds = opt_duration;
    uint64_t min_conn = UINT64_MAX;
    for (int i = 0; i < opt_conns; i++)
        if (conns[i].window_msgs < min_conn) min_conn = conns[i].window_msgs;
    if (window_msgs == 0) die("no message completed in the measured window");
    printf("msgs_per_s=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f mean_us=%.1f "
           "msgs=%llu bytes=%llu conns=%d size=%zu inflight=%d min_conn_msgs=%llu seconds=%.3f "
           "cpu_s=%.3f errors=0\n",
           window_msgs / seconds, hist_quantile_us(0.50), hist_quantile_us(0.99),
           hist_quantile_us(0.999), hist_max_ns / 1000.0,
           hist_sum_ns / (double)hist_count / 1000.0, (unsigned long long)window_msgs,
           (unsigned long long)window_bytes, opt_conns, opt_size, opt_inflight,
           (unsigned long long)min_conn, seconds, cpu_seconds());
    fflush(stdout);
    return 0;
}
