/*
 * LD_PRELOAD shim: sets TCP_NODELAY on every socket returned by accept()/accept4().
 *
 * Neither bivio nor bivio-mock-upstream sets TCP_NODELAY on the connections they accept (axum 0.8's
 * `axum::serve` leaves Nagle's algorithm on). A streamed answer is written frame by frame, so a frame
 * written while the previous one is still unacknowledged waits for the peer's delayed ACK: ~40 ms on
 * Linux. bench/gateway.sh preloads this into the mock by default (so the baseline is not the mock's
 * artifact) and into bivio with BIVIO_NODELAY=1 (to preview the fix). See docs/benchmarks.md.
 *
 * Build: cc -O2 -shared -fPIC -o nodelay_shim.so nodelay_shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void set_nodelay(int fd) {
    if (fd >= 0) {
        int one = 1;
        /* Fails harmlessly (ENOTSUP/EOPNOTSUPP) on non-TCP sockets, e.g. Unix sockets. */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    static int (*real)(int, struct sockaddr *, socklen_t *, int);
    if (!real) real = (int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(RTLD_NEXT, "accept4");
    int conn = real(fd, addr, len, flags);
    set_nodelay(conn);
    return conn;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len) {
    static int (*real)(int, struct sockaddr *, socklen_t *);
    if (!real) real = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept");
    int conn = real(fd, addr, len);
    set_nodelay(conn);
    return conn;
}
