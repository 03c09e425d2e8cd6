/*
 * The few fields of the Kafka wire protocol the relay reads. Only non-flexible versions are
 * understood (Fetch v0–11, Produce v0–8, the ones kafkajs sends); anything else is relayed
 * without a look. Every read is bounds-checked: a short or odd message is "not understood",
 * never a crash.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "relay.h"

#define API_PRODUCE 0
#define API_FETCH 1
#define FETCH_MAX_VERSION 11
#define PRODUCE_MAX_VERSION 8

int32_t kafka_rd32(const char *p) {
        uint32_t v;
        memcpy(&v, p, 4);
        return (int32_t)ntohl(v);
}

int16_t kafka_rd16(const char *p) {
        uint16_t v;
        memcpy(&v, p, 2);
        return (int16_t)ntohs(v);
}

int64_t kafka_rd64(const char *p) {
        return ((int64_t)kafka_rd32(p) << 32) | (uint32_t)kafka_rd32(p + 4);
}

int kafka_read_topic(const char *p, size_t n, size_t *o, const char **name, int16_t *tlen,
                     int32_t *parts) {
        if (*o + 2 > n || (*tlen = kafka_rd16(p + *o)) < 0 || *o + 6 + (size_t)*tlen > n)
                return -1;
        *name  = p + *o + 2;
        *parts = kafka_rd32(p + *o + 2 + (size_t)*tlen);
        *o += 6 + (size_t)*tlen;
        return 0;
}

/* Offset of a request's body: after api_key, api_version, correlation_id and client_id
 * (request header v1). 0 if the message is too short. */
size_t kafka_request_body(const char *p, size_t n) {
        int16_t cid;
        if (n < 10)
                return 0;
        cid = kafka_rd16(p + 8);
        if (cid > 0 && (size_t)cid + 10 > n)
                return 0;
        return 10 + (cid > 0 ? (size_t)cid : 0);
}

/* The key of a topic partition, what a Produce touches and a Fetch waits on. */
uint64_t kafka_tp_key(const char *name, int16_t len, int32_t partition) {
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */
        int16_t i;
        for (i = 0; i < len; i++)
                h = (h ^ (uint8_t)name[i]) * 1099511628211ULL;
        return h ^ ((uint64_t)(uint32_t)partition * 0x9E3779B97F4A7C15ULL);
}

/* Reads the topics array of a Produce or Fetch request from offset o: each topic's
 * partitions become keys; skip is the bytes after a partition's index (-1: a Produce's
 * records, int32 length then bytes). Too many keys: all_keys. -1 if it runs short. */
static int read_topics(const char *p, size_t n, size_t o, int skip,
                       kafka_request_t *out) {
        int32_t topics, parts;
        if (o + 4 > n)
                return -1;
        topics = kafka_rd32(p + o);
        o += 4;
        while (topics-- > 0) {
                int16_t len;
                const char *name;
                if (o + 2 > n)
                        return -1;
                len  = kafka_rd16(p + o);
                name = p + o + 2;
                o += 2 + (len > 0 ? (size_t)len : 0);
                if (len < 0 || o + 4 > n)
                        return -1;
                parts = kafka_rd32(p + o);
                o += 4;
                while (parts-- > 0) {
                        if (o + 4 > n)
                                return -1;
                        if (out->nkeys < KAFKA_MAX_KEYS)
                                out->keys[out->nkeys++] =
                                    kafka_tp_key(name, len, kafka_rd32(p + o));
                        else
                                out->all_keys = 1;
                        o += 4;
                        if (skip < 0) {
                                int32_t rl;
                                if (o + 4 > n)
                                        return -1;
                                rl = kafka_rd32(p + o);
                                o += 4 + (rl > 0 ? (size_t)rl : 0);
                        } else {
                                o += (size_t)skip;
                        }
                }
        }
        return 0;
}

int kafka_parse_request(const char *p, size_t n, kafka_request_t *out) {
        size_t body, o;
        int v;
        memset(out, 0, sizeof(*out));
        if (n < 8)
                return -1;
        out->api_key     = kafka_rd16(p);
        out->api_version = kafka_rd16(p + 2);
        out->corr        = kafka_rd32(p + 4);
        v                = out->api_version;
        if (out->api_key == API_FETCH && v <= FETCH_MAX_VERSION &&
            (body = kafka_request_body(p, n)) && body + 12 <= n) {
                /* ReplicaId, MaxWait, MinBytes, [MaxBytes], [Isolation],
                 * [SessionId, SessionEpoch], topics */
                o = body + 12 + (v >= 3 ? 4 : 0) + (v >= 4 ? 1 : 0) +
                    (v >= 7 ? 8 : 0);
                /* CurrentLeaderEpoch, FetchOffset, LogStartOffset, MaxBytes */
                if (read_topics(p, n, o,
                                (v >= 9 ? 4 : 0) + 8 + (v >= 5 ? 8 : 0) + 4,
                                out))
                        return 0; /* not understood: relayed as it is */
                out->max_wait_at = body + 4;
                out->max_wait    = kafka_rd32(p + body + 4);
        } else if (out->api_key == API_PRODUCE && v <= PRODUCE_MAX_VERSION &&
                   (body = kafka_request_body(p, n))) {
                int16_t acks;
                o = body;
                if (v >= 3) { /* transactional_id */
                        int16_t tl = o + 2 <= n ? kafka_rd16(p + o) : -1;
                        o += 2 + (tl > 0 ? (size_t)tl : 0);
                }
                if (o + 6 > n)
                        return 0;
                acks = kafka_rd16(p + o);
                /* acks, timeout, topics. With acks 0 no response comes. */
                if (acks != 0 && !read_topics(p, n, o + 6, -1, out))
                        out->acked_produce = 1;
                else
                        out->nkeys = out->all_keys = 0;
        }
        return 0;
}

int kafka_fetch_has_records(const char *p, size_t n, int version) {
        size_t o = 4; /* correlation id */
        int32_t topics, parts, cnt, len;
#define NEED(k)                                                                \
        do {                                                                   \
                if (o + (size_t)(k) > n)                                       \
                        return -1;                                             \
        } while (0)
        if (version >= 1)
                o += 4; /* throttle_time_ms */
        if (version >= 7)
                o += 6; /* error_code, session_id */
        NEED(4);
        topics = kafka_rd32(p + o);
        o += 4;
        while (topics-- > 0) {
                NEED(2);
                len = kafka_rd16(p + o);
                o += 2 + (len > 0 ? (size_t)len : 0);
                NEED(4);
                parts = kafka_rd32(p + o);
                o += 4;
                while (parts-- > 0) {
                        o += 4 + 2 + 8; /* partition, error_code, high_watermark */
                        if (version >= 4)
                                o += 8; /* last_stable_offset */
                        if (version >= 5)
                                o += 8; /* log_start_offset */
                        if (version >= 4) { /* aborted_transactions */
                                NEED(4);
                                cnt = kafka_rd32(p + o);
                                o += 4 + (cnt > 0 ? (size_t)cnt * 16 : 0);
                        }
                        if (version >= 11)
                                o += 4; /* preferred_read_replica */
                        NEED(4);
                        len = kafka_rd32(p + o); /* record bytes, -1 null */
                        o += 4;
                        if (len > 0)
                                return 1;
                }
        }
        return 0;
#undef NEED
}
