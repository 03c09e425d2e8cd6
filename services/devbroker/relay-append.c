/*
 * What an acked Produce appends to the relay's logs (relay-log.c): each partition's record
 * bytes are kept from the request until its response, which gives the base offset the mock
 * stored them at (or an error). Only one plain v2 batch per partition is indexed: the
 * relay's log must count offsets exactly as the mock does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

#define BATCH_HEADER 61 /* a v2 record batch's header, up to and with recordCount */

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
                relay_log_drop_partition(a->broker, p->topic, p->tlen, p->partition);
        relay_append_free(a);
}

/* Notes one partition's records; copies them when they are one plain v2 batch the mock would
 * count as it does (RecordCount of the first batch). */
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
                if (kafka_read_topic(p, n, &o, &name, &tlen, &parts))
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
                if (kafka_read_topic(p, n, &o, &name, &tlen, &parts))
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
                                relay_log_append(a->broker, pd->topic, pd->tlen, pd->partition,
                                                 &pd->d, pd->len, pd->count,
                                                 kafka_rd64(p + o + 6));
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
