/*
 * The relay: a client's Kafka connection to the dev broker, passed through to the mock broker
 * over a connection of its own, so that a Fetch long-polls like a real broker's.
 *
 * librdkafka 2.0.2's mock holds a Fetch with nothing to return for its whole MaxWait and does
 * not answer early when records are appended, so consumers had to poll with a tiny MaxWait.
 * Here a Fetch goes to the mock with MaxWait 0 (it answers at once). A response with records
 * goes back to the client; an empty one is held, and the very same request is sent again as
 * soon as a Produce response for one of its topic partitions passes through the relay (records
 * were appended), or answered with the held empty response once the client's MaxWait is over. kafkajs matches responses
 * by correlation id, so other responses overtake a held fetch.
 *
 * A Fetch the relay can answer from its own copy of the logs (relay-log.c) skips the mock.
 *
 * Only whole frames (int32 size, then the message) cross; a frame larger than MAX_FRAME or a
 * broken header closes that connection. A side whose outbound bytes pile up beyond
 * OUT_HIGH is not read from until they drain.
 */
#define _GNU_SOURCE /* accept4 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "relay.h"

#define MAX_FRAME (64 * 1024 * 1024)
#define OUT_HIGH (8 * 1024 * 1024)
#define MAX_CONNS 512
#define MAX_PRODUCES 256
#define MAX_FETCHES 64 /* held or in flight per connection; more pass through as they are */

/* The topic partitions a request names (see kafka_request_t). */
typedef struct {
        uint64_t *keys;
        int nkeys, all_keys;
} tps_t;

/* A Fetch the relay answers for the mock: in flight upstream, or held (parked). */
typedef struct fetch {
        struct fetch *next;
        int32_t corr;
        int16_t version;
        int parked;
        int appended;     /* records came for it while it was in flight */
        int64_t deadline; /* ms, monotonic */
        tps_t tps;
        buf_t req;  /* the whole frame, MaxWait 0 */
        buf_t resp; /* the last empty response, while parked */
} fetch_t;

/* A Produce awaiting its response. */
typedef struct produce {
        struct produce *next;
        int32_t corr;
        tps_t tps;
        relay_append_t *app; /* its records, for the relay's logs (relay-log.c) */
} produce_t;

typedef struct conn {
        struct conn *next;
        int broker, cfd, ufd, connecting, dead;
        int pi; /* index of its client pollfd this round, -1 if none */
        buf_t cin, uout, uin, cout;
        fetch_t *fetches;
        produce_t *produces;
        int nfetches, nproduces;
} conn_t;

static conn_t *conns;
static int nconns;
/* Topic partitions appended to since the held fetches were last woken. */
static uint64_t appended[256];
static int nappended, appended_all;

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int tps_copy(tps_t *t, const kafka_request_t *r) {
        t->nkeys    = r->nkeys;
        t->all_keys = r->all_keys;
        if (!r->nkeys)
                return 0;
        if (!(t->keys = malloc(sizeof(uint64_t) * (size_t)r->nkeys)))
                return -1;
        memcpy(t->keys, r->keys, sizeof(uint64_t) * (size_t)r->nkeys);
        return 0;
}

/* Whether a fetch reads any topic partition appended to (keys, or all). */
static int tps_meet(const tps_t *f, const uint64_t *keys, int nkeys, int all) {
        int i, j;
        if (all || f->all_keys)
                return 1;
        for (i = 0; i < f->nkeys; i++)
                for (j = 0; j < nkeys; j++)
                        if (f->keys[i] == keys[j])
                                return 1;
        return 0;
}

static void fetch_free(fetch_t *f) {
        free(f->tps.keys);
        buf_free(&f->req);
        buf_free(&f->resp);
        free(f);
}

static void answer_fetch(conn_t *c, fetch_t *f, const char *frame, size_t n);

/* Answers a fetch from the relay's own logs when it can: 1 answered (f is freed), 0 held
 * (nothing to return yet), -1 the mock is to answer it. */
static int fetch_local(conn_t *c, fetch_t *f) {
        buf_t out = {0};
        int rc    = relay_log_fetch(c->broker, f->req.d + 4, f->req.len - 4, &out);
        if (rc > 0 || (rc == 0 && now_ms() >= f->deadline)) {
                answer_fetch(c, f, out.d, out.len);
                buf_free(&out);
                return 1;
        }
        if (rc == 0) {
                f->parked = 1;
                buf_free(&f->resp);
                f->resp = out;
                return 0;
        }
        buf_free(&out);
        return -1;
}

/* A request frame from the client. */
static int on_request(conn_t *c, char *frame, size_t n) {
        kafka_request_t req;
        if (kafka_parse_request(frame + 4, n - 4, &req))
                return -1;
        if (req.max_wait_at && c->nfetches < MAX_FETCHES) {
                fetch_t *f    = calloc(1, sizeof(*f));
                uint32_t zero = 0;
                if (!f)
                        return -1;
                f->corr     = req.corr;
                f->version  = req.api_version;
                f->deadline = now_ms() + (req.max_wait > 0 ? req.max_wait : 0);
                memcpy(frame + 4 + req.max_wait_at, &zero, 4);
                if (tps_copy(&f->tps, &req) || buf_put(&f->req, frame, n)) {
                        fetch_free(f);
                        return -1;
                }
                f->next    = c->fetches;
                c->fetches = f;
                c->nfetches++;
                if (fetch_local(c, f) >= 0)
                        return c->dead ? -1 : 0;
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

static void send_fetch(conn_t *c, fetch_t *f) {
        if (fetch_local(c, f) >= 0)
                return;
        f->parked   = 0;
        f->appended = 0;
        buf_free(&f->resp);
        if (buf_put(&c->uout, f->req.d, f->req.len))
                c->dead = 1;
}

/* Answers the client with a fetch's response and forgets the fetch. */
static void answer_fetch(conn_t *c, fetch_t *f, const char *frame, size_t n) {
        fetch_t **pp;
        if (buf_put(&c->cout, frame, n))
                c->dead = 1;
        for (pp = &c->fetches; *pp; pp = &(*pp)->next)
                if (*pp == f) {
                        *pp = f->next;
                        c->nfetches--;
                        break;
                }
        fetch_free(f);
}

/* Records were appended to these topic partitions: fetches in flight for them are sent again
 * should they come back empty, held ones are woken at the end of this round. */
static void on_appended(const tps_t *t) {
        conn_t *c;
        fetch_t *f;
        int i;
        for (c = conns; c; c = c->next)
                for (f = c->fetches; f; f = f->next)
                        if (!f->parked &&
                            tps_meet(&f->tps, t->keys, t->nkeys, t->all_keys))
                                f->appended = 1;
        if (t->all_keys || nappended + t->nkeys > 256)
                appended_all = 1;
        for (i = 0; i < t->nkeys && !appended_all; i++)
                appended[nappended++] = t->keys[i];
}

/* A response frame from the mock. */
static int on_response(conn_t *c, char *frame, size_t n) {
        int32_t corr;
        fetch_t *f;
        produce_t **pp;
        if (n < 8)
                return -1;
        corr = kafka_rd32(frame + 4);
        for (f = c->fetches; f; f = f->next)
                if (f->corr == corr && !f->parked)
                        break;
        if (f) {
                int has = kafka_fetch_has_records(frame + 4, n - 4, f->version);
                if (has != 0 || now_ms() >= f->deadline) {
                        answer_fetch(c, f, frame, n);
                } else if (f->appended) {
                        send_fetch(c, f); /* records came while it was in flight */
                } else {
                        f->parked = 1;
                        if (buf_put(&f->resp, frame, n))
                                return -1;
                }
                return 0;
        }
        for (pp = &c->produces; *pp; pp = &(*pp)->next)
                if ((*pp)->corr == corr) {
                        produce_t *pr = *pp;
                        *pp           = pr->next;
                        c->nproduces--;
                        relay_append_done(pr->app, frame + 4, n - 4);
                        on_appended(&pr->tps);
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
        fetch_t *f, *nf;
        if (c->cfd >= 0) {
                flush_out(c->cfd, &c->cout); /* what the mock said before closing */
                close(c->cfd);
        }
        if (c->ufd >= 0)
                close(c->ufd);
        for (f = c->fetches; f; f = nf) {
                nf = f->next;
                fetch_free(f);
        }
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
        c->broker     = id;
        c->cfd        = cfd;
        c->ufd        = ufd;
        c->connecting = 1;
        c->pi         = -1;
        c->next       = conns;
        conns         = c;
        nconns++;
}

/* Sends again every held fetch of a topic partition appended to. */
static void wake_parked(void) {
        conn_t *c;
        fetch_t *f, *nf;
        if (!nappended && !appended_all)
                return;
        for (c = conns; c; c = c->next)
                for (f = c->fetches; f; f = nf) {
                        nf = f->next; /* send_fetch may answer and free f */
                        if (f->parked && tps_meet(&f->tps, appended, nappended,
                                                  appended_all))
                                send_fetch(c, f);
                }
        nappended    = 0;
        appended_all = 0;
}

/* Answers held fetches whose MaxWait is over; returns ms until the next is due, or -1. */
static int expire_parked(void) {
        int64_t now = now_ms(), next = -1;
        conn_t *c;
        fetch_t *f, *nf;
        for (c = conns; c; c = c->next)
                for (f = c->fetches; f; f = nf) {
                        nf = f->next;
                        if (!f->parked)
                                continue;
                        if (f->deadline <= now)
                                answer_fetch(c, f, f->resp.d, f->resp.len);
                        else if (next < 0 || f->deadline - now < next)
                                next = f->deadline - now;
                }
        return (int)next;
}

void relay_close_broker(int id) {
        conn_t **pp = &conns;
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
static int serve(conn_t *c, short crev, short urev) {
        if (c->connecting && (urev & (POLLOUT | POLLERR | POLLHUP))) {
                int err = 0;
                socklen_t l = sizeof(err);
                getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &l);
                if (err)
                        return -1; /* the mock went down meanwhile */
                c->connecting = 0;
        }
        if ((crev & (POLLIN | POLLHUP | POLLERR)) &&
            pump_in(c, c->cfd, &c->cin, on_request))
                return -1;
        if (!c->connecting && (urev & (POLLIN | POLLHUP | POLLERR)) &&
            pump_in(c, c->ufd, &c->uin, on_response))
                return -1;
        return c->dead ? -1 : 0;
}

int relay_poll(int extra_fd, int timeout_ms) {
        struct pollfd pfd[1 + RELAY_MAX_BROKERS + 2 * MAX_CONNS];
        int lis[RELAY_MAX_BROKERS];
        conn_t *c, **pp;
        int n = 0, nl = 0, id, i, due, rc, extra = 0;

        wake_parked();
        due = expire_parked();
        if (due >= 0 && (timeout_ms < 0 || due < timeout_ms))
                timeout_ms = due;
        pfd[n].fd     = extra_fd;
        pfd[n++].events = POLLIN;
        for (id = 1; id <= relay_broker_cnt(); id++)
                if (relay_listen_fd(id) >= 0) {
                        lis[nl++]       = id;
                        pfd[n].fd       = relay_listen_fd(id);
                        pfd[n++].events = POLLIN;
                }
        for (c = conns; c; c = c->next) {
                if (!c->connecting)
                        flush_out(c->ufd, &c->uout);
                flush_out(c->cfd, &c->cout);
                c->pi         = n;
                pfd[n].fd     = c->cfd;
                pfd[n].events = (c->uout.len < OUT_HIGH ? POLLIN : 0) |
                                (c->cout.len ? POLLOUT : 0);
                n++;
                pfd[n].fd     = c->ufd;
                pfd[n].events = c->connecting
                                    ? POLLOUT
                                    : (c->cout.len < OUT_HIGH ? POLLIN : 0) |
                                          (c->uout.len ? POLLOUT : 0);
                n++;
        }
        rc = poll(pfd, (nfds_t)n, timeout_ms);
        if (rc < 0)
                return errno == EINTR ? -1 : 0;
        if (pfd[0].revents)
                extra = 1;
        for (i = 0; i < nl; i++)
                if (pfd[1 + i].revents & POLLIN)
                        accept_one(lis[i]);
        for (pp = &conns; *pp;) {
                c = *pp;
                if (c->pi < 0) {
                        pp = &c->next; /* accepted during this round: next time */
                        continue;
                }
                if (serve(c, pfd[c->pi].revents, pfd[c->pi + 1].revents)) {
                        *pp = c->next;
                        conn_free(c);
                } else {
                        pp = &c->next;
                }
        }
        wake_parked();
        return extra;
}
