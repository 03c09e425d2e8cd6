/*
 * The relay's own copy of each partition's log, indexed by offset, so that it answers
 * Fetches itself.
 *
 * librdkafka 2.0.2's mock finds the message set of a fetch offset by a linear scan of the
 * partition's whole log (up to 100,000 sets), and returns at most one set per partition per
 * Fetch; with the platform's small sets the broker's CPU grew with every run. The relay
 * sees every Produce and its response: the record batches of each partition that the mock
 * accepted are appended here at the base offset the mock gave them (relay-append.c). A Fetch
 * (v4-v11) whose partitions all have a log here (perhaps an empty one, relay-learn.c), at an
 * offset within [start, end], is answered from here (binary search, as many whole batches as
 * the max bytes allow); any other goes to the mock.
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

static plog_t *logs[MAX_LOGS];
static int nlogs;

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

void relay_log_drop_partition(int broker, const char *topic, int16_t tlen, int32_t part) {
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

/* A new empty log of a partition, at offset end. NULL: too many logs, or out of memory. */
static plog_t *log_new(int broker, const char *topic, int16_t tlen, int32_t part, int64_t end) {
        plog_t *l;
        if (nlogs >= MAX_LOGS || !(l = calloc(1, sizeof(*l))))
                return NULL;
        if (!(l->topic = malloc((size_t)tlen + 1))) {
                free(l);
                return NULL;
        }
        memcpy(l->topic, topic, (size_t)tlen);
        l->tlen       = tlen;
        l->broker     = broker;
        l->partition  = part;
        l->start      = end;
        l->end        = end;
        logs[nlogs++] = l;
        return l;
}

void relay_log_open_empty(int broker, const char *topic, int16_t tlen, int32_t part, int64_t end) {
        if (!find_log(broker, topic, tlen, part))
                log_new(broker, topic, tlen, part, end);
}

void relay_log_append(int broker, const char *topic, int16_t tlen, int32_t part, char **batch,
                      size_t len, int32_t count, int64_t base) {
        plog_t *l = find_log(broker, topic, tlen, part);
        batch_t *b;
        if (!*batch || base < 0) {
                relay_log_drop_partition(broker, topic, tlen, part);
                return;
        }
        if (l && l->n && base != l->end) {
                if (base + count <= l->start)
                        return; /* overtaken: before what is kept, the mock serves it */
                if (base < l->end) {
                        relay_log_drop_partition(broker, topic, tlen, part);
                        return;
                }
                log_clear(l); /* a gap: start again at base */
        }
        if (!l && !(l = log_new(broker, topic, tlen, part, base)))
                return;
        while (l->n && (l->n >= LOG_MAX_BATCHES || l->bytes + len > LOG_MAX_BYTES)) {
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
                        relay_log_drop_partition(broker, topic, tlen, part);
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
        wr64(*batch, base); /* as the mock does; the CRC does not cover it */
        b        = at(l, l->n++);
        b->base  = base;
        b->count = count;
        b->len   = (uint32_t)len;
        b->d     = *batch;
        *batch   = NULL;
        l->bytes += b->len;
        l->end = base + count;
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
                if (kafka_read_topic(p, n, &o, &name, &tlen, &parts))
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
                        off = kafka_rd64(p + o);
                        o += 8 + (v >= 5 ? 8 : 0); /* [log start offset] */
                        pmax = kafka_rd32(p + o);
                        o += 4;
                        l = find_log(broker, name, tlen, part);
                        if (!l || off < l->start || off > l->end)
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

