/*
 * The relay: a client's Kafka connection to the dev broker, passed through to the mock broker
 * over a connection of its own, so that a Fetch long-polls like a real broker's.
 *
 * librdkafka 2.0.2's mock holds a Fetch with nothing to return for its whole MaxWait and does
 * not answer early when records are appended, so consumers had to poll with a tiny MaxWait.
 * Here a Fetch goes to the mock with MaxWait 0 (it answers at once). A response with records
 * goes back to the client; an empty one is held, and the very same request is sent again as
 * soon as a Produce response for one of its topic partitions passes through the relay (records
 * were appended), or answered with the held empty response once the client's MaxWait is over
 * (relay-fetch.c). kafkajs matches responses by correlation id, so other responses overtake a
 * held fetch.
 *
 * A Fetch the relay can answer from its own copy of the logs (relay-log.c) skips the mock.
 *
 * This file owns the connections: accepting, reading whole frames, tracking Produces until
 * their responses, writing, closing. Only whole frames (int32 size, then the message) cross;
 * a frame larger than MAX_FRAME or a broken header closes that connection. A side whose
 * outbound bytes pile up beyond OUT_HIGH is not read from until they drain. The loop waits in
 * epoll, so a wake-up costs the connections that have events, not all of them.
 */
#define _GNU_SOURCE /* accept4 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "relay-conn.h"

#define MAX_FRAME (64 * 1024 * 1024)
#define OUT_HIGH (8 * 1024 * 1024)
#define MAX_CONNS 512
#define MAX_PRODUCES 256

conn_t *relay_conns;
static int nconns;
/* Every fd the relay waits on, level-triggered. An event's data: 0 the extra fd (stdin),
 * 1..RELAY_MAX_BROKERS a listener, else a connection (conn_t *, low bit set: its mock side). */
static int epfd = -1;
static int lis_fd[RELAY_MAX_BROKERS + 1], lis_gen = -1;
static int extra_always; /* the extra fd is a regular file: always readable, as poll() says */

int64_t relay_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A request frame from the client. */
static int on_request(conn_t *c, char *frame, size_t n) {
        kafka_request_t req;
        if (kafka_parse_request(frame + 4, n - 4, &req))
                return -1;
        if (req.api_key == 0)
                relay_log_touch(&req); /* before the mock can append it */
        if (req.max_wait_at) {
                int rc = fetch_request(c, &req, frame, n);
                if (rc)
                        return rc < 0 ? -1 : 0;
        } else if (req.acked_produce && c->nproduces < MAX_PRODUCES) {
                produce_t *pr = calloc(1, sizeof(*pr));
                if (!pr || tps_copy(&pr->tps, &req)) {
                        free(pr);
                        return -1;
                }
                pr->corr    = req.corr;
                pr->app     = relay_append_parse(c->broker, frame + 4, n - 4);
                pr->next    = c->produces;
                c->produces = pr;
                c->nproduces++;
                if (!pr->app)
                        relay_log_drop(c->broker);
        } else if (req.api_key == 0) {
                /* A Produce whose appends the relay will not learn: its logs would
                 * end before the mock's. */
                relay_log_drop(c->broker);
        }
        return buf_put(&c->uout, frame, n);
}

/* A response frame from the mock. */
static int on_response(conn_t *c, char *frame, size_t n) {
        int32_t corr;
        produce_t **pp;
        int rc;
        if (n < 8)
                return -1;
        corr = kafka_rd32(frame + 4);
        if ((rc = fetch_response(c, corr, frame, n)))
                return rc < 0 ? -1 : 0;
        for (pp = &c->produces; *pp; pp = &(*pp)->next)
                if ((*pp)->corr == corr) {
                        produce_t *pr = *pp;
                        *pp           = pr->next;
                        c->nproduces--;
                        relay_append_done(pr->app, frame + 4, n - 4);
                        fetch_appended(&pr->tps);
                        free(pr->tps.keys);
                        free(pr);
                        break;
                }
        return buf_put(&c->cout, frame, n);
}
/* Reads what fd has into in, then hands every whole frame to fn. -1: close the connection. */
static int pump_in(conn_t *c, int fd, buf_t *in, int (*fn)(conn_t *, char *, size_t)) {
        char chunk[65536];
        size_t off = 0;
        ssize_t r  = read(fd, chunk, sizeof(chunk));
        if (r == 0)
                return -1;
        if (r < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -1;
        if (buf_put(in, chunk, (size_t)r))
                return -1;
        while (in->len - off >= 4) {
                int32_t size = kafka_rd32(in->d + off);
                if (size < 0 || size > MAX_FRAME)
                        return -1;
                if (in->len - off < (size_t)size + 4)
                        break;
                if (fn(c, in->d + off, (size_t)size + 4))
                        return -1;
                off += (size_t)size + 4;
        }
        if (off)
                buf_drop(in, off);
        return 0;
}

static int flush_out(int fd, buf_t *out) {
        while (out->len) {
                ssize_t w = write(fd, out->d, out->len);
                if (w < 0)
                        return errno == EAGAIN || errno == EINTR ? 0 : -1;
                buf_drop(out, (size_t)w);
        }
        return 0;
}

static void conn_free(conn_t *c) {
        if (c->cfd >= 0) {
                flush_out(c->cfd, &c->cout); /* what the mock said before closing */
                close(c->cfd);
        }
        if (c->ufd >= 0)
                close(c->ufd);
        fetch_free_all(c);
        while (c->produces) {
                produce_t *pr = c->produces;
                c->produces   = pr->next;
                relay_append_forget(pr->app); /* the mock may have appended it */
                free(pr->tps.keys);
                free(pr);
        }
        buf_free(&c->cin);
        buf_free(&c->uout);
        buf_free(&c->uin);
        buf_free(&c->cout);
        free(c);
        nconns--;
}

/* Registers fd for want (have: what it is registered for, EPOLL_NONE if not at all). */
#define EPOLL_NONE 0xffffffffu
static void watch(int fd, uint32_t want, uint32_t *have, uint64_t data) {
        struct epoll_event ev;
        if (want == *have)
                return;
        memset(&ev, 0, sizeof(ev));
        ev.events   = want;
        ev.data.u64 = data;
        if (!epoll_ctl(epfd, *have == EPOLL_NONE ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev))
                *have = want;
}

static void accept_one(int id) {
        struct sockaddr_in sin;
        int one = 1, cfd, ufd;
        conn_t *c;
        cfd = accept4(relay_listen_fd(id), NULL, NULL,
                      SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
                return;
        if (nconns >= MAX_CONNS || !relay_internal_port(id)) {
                close(cfd);
                return;
        }
        ufd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        memset(&sin, 0, sizeof(sin));
        sin.sin_family      = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sin.sin_port        = htons((uint16_t)relay_internal_port(id));
        if (ufd < 0 || (connect(ufd, (struct sockaddr *)&sin, sizeof(sin)) &&
                        errno != EINPROGRESS) ||
            !(c = calloc(1, sizeof(*c)))) {
                /* The mock is not listening (down): refuse, as it would. */
                if (ufd >= 0)
                        close(ufd);
                close(cfd);
                return;
        }
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->cmask      = EPOLL_NONE;
        c->umask      = EPOLL_NONE;
        c->broker     = id;
        c->cfd        = cfd;
        c->ufd        = ufd;
        c->connecting = 1;
        c->next       = relay_conns;
        relay_conns   = c;
        nconns++;
        watch(cfd, EPOLLIN, &c->cmask, (uint64_t)(uintptr_t)c);
        watch(ufd, EPOLLOUT, &c->umask, (uint64_t)(uintptr_t)c | 1);
}

void relay_close_broker(int id) {
        conn_t **pp = &relay_conns;
        relay_log_drop(id); /* the mock keeps the records; it serves them again */
        while (*pp) {
                conn_t *c = *pp;
                if (c->broker == id) {
                        *pp = c->next;
                        conn_free(c);
                } else {
                        pp = &c->next;
                }
        }
}

void relay_shutdown(void) {
        int id;
        for (id = 1; id <= relay_broker_cnt(); id++) {
                relay_close_broker(id);
                relay_unlisten(id);
        }
}

/* One connection's events; returns -1 when it is to be closed. */
static int serve(conn_t *c, uint32_t crev, uint32_t urev) {
        if (c->connecting && (urev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                int err = 0;
                socklen_t l = sizeof(err);
                getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &l);
                if (err)
                        return -1; /* the mock went down meanwhile */
                c->connecting = 0;
        }
        if ((crev & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
            pump_in(c, c->cfd, &c->cin, on_request))
                return -1;
        if (!c->connecting && (urev & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
            pump_in(c, c->ufd, &c->uin, on_response))
                return -1;
        return c->dead ? -1 : 0;
}

/* The listeners again after one opened or closed: a closed fd left the set by itself. */
static void watch_listeners(void) {
        struct epoll_event ev;
        int id;
        if (lis_gen == relay_listen_generation())
                return;
        lis_gen = relay_listen_generation();
        for (id = 1; id <= relay_broker_cnt(); id++) {
                if (lis_fd[id] >= 0)
                        epoll_ctl(epfd, EPOLL_CTL_DEL, lis_fd[id], NULL);
                lis_fd[id] = relay_listen_fd(id);
                memset(&ev, 0, sizeof(ev));
                ev.events   = EPOLLIN;
                ev.data.u64 = (uint64_t)id;
                if (lis_fd[id] >= 0 && epoll_ctl(epfd, EPOLL_CTL_ADD, lis_fd[id], &ev))
                        lis_fd[id] = -1;
        }
}

static int epoll_start(int extra_fd) {
        struct epoll_event ev;
        int id;
        if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
                return -1;
        for (id = 0; id <= RELAY_MAX_BROKERS; id++)
                lis_fd[id] = -1;
        memset(&ev, 0, sizeof(ev));
        ev.events   = EPOLLIN;
        ev.data.u64 = 0;
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, extra_fd, &ev))
                extra_always = errno == EPERM;
        return 0;
}

int relay_poll(int extra_fd, int timeout_ms) {
        struct epoll_event ev[64];
        conn_t *c, **pp, *ready = NULL, **ready_end = &ready;
        int i, due, rc, extra;

        if (epfd < 0 && epoll_start(extra_fd))
                return 0;
        extra = extra_always;
        if (extra)
                timeout_ms = 0;
        fetch_wake_parked();
        due = fetch_expire_parked();
        if (due >= 0 && (timeout_ms < 0 || due < timeout_ms))
                timeout_ms = due;
        watch_listeners();
        for (c = relay_conns; c; c = c->next) {
                uint64_t data = (uint64_t)(uintptr_t)c;
                if (!c->connecting)
                        flush_out(c->ufd, &c->uout);
                flush_out(c->cfd, &c->cout);
                watch(c->cfd, (c->uout.len < OUT_HIGH ? EPOLLIN : 0) | (c->cout.len ? EPOLLOUT : 0),
                      &c->cmask, data);
                watch(c->ufd,
                      c->connecting ? EPOLLOUT
                                    : (c->cout.len < OUT_HIGH ? EPOLLIN : 0) |
                                          (c->uout.len ? EPOLLOUT : 0),
                      &c->umask, data | 1);
        }
        rc = epoll_wait(epfd, ev, 64, timeout_ms);
        if (rc < 0)
                return errno == EINTR ? -1 : 0;
        /* Events first, then each connection served once: serving may close it. */
        for (i = 0; i < rc; i++) {
                uint64_t data = ev[i].data.u64;
                if (data == 0) {
                        extra = 1;
                } else if (data <= RELAY_MAX_BROKERS) {
                        if (ev[i].events & EPOLLIN)
                                accept_one((int)data);
                } else {
                        c = (conn_t *)(uintptr_t)(data & ~(uint64_t)1);
                        if (!c->crev && !c->urev) {
                                /* in the order epoll gave: two connections' Produce
                                 * responses for one partition, most often as appended */
                                c->rnext   = NULL;
                                *ready_end = c;
                                ready_end  = &c->rnext;
                        }
                        if (data & 1)
                                c->urev |= ev[i].events;
                        else
                                c->crev |= ev[i].events;
                }
        }
        for (c = ready; c; c = c->rnext) {
                if (serve(c, c->crev, c->urev))
                        c->dead = 1;
                c->crev = c->urev = 0;
        }
        for (pp = &relay_conns; *pp;) {
                c = *pp;
                if (c->dead) {
                        *pp = c->next;
                        conn_free(c);
                } else {
                        pp = &c->next;
                }
        }
        fetch_wake_parked();
        return extra;
}
