/*
 * Which partitions the relay knows the mock holds nothing of, so that a Fetch naming them
 * beside partitions with logs is still answered by the relay (relay-log.c).
 *
 * The relay answers a Fetch only when every partition it names has a log here, and a
 * partition nothing was produced to had none: a consumer of busy and idle partitions in one
 * Fetch (a gateway's realtime events and presence, a connector's idle channel) was always
 * answered by the mock, whose linear scan of the busy partitions' logs grew with every
 * message the broker had taken.
 *
 * The mock's answer to such a Fetch gives, per partition, its error, high watermark and log
 * start. A partition this broker leads (error 0), empty in the mock (high watermark and log
 * start 0) and named by no Produce that ever passed through the relay is empty for sure:
 * every record reaches the mock through the relay, and a Produce sent later either has its
 * response seen (appending at 0) or drops the broker's logs. So it gets an empty log at 0.
 * A Produce whose partitions the relay cannot read (acks 0, not understood) turns this off
 * for good.
 */
#include <stdint.h>
#include <stdlib.h>

#include "relay.h"

#define TOUCHED_SLOTS 4096 /* a power of two; full: learning stops */

/* Every topic partition a Produce named (kafka_tp_key; 0 is an empty slot). */
static uint64_t touched[TOUCHED_SLOTS];
static int ntouched, learn_off;

/* Whether key is in the set; adds it when add. */
static int touched_has(uint64_t key, int add) {
        size_t i;
        if (!key)
                key = 1;
        i = (size_t)(key ^ (key >> 29)) & (TOUCHED_SLOTS - 1);
        for (; touched[i]; i = (i + 1) & (TOUCHED_SLOTS - 1))
                if (touched[i] == key)
                        return 1;
        if (add) {
                if (ntouched >= TOUCHED_SLOTS / 2)
                        learn_off = 1;
                else
                        touched[i] = key, ntouched++;
        }
        return 0;
}

void relay_log_touch(const kafka_request_t *r) {
        int i;
        if (!r->acked_produce || r->all_keys)
                learn_off = 1;
        for (i = 0; i < r->nkeys; i++)
                touched_has(r->keys[i], 1);
}

void relay_log_learn(int broker, const char *p, size_t n, int version) {
        size_t o = 4 + 4 + 6; /* correlation id, throttle, error, session id */
        int32_t topics, parts, len;
        if (learn_off || version < 7 || version > 11 || o + 4 > n || kafka_rd16(p + 8))
                return;
        topics = kafka_rd32(p + o);
        o += 4;
        while (topics-- > 0) {
                int16_t tlen;
                const char *name;
                if (kafka_read_topic(p, n, &o, &name, &tlen, &parts))
                        return;
                while (parts-- > 0) {
                        int32_t part;
                        int16_t err;
                        int64_t hw, log_start;
                        /* partition, error, high watermark, last stable offset,
                         * log start, aborted transactions */
                        if (o + 34 > n)
                                return;
                        part      = kafka_rd32(p + o);
                        err       = kafka_rd16(p + o + 4);
                        hw        = kafka_rd64(p + o + 6);
                        log_start = kafka_rd64(p + o + 22);
                        len       = kafka_rd32(p + o + 30);
                        o += 34 + (len > 0 ? (size_t)len * 16 : 0);
                        if (version >= 11)
                                o += 4; /* preferred read replica */
                        if (o + 4 > n)
                                return;
                        len = kafka_rd32(p + o); /* record bytes */
                        o += 4 + (len > 0 ? (size_t)len : 0);
                        if (!err && !hw && !log_start && len <= 0 &&
                            !touched_has(kafka_tp_key(name, tlen, part), 0))
                                relay_log_open_empty(broker, name, tlen, part, 0);
                }
        }
}
