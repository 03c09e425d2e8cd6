/*
 * What the relay's files share about one relayed connection (relay.c) and the fetches it
 * holds for it (relay-fetch.c). Internal to the relay; relay.h is its interface.
 */
#ifndef DEVBROKER_RELAY_CONN_H
#define DEVBROKER_RELAY_CONN_H

#include <stdint.h>

#include "relay.h"

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

/* A client's connection (cfd) and the relay's own to the mock broker behind it (ufd):
 * what was read from each side (cin, uin) and what is to be written to each (cout, uout). */
typedef struct conn {
        struct conn *next;
        int broker, cfd, ufd, connecting, dead;
        uint32_t cmask, umask; /* the epoll events each side is registered for */
        uint32_t crev, urev;   /* the events each side got this round */
        struct conn *rnext;    /* the next connection with events this round */
        buf_t cin, uout, uin, cout;
        fetch_t *fetches;
        produce_t *produces;
        int nfetches, nproduces;
} conn_t;

/* relay.c: every relayed connection. */
extern conn_t *relay_conns;
int64_t relay_now_ms(void);

/* relay-fetch.c */
/* Copies a request's topic partitions. -1: out of memory. */
int tps_copy(tps_t *t, const kafka_request_t *r);
/* A Fetch request frame (MaxWait at req->max_wait_at) the relay holds for the client: 1 it is
 * answered or held, 0 it is to go to the mock as it is, -1 close the connection. */
int fetch_request(conn_t *c, const kafka_request_t *req, char *frame, size_t n);
/* A response frame from the mock: 1 it answered one of c's fetches (dealt with), 0 it did
 * not, -1 close the connection. */
int fetch_response(conn_t *c, int32_t corr, char *frame, size_t n);
/* Records were appended to these topic partitions (a Produce response passed). */
void fetch_appended(const tps_t *t);
/* Sends again every held fetch of a topic partition appended to since the last call. */
void fetch_wake_parked(void);
/* Answers held fetches whose MaxWait is over; returns ms until the next is due, or -1. */
int fetch_expire_parked(void);
/* Forgets every fetch of c (it closes). */
void fetch_free_all(conn_t *c);

#endif
