/*
 * epoll_echo: a minimal raw-epoll C echo server, an optional row of the echo
 * benchmark (bench/echo/run --servers libuv,epoll,...).
 *
 * Not a peer but a yardstick: about the least work a one-thread echo server
 * can do per message on Linux (one read, one write, a share of one
 * epoll_wait; no epoll_ctl unless a write is partial). Its row shows how much
 * of the table's ceiling is the kernel and the load generator rather than the
 * server: when uv_echo is close to it, a server cannot beat libuv by much on
 * this machine, whatever it does.
 *
 * One static 64 KiB read buffer. A connection whose write is partial keeps
 * the rest in its own buffer, stops reading (EPOLLOUT instead of EPOLLIN)
 * until it is flushed: backpressure, bounded memory. TCP_NODELAY is on, as in
 * every server of the benchmark. Errors and EOF close the connection.
 *
 * Build: gcc -O2 -o epoll_echo epoll_echo.c        Usage: epoll_echo PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536

struct conn {
    int fd;
    char *pending;   /* bytes read but not yet written (after a partial write) */
    size_t len, off;
};

static int epfd;
static char buf[BUF_SIZE];

static void close_conn(struct conn *c) {
    close(c->fd);  /* also removes it from the epoll set */
    free(c->pending);
    free(c);
}

static void set_events(struct conn *c, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) close_conn(c);
}

/* Write pending bytes; 1 when all are out, 0 when the socket is full, -1 on error. */
static int flush_pending(struct conn *c) {
    while (c->off < c->len) {
        ssize_t n = write(c->fd, c->pending + c->off, c->len - c->off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN ? 0 : -1;
        }
        c->off += (size_t)n;
    }
    c->len = c->off = 0;
    return 1;
}

static void on_readable(struct conn *c) {
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) { close_conn(c); return; }
    if (n < 0) return;
    ssize_t w = write(c->fd, buf, (size_t)n);
    if (w == n) return;
    if (w < 0) {
        if (errno != EAGAIN && errno != EINTR) { close_conn(c); return; }
        w = 0;
    }
    /* partial: keep the rest, stop reading until it is written */
    if (!c->pending && !(c->pending = malloc(BUF_SIZE))) { close_conn(c); return; }
    memcpy(c->pending, buf + w, (size_t)(n - w));
    c->len = (size_t)(n - w);
    c->off = 0;
    set_events(c, EPOLLOUT);
}

static void on_writable(struct conn *c) {
    int r = flush_pending(c);
    if (r < 0) close_conn(c);
    else if (r > 0) set_events(c, EPOLLIN);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: epoll_echo PORT\n"); return 2; }
    int port = atoi(argv[1]);
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 1024) != 0) {
        fprintf(stderr, "epoll_echo: %s in listen on 127.0.0.1:%d\n", strerror(errno), port);
        return 1;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
    fprintf(stderr, "epoll_echo: listening on 127.0.0.1:%d\n", port);

    static struct epoll_event events[1024];
    for (;;) {
        int n = epoll_wait(epfd, events, 1024, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "epoll_echo: epoll_wait: %s\n", strerror(errno));
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (c == NULL) {  /* the listener */
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *nc = calloc(1, sizeof *nc);
                    if (!nc) { close(fd); continue; }
                    nc->fd = fd;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
                    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) close_conn(nc);
                }
                if (errno != EAGAIN && errno != EINTR)
                    fprintf(stderr, "epoll_echo: accept: %s\n", strerror(errno));
                continue;
            }
            if (events[i].events & EPOLLOUT) on_writable(c);
            else if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
        }
    }
}
