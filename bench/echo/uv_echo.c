/*
 * uv_echo: the raw libuv C echo server, the benchmark's reference row.
 *
 * The textbook libuv echo (the libuv book's "uvtee"/echo-server shape), kept
 * deliberately plain so that "ratio to libuv C" means "against what libuv
 * gives you with no cleverness": one loop, uv_read_start with an alloc
 * callback that mallocs the suggested size (64 KiB), a uv_write of exactly the
 * bytes just read, and the buffer freed in the write callback. No write
 * coalescing, no buffer pool, no uv_try_write. Errors and EOF close the
 * connection (uv_close cancels writes still queued; the load generator only
 * half-closes once every echo is back, so none are lost in the benchmark).
 *
 * One line is not textbook: mallopt(M_TRIM_THRESHOLD). Without it glibc gives
 * the heap top back to the kernel after most frees of a 64 KiB read buffer
 * (a brk every ~3 messages) and the next malloc faults a fresh page in (~1
 * minor fault per message): measured here, that cost the server a quarter of
 * its throughput in scenario (a), a libc artifact rather than libuv's cost,
 * and a reference that slow would flatter every other row.
 *
 * TCP_NODELAY is on for accepted connections, as in every server of the
 * benchmark, so that no server is measured against Nagle's algorithm.
 *
 * Build: gcc -O2 -o uv_echo uv_echo.c -luv        Usage: uv_echo PORT
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define BACKLOG 1024

typedef struct {
    uv_write_t req;
    uv_buf_t buf;
} write_req_t;

static uv_loop_t *loop;

static void on_close(uv_handle_t *handle) { free(handle); }

static void alloc_buffer(uv_handle_t *handle, size_t suggested_size, uv_buf_t *buf) {
    (void)handle;
    buf->base = malloc(suggested_size);
    buf->len = buf->base ? suggested_size : 0;  /* len 0 makes libuv report UV_ENOBUFS */
}

static void on_write(uv_write_t *req, int status) {
    write_req_t *wr = (write_req_t *)req;
    if (status < 0 && status != UV_ECANCELED) {
        if (!uv_is_closing((uv_handle_t *)req->handle))
            uv_close((uv_handle_t *)req->handle, on_close);
    }
    free(wr->buf.base);
    free(wr);
}

static void on_read(uv_stream_t *client, ssize_t nread, const uv_buf_t *buf) {
    if (nread > 0) {
        write_req_t *wr = malloc(sizeof *wr);
        if (!wr) {
            fprintf(stderr, "uv_echo: out of memory\n");
            free(buf->base);
            uv_close((uv_handle_t *)client, on_close);
            return;
        }
        wr->buf = uv_buf_init(buf->base, (unsigned int)nread);
        int r = uv_write(&wr->req, client, &wr->buf, 1, on_write);
        if (r < 0) {
            free(wr->buf.base);
            free(wr);
            if (!uv_is_closing((uv_handle_t *)client)) uv_close((uv_handle_t *)client, on_close);
        }
        return;
    }
    if (nread < 0) {
        if (nread != UV_EOF && nread != UV_ECONNRESET)
            fprintf(stderr, "uv_echo: read: %s\n", uv_err_name((int)nread));
        if (!uv_is_closing((uv_handle_t *)client)) uv_close((uv_handle_t *)client, on_close);
    }
    free(buf->base);  /* nread == 0 is EAGAIN: nothing to echo */
}

static void on_connection(uv_stream_t *server, int status) {
    if (status < 0) {
        fprintf(stderr, "uv_echo: accept: %s\n", uv_err_name(status));
        return;
    }
    uv_tcp_t *client = malloc(sizeof *client);
    if (!client) {
        fprintf(stderr, "uv_echo: out of memory\n");
        return;
    }
    uv_tcp_init(loop, client);
    if (uv_accept(server, (uv_stream_t *)client) == 0) {
        uv_tcp_nodelay(client, 1);
        uv_read_start((uv_stream_t *)client, alloc_buffer, on_read);
    } else {
        uv_close((uv_handle_t *)client, on_close);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: uv_echo PORT\n");
        return 2;
    }
    int port = atoi(argv[1]);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);  /* see the header: keep freed buffers in the heap */
    loop = uv_default_loop();

    uv_tcp_t server;
    uv_tcp_init(loop, &server);
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    int r = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    if (r == 0) r = uv_listen((uv_stream_t *)&server, BACKLOG, on_connection);
    if (r != 0) {
        fprintf(stderr, "uv_echo: %s in listen on 127.0.0.1:%d\n", uv_err_name(r), port);
        return 1;
    }
    fprintf(stderr, "uv_echo: libuv %s, listening on 127.0.0.1:%d\n", uv_version_string(), port);
    return uv_run(loop, UV_RUN_DEFAULT);
}
