/*
 * Which port is which: each mock broker listens on an internal loopback port that only the
 * relay connects to, and clients see the relay's (advertised) port everywhere, in the
 * bootstrap line and in every Metadata response.
 *
 * librdkafka 2.0.2 gives no API for either, so this file interposes two libc calls (the
 * executable's definitions win over libc's for calls made from librdkafka.so):
 * - bind(): the mock binds each new broker's listener to 127.0.0.1:0, in broker id order;
 *   that gives it an ephemeral internal port, noted for the broker. After "up", the mock
 *   binds again to the address it learned (the advertised port): it gets its internal port
 *   back (or a fresh one should that be taken).
 * - getsockname(): the mock learns its own address from its listener right after bind()
 *   (rd_kafka_mock_broker_new_listener) and advertises what it got; for a broker's listener
 *   fd this answers the advertised port instead of the internal one.
 */
#define _GNU_SOURCE /* RTLD_NEXT */

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"

typedef struct {
        int advertised;    /* the relay's port (host order) */
        int internal;      /* the mock's listener port, 0 until bound */
        int mock_fd;       /* the mock's listener fd, -1 until bound */
        int listen_fd;     /* the relay's listener, -1 while down */
        int reserve_fd;    /* holds the advertised port between start and "up" */
} port_map_t;

static port_map_t ports[RELAY_MAX_BROKERS];
static int listen_gen; /* changes whenever a relay listener opens or closes */
static int port_cnt   = 0;
static int mock_next  = 0;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int relay_real_bind(int fd, const struct sockaddr *addr, socklen_t len) {
        static int (*real_bind)(int, const struct sockaddr *, socklen_t);
        if (!real_bind)
                *(void **)(&real_bind) = dlsym(RTLD_NEXT, "bind");
        return real_bind(fd, addr, len);
}

static int real_getsockname(int fd, struct sockaddr *addr, socklen_t *len) {
        static int (*fn)(int, struct sockaddr *, socklen_t *);
        if (!fn)
                *(void **)(&fn) = dlsym(RTLD_NEXT, "getsockname");
        return fn(fd, addr, len);
}

static void loopback(struct sockaddr_in *sin, int port) {
        memset(sin, 0, sizeof(*sin));
        sin->sin_family      = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sin->sin_port        = htons((uint16_t)port);
}

static int local_port(int fd) {
        struct sockaddr_in sin;
        socklen_t len = sizeof(sin);
        if (real_getsockname(fd, (struct sockaddr *)&sin, &len))
                return -1;
        return ntohs(sin.sin_port);
}

/* A bound socket on the advertised port, SO_REUSEADDR so a restart is not blocked by
 * TIME_WAIT. Returns the fd or -1. */
static int bind_advertised(int port) {
        struct sockaddr_in sin;
        int one = 1;
        int fd  = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        loopback(&sin, port);
        if (relay_real_bind(fd, (struct sockaddr *)&sin, sizeof(sin))) {
                int e = errno;
                close(fd);
                errno = e;
                return -1;
        }
        return fd;
}

int relay_ports_init(int broker_cnt, const int *fixed_ports) {
        int i;
        for (i = 0; i < broker_cnt; i++) {
                int want = fixed_ports ? fixed_ports[i] : 0;
                int fd   = bind_advertised(want);
                if (fd < 0) {
                        fprintf(stderr,
                                "devbroker: cannot listen on 127.0.0.1:%d: %s\n",
                                want, strerror(errno));
                        return -1;
                }
                ports[i].reserve_fd = fd;
                ports[i].advertised = local_port(fd);
                ports[i].internal   = 0;
                ports[i].mock_fd    = -1;
                ports[i].listen_fd  = -1;
        }
        port_cnt = broker_cnt;
        return 0;
}

void relay_ports_reset(void) {
        pthread_mutex_lock(&lock);
        mock_next = 0;
        pthread_mutex_unlock(&lock);
}

int relay_broker_cnt(void) {
        return port_cnt;
}

int relay_listen(int id) {
        port_map_t *p = &ports[id - 1];
        int fd;
        if (p->listen_fd >= 0)
                return 0;
        if (p->reserve_fd >= 0) {
                fd            = p->reserve_fd;
                p->reserve_fd = -1;
        } else if ((fd = bind_advertised(p->advertised)) < 0) {
                return -1;
        }
        if (listen(fd, 128)) {
                close(fd);
                return -1;
        }
        p->listen_fd = fd;
        listen_gen++;
        return 0;
}

void relay_unlisten(int id) {
        port_map_t *p = &ports[id - 1];
        if (p->listen_fd >= 0)
                close(p->listen_fd);
        p->listen_fd = -1;
        listen_gen++;
}

int relay_listen_generation(void) {
        return listen_gen;
}

int relay_listen_fd(int id) {
        return ports[id - 1].listen_fd;
}

int relay_internal_port(int id) {
        int port;
        pthread_mutex_lock(&lock);
        port = ports[id - 1].internal;
        pthread_mutex_unlock(&lock);
        return port;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
        struct sockaddr_in sin;
        int i, k = -1, rc, port;
        if (!port_cnt || !addr || addr->sa_family != AF_INET ||
            len < (socklen_t)sizeof(sin))
                return relay_real_bind(fd, addr, len);
        memcpy(&sin, addr, sizeof(sin));
        if (sin.sin_addr.s_addr != htonl(INADDR_LOOPBACK))
                return relay_real_bind(fd, addr, len);
        port = ntohs(sin.sin_port);

        pthread_mutex_lock(&lock);
        if (port == 0 && mock_next < port_cnt) {
                k = mock_next++; /* a new broker's listener */
        } else {
                for (i = 0; i < port_cnt; i++)
                        if (port && ports[i].advertised == port)
                                k = i; /* re-listen after "up" */
        }
        if (k < 0) {
                pthread_mutex_unlock(&lock);
                return relay_real_bind(fd, addr, len);
        }
        rc = -1;
        if (ports[k].internal) {
                int one = 1;
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                loopback(&sin, ports[k].internal);
                rc = relay_real_bind(fd, (struct sockaddr *)&sin, sizeof(sin));
        }
        if (rc) {
                loopback(&sin, 0);
                rc = relay_real_bind(fd, (struct sockaddr *)&sin, sizeof(sin));
        }
        if (!rc) {
                ports[k].internal = local_port(fd);
                ports[k].mock_fd  = fd;
        }
        pthread_mutex_unlock(&lock);
        return rc;
}

int getsockname(int fd, struct sockaddr *addr, socklen_t *len) {
        int i, rc = real_getsockname(fd, addr, len);
        struct sockaddr_in *sin = (struct sockaddr_in *)addr;
        if (rc || !port_cnt || addr->sa_family != AF_INET ||
            *len < (socklen_t)sizeof(*sin))
                return rc;
        pthread_mutex_lock(&lock);
        for (i = 0; i < port_cnt; i++)
                if (ports[i].mock_fd == fd &&
                    ntohs(sin->sin_port) == ports[i].internal)
                        sin->sin_port = htons((uint16_t)ports[i].advertised);
        pthread_mutex_unlock(&lock);
        return rc;
}
