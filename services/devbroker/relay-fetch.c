/*
 * The fetches the relay holds (see relay.c): a Fetch goes to the mock with MaxWait 0 or is
 * answered from the relay's own logs (relay-log.c); an empty answer is held until records
 * are appended to one of its topic partitions (then the request is served again) or until
 * the client's MaxWait is over (then the held empty response is the answer).
 */
#include <stdlib.h>
#include <string.h>

#include "relay-conn.h"

#define MAX_FETCHES 64 /* held or in flight per connection; more pass through as they are */
#define MAX_APPENDED 256

/* Topic partitions appended to since the held fetches were last woken. */
static uint64_t appended[MAX_APPENDED];
static int nappended, appended_all;

int tps_copy(tps_t *t, const kafka_request_t *r) {
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

void fetch_free_all(conn_t *c) {
        fetch_t *f, *nf;
        for (f = c->fetches; f; f = nf) {
                nf = f->next;
                fetch_free(f);
        }
        c->fetches  = NULL;
        c->nfetches = 0;
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

/* Answers a fetch from the relay's own logs when it can: 1 answered (f is freed), 0 held
 * (nothing to return yet), -1 the mock is to answer it. */
static int fetch_local(conn_t *c, fetch_t *f) {
        buf_t out = {0};
        int rc    = relay_log_fetch(c->broker, f->req.d + 4, f->req.len - 4, &out);
        if (rc > 0 || (rc == 0 && relay_now_ms() >= f->deadline)) {
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

/* Serves a fetch again: from the relay's logs, else by the mock. */
static void send_fetch(conn_t *c, fetch_t *f) {
        if (fetch_local(c, f) >= 0)
                return;
        f->parked   = 0;
        f->appended = 0;
        buf_free(&f->resp);
        if (buf_put(&c->uout, f->req.d, f->req.len))
                c->dead = 1;
}

int fetch_request(conn_t *c, const kafka_request_t *req, char *frame, size_t n) {
        fetch_t *f;
        uint32_t zero = 0;
        if (c->nfetches >= MAX_FETCHES)
                return 0;
        if (!(f = calloc(1, sizeof(*f))))
                return -1;
        f->corr     = req->corr;
        f->version  = req->api_version;
        f->deadline = relay_now_ms() + (req->max_wait > 0 ? req->max_wait : 0);
        memcpy(frame + 4 + req->max_wait_at, &zero, 4);
        if (tps_copy(&f->tps, req) || buf_put(&f->req, frame, n)) {
                fetch_free(f);
                return -1;
        }
        f->next    = c->fetches;
        c->fetches = f;
        c->nfetches++;
        if (fetch_local(c, f) >= 0)
                return c->dead ? -1 : 1;
        /* The mock answers it: the rewritten frame goes upstream. */
        return buf_put(&c->uout, frame, n) ? -1 : 1;
}

int fetch_response(conn_t *c, int32_t corr, char *frame, size_t n) {
        fetch_t *f;
        int has;
        for (f = c->fetches; f; f = f->next)
                if (f->corr == corr && !f->parked)
                        break;
        if (!f)
                return 0;
        relay_log_learn(c->broker, frame + 4, n - 4, f->version);
        has = kafka_fetch_has_records(frame + 4, n - 4, f->version);
        if (has != 0 || relay_now_ms() >= f->deadline) {
                answer_fetch(c, f, frame, n);
        } else if (f->appended) {
                send_fetch(c, f); /* records came while it was in flight */
        } else {
                f->parked = 1;
                if (buf_put(&f->resp, frame, n))
                        return -1;
        }
        return 1;
}

/* Fetches in flight for these topic partitions are sent again should they come back empty;
 * held ones are woken at the end of this round. */
void fetch_appended(const tps_t *t) {
        conn_t *c;
        fetch_t *f;
        int i;
        for (c = relay_conns; c; c = c->next)
                for (f = c->fetches; f; f = f->next)
                        if (!f->parked &&
                            tps_meet(&f->tps, t->keys, t->nkeys, t->all_keys))
                                f->appended = 1;
        if (t->all_keys || nappended + t->nkeys > MAX_APPENDED)
                appended_all = 1;
        for (i = 0; i < t->nkeys && !appended_all; i++)
                appended[nappended++] = t->keys[i];
}

void fetch_wake_parked(void) {
        conn_t *c;
        fetch_t *f, *nf;
        if (!nappended && !appended_all)
                return;
        for (c = relay_conns; c; c = c->next)
                for (f = c->fetches; f; f = nf) {
                        nf = f->next; /* send_fetch may answer and free f */
                        if (f->parked && tps_meet(&f->tps, appended, nappended,
                                                  appended_all))
                                send_fetch(c, f);
                }
        nappended    = 0;
        appended_all = 0;
}

int fetch_expire_parked(void) {
        int64_t now = relay_now_ms(), next = -1;
        conn_t *c;
        fetch_t *f, *nf;
        for (c = relay_conns; c; c = c->next)
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
