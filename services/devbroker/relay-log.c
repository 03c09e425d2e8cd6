/*
 * The relay's own copy of each partition's log, indexed by offset, so that it answers
 * Fetches itself.
 *
 * librdkafka 2.0.2's mock finds the message set of a fetch offset by a linear scan of the
 * partition's whole log (up to 100,000 sets), and returns at most one set per partition per
 * Fetch; with the platform's small sets the broker's CPU grew with every run. The relay
 * sees every Produce and its response: the record batches of each partition that the mock
 * accepted are appended here at the base offset the mock gave them. A Fetch (v4-v11) whose
 * partitions are all known here, at an offset within [start, end], is answered from here
 * (binary search, as many whole batches as the max bytes allow); any other goes to the mock.
 *
 * A log must hold exactly what the mock holds from its start to its end, or a consumer
 * would wait at an end the mock has passed. So: an append that does not start at the end
 * starts the log again there (a gap), or is ignored when it lies wholly before the start (a
 * response overtaken by a later one); an append the relay cannot index (not one plain v2
 * batch: transactional, control, several batches) or a produce whose response was never
 * seen drops the partition's log, and its fetches go to the mock again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

#define MAX_LOGS 256
#define LOG_MAX_BATCHES 16384
#define LOG_MAX_BYTES (8 * 1024 * 1024)
#define BATCH_HEADER 61 /* a v2 record batch's header, up to and with recordCount */

typedef struct {
        int64_t base;
        int32_t count;
        uint32_t len;
        char *d;
} batch_t;

typedef struct {
        int broker;
        int32_t partition;
        int16_t tlen;
        char *topic;
        batch_t *b; /* a ring: n batches from head, cap slots */
        int cap, head, n;
        int64_t start, end;
        size_t bytes;
} plog_t;

/* The record bytes of one partition in a Produce; d NULL: not indexable. */
typedef struct pend {
        struct pend *next;
        int16_t tlen;
        int32_t partition;
        char *topic, *d;
        size_t len;
        int32_t count;
} pend_t;

struct relay_append {
        int broker;
        int16_t version;
        pend_t *parts;
};

static plog_t *logs[MAX_LOGS];
static int nlogs;

static int64_t rd64(const char *p) {
        return ((int64_t)kafka_rd32(p) << 32) | (uint32_t)kafka_rd32(p + 4);
}

static void wr32(char *p, int32_t v) {
        p[0] = (char)(v >> 24);
        p[1] = (char)(v >> 16);
        p[2] = (char)(v >> 8);
        p[3] = (char)v;
}

static void wr64(char *p, int64_t v) {
        wr32(p, (int32_t)(v >> 32));
        wr32(p + 4, (int32_t)v);
}

static batch_t *at(plog_t *l, int i) {
        return &l->b[(l->head + i) % l->cap];
}

static plog_t *find_log(int broker, const char *topic, int16_t tlen, int32_t part) {
        int i;
        for (i = 0; i < nlogs; i++)
                if (logs[i]->broker == broker && logs[i]->partition == part &&
                    logs[i]->tlen == tlen && !memcmp(logs[i]->topic, topic, (size_t)tlen))
                        return logs[i];
        return NULL;
}

static void log_clear(plog_t *l) {
        while (l->n) {
                free(at(l, 0)->d);
                l->head = (l->head + 1) % l->cap;
                l->n--;
        }
        l->bytes = 0;
        l->start = l->end = 0;
}

static void log_free(int i) {
        plog_t *l = logs[i];
        log_clear(l);
        free(l->b);
        free(l->topic);
        free(l);
        logs[i] = logs[--nlogs];
}

static void drop_one(int broker, const char *topic, int16_t tlen, int32_t part) {
        plog_t *l = find_log(broker, topic, tlen, part);
        int i;
        for (i = 0; l && i < nlogs; i++)
                if (logs[i] == l)
                        log_free(i);
}

void relay_log_drop(int broker) {
        int i = 0;
        while (i < nlogs)
                if (!broker || logs[i]->broker == broker)
                        log_free(i);
                else
                        i++;
}

/* Appends one batch (taken over) the mock stored at base; see the contiguity rules above. */
static void log_append(int broker, pend_t *p, int64_t base) {
        plog_t *l = find_log(broker, p->topic, p->tlen, p->partition);
        batch_t *b;
        if (!p->d || base < 0) {
                drop_one(broker, p->topic, p->tlen, p->partition);
                return;
        }
        if (l && l->n && base != l->end) {
                if (base + p->count <= l->start)
                        return; /* overtaken: before what is kept, the mock serves it */
                if (base < l->end) {
                        drop_one(broker, p->topic, p->tlen, p->partition);
                        return;
                }
                log_clear(l); /* a gap: start again at base */
        }
        if (!l) {
                if (nlogs >= MAX_LOGS || !(l = calloc(1, sizeof(*l))))
                        return;
                if (!(l->topic = malloc((size_t)p->tlen + 1))) {
                        free(l);
                        return;
                }
                memcpy(l->topic, p->topic, (size_t)p->tlen);
                l->tlen      = p->tlen;
                l->broker    = broker;
                l->partition = p->partition;
                logs[nlogs++] = l;
        }
        while (l->n && (l->n >= LOG_MAX_BATCHES || l->bytes + p->len > LOG_MAX_BYTES)) {
                l->bytes -= at(l, 0)->len;
                free(at(l, 0)->d);
                l->head = (l->head + 1) % l->cap;
                l->n--;
                l->start = l->n ? at(l, 0)->base : l->end;
        }
        if (l->n == l->cap) { /* grow the ring, oldest first */
                int cap = l->cap ? l->cap * 2 : 64, i;
                batch_t *nb = malloc(sizeof(batch_t) * (size_t)cap);
                if (!nb) {
                        drop_one(broker, p->topic, p->tlen, p->partition);
                        return;
                }
                for (i = 0; i < l->n; i++)
                        nb[i] = *at(l, i);
                free(l->b);
                l->b    = nb;
                l->cap  = cap;
                l->head = 0;
        }
        if (!l->n)
                l->start = base;
        wr64(p->d, base); /* as the mock does; the CRC does not cover it */
        b        = at(l, l->n++);
        b->base  = base;
        b->count = p->count;
        b->len   = (uint32_t)p->len;
        b->d     = p->d;
        p->d     = NULL;
        l->bytes += b->len;
        l->end = base + p->count;
}

void relay_append_free(relay_append_t *a) {
        while (a && a->parts) {
                pend_t *p = a->parts;
                a->parts  = p->next;
                free(p->topic);
                free(p->d);
                free(p);
        }
        free(a);
}

void relay_append_forget(relay_append_t *a) {
        pend_t *p;
        for (p = a ? a->parts : NULL; p; p = p->next)
                drop_one(a->broker, p->topic, p->tlen, p->partition);
        relay_append_free(a);
}

/* Copies one partition's records, when they are one plain v2 batch the mock would count as
 * it does (RecordCount of the first batch). */
/* Reads a topic's name and partition count at *o (Produce/Fetch request and Produce response
 * bodies share the shape) and moves *o past them. -1: the frame is too short. */
static int read_topic(const char *p, size_t n, size_t *o, const char **name, int16_t *tlen, int32_t *parts) {
        if (*o + 2 > n || (*tlen = kafka_rd16(p + *o)) < 0 || *o + 6 + (size_t)*tlen > n)
                return -1;
        *name  = p + *o + 2;
        *parts = kafka_rd32(p + *o + 2 + (size_t)*tlen);
        *o += 6 + (size_t)*tlen;
        return 0;
}

static int pend_add(relay_append_t *a, const char *name, int16_t tlen, int32_t part,
                    const char *rec, int32_t rl) {
        pend_t *p = calloc(1, sizeof(*p));
        if (!p || !(p->topic = malloc((size_t)tlen + 1))) {
                free(p);
                return -1;
        }
        memcpy(p->topic, name, (size_t)tlen);
        p->tlen      = tlen;
        p->partition = part;
        p->next      = a->parts;
        a->parts     = p;
        if (rl >= BATCH_HEADER && rec[16] == 2 &&
            (int64_t)kafka_rd32(rec + 8) + 12 == rl &&
            !(kafka_rd16(rec + 21) & 0x30) && /* transactional, control */
            (p->count = kafka_rd32(rec + 57)) > 0 &&
            kafka_rd32(rec + 23) == p->count - 1 && (p->d = malloc((size_t)rl))) {
                memcpy(p->d, rec, (size_t)rl);
                p->len = (size_t)rl;
        }
        return 0;
}

relay_append_t *relay_append_parse(int broker, const char *p, size_t n) {
        relay_append_t *a = calloc(1, sizeof(*a));
        size_t o          = kafka_request_body(p, n);
        int32_t topics, parts, rl;
        if (!a || !o)
                goto bad;
        a->broker  = broker;
        a->version = kafka_rd16(p + 2);
        if (a->version >= 3) { /* transactional_id */
                int16_t tl = o + 2 <= n ? kafka_rd16(p + o) : -1;
                o += 2 + (tl > 0 ? (size_t)tl : 0);
        }
        if (a->version < 3 || o + 10 > n)
                goto bad;
        topics = kafka_rd32(p + o + 6); /* after acks, timeout */
        o += 10;
        while (topics-- > 0) {
                int16_t tlen;
                const char *name;
                if (read_topic(p, n, &o, &name, &tlen, &parts))
                        goto bad;
                while (parts-- > 0) {
                        if (o + 8 > n)
                                goto bad;
                        rl = kafka_rd32(p + o + 4);
                        if (rl > 0 && o + 8 + (size_t)rl > n)
                                goto bad;
                        if (pend_add(a, name, tlen, kafka_rd32(p + o), p + o + 8, rl))
                                goto bad;
                        o += 8 + (rl > 0 ? (size_t)rl : 0);
                }
        }
        return a;
bad:
        relay_append_free(a);
        return NULL;
}

void relay_append_done(relay_append_t *a, const char *p, size_t n) {
        size_t o = 4; /* correlation id */
        int32_t topics, parts;
        pend_t *pd;
        if (o + 4 > n)
                goto out;
        topics = kafka_rd32(p + o);
        o += 4;
        while (topics-- > 0) {
                int16_t tlen;
                const char *name;
                if (read_topic(p, n, &o, &name, &tlen, &parts))
                        goto out;
                while (parts-- > 0) {
                        int32_t part;
                        int16_t err;
                        if (o + 14 > n)
                                goto out;
                        part = kafka_rd32(p + o);
                        err  = kafka_rd16(p + o + 4);
                        for (pd = a->parts; pd; pd = pd->next)
                                if (pd->partition == part && pd->tlen == tlen &&
                                    !memcmp(pd->topic, name, (size_t)tlen))
                                        break;
                        if (pd && !err)
                                log_append(a->broker, pd, rd64(p + o + 6));
                        o += 14 + (a->version >= 2 ? 8 : 0) + (a->version >= 5 ? 8 : 0);
                        if (a->version >= 8) { /* record_errors, error_message */
                                int32_t re;
                                int16_t sl;
                                if (o + 4 > n)
                                        goto out;
                                re = kafka_rd32(p + o);
                                for (o += 4; re-- > 0;) {
                                        if (o + 6 > n)
                                                goto out;
                                        sl = kafka_rd16(p + o + 4);
                                        o += 6 + (sl > 0 ? (size_t)sl : 0);
                                }
                                if (o + 2 > n)
                                        goto out;
                                sl = kafka_rd16(p + o);
                                o += 2 + (sl > 0 ? (size_t)sl : 0);
                        }
                }
        }
        relay_append_free(a);
        return;
out:
        relay_append_forget(a); /* not understood: what did the mock append? */
}

/* The index of the batch holding off (start <= off < end). */
static int log_find(plog_t *l, int64_t off) {
        int lo = 0, hi = l->n - 1;
        while (lo < hi) {
                int mid = (lo + hi + 1) / 2;
                if (at(l, mid)->base <= off)
                        lo = mid;
                else
                        hi = mid - 1;
        }
        return lo;
}

int relay_log_fetch(int broker, const char *p, size_t n, buf_t *out) {
        int16_t v = n >= 4 ? kafka_rd16(p + 2) : 0;
        size_t o  = kafka_request_body(p, n), at0;
        int32_t topics, parts, max_bytes, total = 0;
        int data = 0;
        char hdr[18];
        if (!nlogs || !o || v < 4 || v > 11 || kafka_rd16(p) != 1 || o + 21 > n)
                return -1;
        max_bytes = kafka_rd32(p + o + 12);
        out->len  = 0;
        /* size (set at the end), correlation id, throttle 0, [error 0, session id] */
        memset(hdr, 0, sizeof(hdr));
        memcpy(hdr + 4, p + 4, 4);
        if (v >= 7) {
                /* after ReplicaId, MaxWait, MinBytes, MaxBytes, Isolation: a full
                 * fetch outside any session is all the relay answers */
                if (o + 25 > n || kafka_rd32(p + o + 17) != 0)
                        return -1;
                memcpy(hdr + 14, p + o + 17, 4);
        }
        if (buf_put(out, hdr, v >= 7 ? 18 : 12))
                return -1;
        o += 17 + (v >= 7 ? 8 : 0);
        if (o + 4 > n)
                return -1;
        topics = kafka_rd32(p + o);
        if (buf_put(out, p + o, 4))
                return -1;
        o += 4;
        while (topics-- > 0) {
                int16_t tlen;
                const char *name;
                size_t at_topic = o;
                if (read_topic(p, n, &o, &name, &tlen, &parts))
                        return -1;
                if (buf_put(out, p + at_topic, o - at_topic)) /* name, partition count */
                        return -1;
                while (parts-- > 0) {
                        char ph[46];
                        int32_t part, pmax, pbytes = 0;
                        int64_t off;
                        plog_t *l;
                        int i;
                        size_t ph_len = 0;
                        if (o + 16 + (v >= 9 ? 4 : 0) + (v >= 5 ? 8 : 0) > n)
                                return -1;
                        part = kafka_rd32(p + o);
                        o += 4 + (v >= 9 ? 4 : 0); /* [current leader epoch] */
                        off = rd64(p + o);
                        o += 8 + (v >= 5 ? 8 : 0); /* [log start offset] */
                        pmax = kafka_rd32(p + o);
                        o += 4;
                        l = find_log(broker, name, tlen, part);
                        if (!l || !l->n || off < l->start || off > l->end)
                                return -1;
                        memset(ph, 0, sizeof(ph));
                        wr32(ph, part);
                        wr64(ph + 6, l->end);  /* high watermark */
                        wr64(ph + 14, l->end); /* last stable offset */
                        ph_len = 22;
                        if (v >= 5)
                                wr64(ph + ph_len, l->start), ph_len += 8;
                        ph_len += 4; /* no aborted transactions */
                        if (v >= 11)
                                wr32(ph + ph_len, -1), ph_len += 4;
                        ph_len += 4; /* record bytes, filled below */
                        if (buf_put(out, ph, ph_len))
                                return -1;
                        at0 = out->len - 4;
                        for (i = off < l->end ? log_find(l, off) : l->n; i < l->n; i++) {
                                batch_t *b = at(l, i);
                                if (total && (pbytes + (int64_t)b->len > pmax ||
                                              total + (int64_t)b->len > max_bytes))
                                        break;
                                if (buf_put(out, b->d, b->len))
                                        return -1;
                                pbytes += (int32_t)b->len;
                                total += (int32_t)b->len;
                                data = 1;
                        }
                        wr32(out->d + at0, pbytes);
                }
        }
        if (v >= 7) { /* forgotten topics: only a plain full fetch is answered here */
                if (o + 4 > n || kafka_rd32(p + o) > 0)
                        return -1;
        }
        wr32(out->d, (int32_t)(out->len - 4));
        return data;
}

int buf_put(buf_t *b, const char *d, size_t n) {
        if (b->len + n > b->cap) {
                size_t cap = b->cap ? b->cap : 4096;
                char *nd;
                while (cap < b->len + n)
                        cap *= 2;
                if (!(nd = realloc(b->d, cap)))
                        return -1;
                b->d   = nd;
                b->cap = cap;
        }
        memcpy(b->d + b->len, d, n);
        b->len += n;
        return 0;
}

void buf_drop(buf_t *b, size_t n) {
        memmove(b->d, b->d + n, b->len - n);
        b->len -= n;
        /* Give back a big buffer once it has drained. */
        if (!b->len && b->cap > 1024 * 1024) {
                free(b->d);
                b->d   = NULL;
                b->cap = 0;
        }
}

void buf_free(buf_t *b) {
        free(b->d);
        memset(b, 0, sizeof(*b));
}
