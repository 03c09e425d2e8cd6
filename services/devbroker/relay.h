/*
 * The dev broker's Kafka relay: a listener per mock broker on the advertised port, in front
 * of the mock's own listener on an internal loopback port. See relay-ports.c (which port is
 * which), relay.c (what crosses the relay) and relay-fetch.c (the fetches it holds).
 * Everything here runs on the main thread, except the bind()/getsockname() interposers, which run on librdkafka's mock thread.
 */
#ifndef DEVBROKER_RELAY_H
#define DEVBROKER_RELAY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RELAY_MAX_BROKERS 32

/* relay-ports.c */
/* Reserves the advertised port of each broker (fixed_ports[i], or an ephemeral one when
 * fixed_ports is NULL) without listening yet. Returns 0, or -1 after printing why. */
int relay_ports_init(int broker_cnt, const int *fixed_ports);
/* The next mock listener bound to 127.0.0.1:0 is broker 1 again (a re-made cluster). */
void relay_ports_reset(void);
/* Starts (up) or stops (down) accepting on broker id's advertised port (id 1..N). */
int relay_listen(int id);
void relay_unlisten(int id);
/* The advertised port's listening fd (-1 while down) and the mock's internal port. */
int relay_listen_fd(int id);
/* Changes whenever a listener opens or closes (an fd number may come back for another). */
int relay_listen_generation(void);
int relay_internal_port(int id);
int relay_broker_cnt(void);
/* bind() as libc does it, for the relay's own sockets. */
int relay_real_bind(int fd, const struct sockaddr *addr, socklen_t len);

/* kafka-frames.c: messages are frames without their int32 size prefix. */
#define KAFKA_MAX_KEYS 64
typedef struct {
        int16_t api_key, api_version;
        int32_t corr;
        size_t max_wait_at; /* a Fetch the relay can hold: offset of MaxWait, else 0 */
        int32_t max_wait;
        int acked_produce;  /* a Produce that will get a response (acks != 0) */
        /* The topic partitions a Fetch reads or a Produce appends to, as keys; all_keys
         * when there were more than KAFKA_MAX_KEYS. */
        uint64_t keys[KAFKA_MAX_KEYS];
        int nkeys, all_keys;
} kafka_request_t;
/* Reads a request's header, and a Fetch's MaxWait and partitions or a Produce's acks and
 * partitions. -1: too short for a header. */
int kafka_parse_request(const char *msg, size_t n, kafka_request_t *out);
/* Whether a Fetch response carries record bytes for any partition: 1 yes, 0 no, -1 not
 * understood (then it is passed on as it is). */
int kafka_fetch_has_records(const char *msg, size_t n, int version);
int64_t kafka_rd64(const char *p);
int32_t kafka_rd32(const char *p);
int16_t kafka_rd16(const char *p);
/* Reads a topic's name and partition count at *o (Produce/Fetch requests and Produce/Fetch
 * responses share the shape) and moves *o past them. -1: the message is too short. */
int kafka_read_topic(const char *p, size_t n, size_t *o, const char **name, int16_t *tlen,
                     int32_t *parts);
/* The key of a topic partition, what a Produce touches and a Fetch waits on. */
uint64_t kafka_tp_key(const char *name, int16_t len, int32_t partition);
/* Offset of a request's body (after the v1 header), 0 if too short. */
size_t kafka_request_body(const char *p, size_t n);

/* relay-buf.c: a growable byte buffer. */
typedef struct {
        char *d;
        size_t len, cap;
} buf_t;
int buf_put(buf_t *b, const char *d, size_t n);
void buf_drop(buf_t *b, size_t n);
void buf_free(buf_t *b);

/* relay-append.c: what an acked Produce (a message) appends to each partition, until its
 * response. NULL when it is not understood (then relay_log_drop the broker's logs). */
typedef struct relay_append relay_append_t;
relay_append_t *relay_append_parse(int broker, const char *msg, size_t n);
/* Its response (a message): appends what the mock accepted, and frees a. */
void relay_append_done(relay_append_t *a, const char *msg, size_t n);
/* No response will come (the connection closed): drops its partitions' logs, frees a. */
void relay_append_forget(relay_append_t *a);
void relay_append_free(relay_append_t *a);

/* relay-log.c: the relay's offset-indexed copy of the logs. */
/* Appends one batch of count records (*batch, len bytes: taken over, *batch set NULL) that
 * the mock stored at base; NULL *batch: not indexable, drops the partition's log. */
void relay_log_append(int broker, const char *topic, int16_t tlen, int32_t part, char **batch,
                      size_t len, int32_t count, int64_t base);
/* An empty log at end for a partition the mock holds nothing of (none if one exists). */
void relay_log_open_empty(int broker, const char *topic, int16_t tlen, int32_t part, int64_t end);
void relay_log_drop_partition(int broker, const char *topic, int16_t tlen, int32_t part);
/* relay-learn.c: partitions the mock holds nothing of get an empty log. */
/* A Produce request passes (any acks): its partitions may hold records from now on. */
void relay_log_touch(const kafka_request_t *r);
/* The mock's response (a message) to a Fetch of this version, sent by broker's relay. */
void relay_log_learn(int broker, const char *msg, size_t n, int version);
/* Builds into out a whole response frame to a Fetch (a message) of broker's clients:
 * 1 with records, 0 without any (it may be held), -1 when the mock is to answer it. */
int relay_log_fetch(int broker, const char *msg, size_t n, buf_t *out);
/* Forgets broker's logs (every broker's with 0). */
void relay_log_drop(int broker);

/* relay.c */
/* Serves the relay for at most timeout_ms (less when a held fetch is due). Returns 1 when
 * extra_fd (stdin) is readable or hung up, 0 otherwise, -1 on EINTR. */
int relay_poll(int extra_fd, int timeout_ms);
/* Closes every relayed connection of broker id (it went down). */
void relay_close_broker(int id);
/* Closes everything (exit). */
void relay_shutdown(void);

#endif
