/*
 * devbroker: a development Kafka broker built on librdkafka's mock cluster.
 *
 * It is a test double of a Kafka cluster (in-memory, loopback only), not a
 * durable broker. See docs/dev-broker.md.
 *
 * Build:
 *   gcc -O2 -o .build/devbroker services/devbroker/devbroker.c \
 *       services/devbroker/relay.c services/devbroker/relay-fetch.c \
 *       services/devbroker/relay-append.c services/devbroker/relay-log.c \
 *       services/devbroker/relay-learn.c services/devbroker/relay-buf.c \
 *       services/devbroker/relay-ports.c \
 *       services/devbroker/kafka-frames.c \
 *       $(pkg-config --cflags --libs rdkafka) -lpthread -ldl
 *
 * Usage:
 *   devbroker [--brokers N] [--topic name:partitions]... [--port P]...
 *             [--debug list]
 *
 * Clients connect to a relay (relay.c), one listener per mock broker, which passes
 * their requests on to the mock broker behind it and long-polls their fetches; the
 * mock listens on an internal loopback port and advertises the relay's
 * (relay-ports.c). --port P (repeatable, one per broker, in broker id order) makes
 * broker i's relay listen on 127.0.0.1:P_i instead of an ephemeral port, so a
 * restarted devbroker keeps its bootstrap address.
 *
 * Protocol (stdout, one line each):
 *   BOOTSTRAP 127.0.0.1:P1,127.0.0.1:P2,...
 *   READY
 * then for every command line read on stdin exactly one answer line
 * "OK ..." or "ERR <reason>":
 *   ping
 *   down <broker_id|all>
 *   up <broker_id|all>
 *   rtt <broker_id|all> <ms>
 *   topic <name> <partitions>
 *   quit
 * stdin EOF, SIGTERM, SIGINT or "quit" destroy the cluster and exit 0.
 * Logs (librdkafka's and our own) go to stderr only.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "relay.h"

#define MAX_TOPICS 64
#define LINE_MAX_LEN 1024

static volatile sig_atomic_t stop_requested = 0;

/* Fixed advertised ports (--port), one per broker in id order. */
static int fixed_ports[RELAY_MAX_BROKERS];
static int fixed_port_cnt = 0;

static void on_signal(int sig) {
        (void)sig;
        stop_requested = 1;
}

static void log_to_stderr(const rd_kafka_t *rk, int level, const char *fac,
                          const char *buf) {
        (void)rk;
        /* The hosting handle intentionally has no bootstrap.servers. */
        if (strstr(buf, "No `bootstrap.servers` configured"))
                return;
        fprintf(stderr, "devbroker: rdkafka %d %s: %s\n", level, fac, buf);
}

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stdout, fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
        fflush(stdout);
}

static int parse_int(const char *s, long min, long max, long *out) {
        char *end = NULL;
        long v;
        if (!s || !*s)
                return -1;
        errno = 0;
        v     = strtol(s, &end, 10);
        if (errno || *end != '\0' || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

/* Broker selector: "all" or a broker id in 1..broker_cnt. Returns 0 on
 * success with *first..*last being the id range to apply to. */
static int parse_broker(const char *s, int broker_cnt, int *first, int *last) {
        long id;
        if (!s)
                return -1;
        if (!strcmp(s, "all")) {
                *first = 1;
                *last  = broker_cnt;
                return 0;
        }
        if (parse_int(s, 1, broker_cnt, &id))
                return -1;
        *first = *last = (int)id;
        return 0;
}

static int valid_topic_name(const char *name) {
        size_t n = strlen(name), i;
        if (n == 0 || n > 249)
                return 0;
        for (i = 0; i < n; i++) {
                char c = name[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                      c == '-'))
                        return 0;
        }
        return 1;
}

static rd_kafka_resp_err_t create_topic(rd_kafka_mock_cluster_t *mc,
                                        int broker_cnt, const char *name,
                                        int partitions) {
        /* Replicate over every broker (at most 3), like a small real cluster.
         * The mock does not move leaders when a broker goes down. */
        int rf = broker_cnt < 3 ? broker_cnt : 3;
        return rd_kafka_mock_topic_create(mc, name, partitions, rf);
}

static void usage(const char *argv0) {
        fprintf(stderr,
                "usage: %s [--brokers N] [--topic name:partitions]... "
                "[--port P]... [--debug list]\n",
                argv0);
}

static void handle_command(rd_kafka_mock_cluster_t *mc, int broker_cnt,
                           char *line, int *quit) {
        char *save = NULL;
        char *cmd  = strtok_r(line, " \t", &save);
        char *a1   = cmd ? strtok_r(NULL, " \t", &save) : NULL;
        char *a2   = a1 ? strtok_r(NULL, " \t", &save) : NULL;
        char *a3   = a2 ? strtok_r(NULL, " \t", &save) : NULL;
        int first, last, id;
        long v;
        rd_kafka_resp_err_t err;

        if (!cmd) {
                reply("ERR empty command");
                return;
        }

        if (!strcmp(cmd, "ping")) {
                reply("OK pong");
        } else if (!strcmp(cmd, "quit")) {
                reply("OK bye");
                *quit = 1;
        } else if (!strcmp(cmd, "down") || !strcmp(cmd, "up")) {
                int down = !strcmp(cmd, "down");
                if (a2 || parse_broker(a1, broker_cnt, &first, &last)) {
                        reply("ERR usage: %s <broker_id 1..%d|all>", cmd,
                              broker_cnt);
                        return;
                }
                for (id = first; id <= last; id++) {
                        err = down ? rd_kafka_mock_broker_set_down(mc, id)
                                   : rd_kafka_mock_broker_set_up(mc, id);
                        if (err) {
                                reply("ERR broker %d: %s", id,
                                      rd_kafka_err2str(err));
                                return;
                        }
                        /* The relay follows: a down broker refuses
                         * connections and has closed its clients'. */
                        if (down) {
                                relay_unlisten(id);
                                relay_close_broker(id);
                        } else if (relay_listen(id)) {
                                reply("ERR broker %d: cannot listen again: %s",
                                      id, strerror(errno));
                                return;
                        }
                }
                reply("OK %s %s", cmd, a1);
        } else if (!strcmp(cmd, "rtt")) {
                if (a3 || parse_broker(a1, broker_cnt, &first, &last) ||
                    parse_int(a2, 0, 3600 * 1000, &v)) {
                        reply("ERR usage: rtt <broker_id 1..%d|all> <ms>",
                              broker_cnt);
                        return;
                }
                for (id = first; id <= last; id++) {
                        err = rd_kafka_mock_broker_set_rtt(mc, id, (int)v);
                        if (err) {
                                reply("ERR broker %d: %s", id,
                                      rd_kafka_err2str(err));
                                return;
                        }
                }
                reply("OK rtt %s %ld", a1, v);
        } else if (!strcmp(cmd, "topic")) {
                if (a3 || !a1 || !valid_topic_name(a1) ||
                    parse_int(a2, 1, 10000, &v)) {
                        reply("ERR usage: topic <name> <partitions 1..10000>");
                        return;
                }
                err = create_topic(mc, broker_cnt, a1, (int)v);
                if (err) {
                        reply("ERR topic %s: %s", a1, rd_kafka_err2str(err));
                        return;
                }
                reply("OK topic %s %ld", a1, v);
        } else {
                reply("ERR unknown command '%s' (ping|down|up|rtt|topic|quit)",
                      cmd);
        }
}

/* Reads what stdin has and runs every whole command line in it. Returns -1 on EOF or
 * error. stdin is read by the relay's poll loop, so no stdio buffering here. */
static int read_commands(rd_kafka_mock_cluster_t *mc, int broker_cnt,
                         char *line, size_t cap, size_t *len, int *quit) {
        static int skipping = 0;
        ssize_t r = read(STDIN_FILENO, line + *len, cap - 1 - *len);
        char *nl;
        if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
                return -1;
        if (r < 0)
                return 0;
        *len += (size_t)r;
        line[*len] = '\0';
        while (!*quit && (nl = memchr(line, '\n', *len))) {
                size_t used = (size_t)(nl - line) + 1, n = used - 1;
                *nl = '\0';
                if (n > 0 && line[n - 1] == '\r')
                        line[n - 1] = '\0';
                if (skipping) /* the tail of a line too long, answered */
                        skipping = 0;
                else
                        handle_command(mc, broker_cnt, line, quit);
                memmove(line, line + used, *len - used + 1);
                *len -= used;
        }
        if (*len == cap - 1) { /* no newline in a whole buffer */
                *len = 0;
                if (!skipping)
                        reply("ERR line too long");
                skipping = 1;
        }
        return 0;
}

int main(int argc, char **argv) {
        long broker_cnt = 1;
        const char *topics[MAX_TOPICS];
        int topic_parts[MAX_TOPICS];
        int topic_cnt     = 0;
        const char *debug = NULL;
        char errstr[512];
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        rd_kafka_mock_cluster_t *mc;
        struct sigaction sa;
        char line[LINE_MAX_LEN];
        size_t line_len = 0;
        int quit = 0, i, id, attempt;

        for (i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--brokers") && i + 1 < argc) {
                        if (parse_int(argv[++i], 1, 32, &broker_cnt)) {
                                fprintf(stderr,
                                        "devbroker: --brokers must be 1..32\n");
                                return 2;
                        }
                } else if (!strcmp(argv[i], "--topic") && i + 1 < argc) {
                        char *spec  = argv[++i];
                        char *colon = strrchr(spec, ':');
                        long parts  = 1;
                        if (topic_cnt == MAX_TOPICS) {
                                fprintf(stderr, "devbroker: too many topics\n");
                                return 2;
                        }
                        if (colon) {
                                *colon = '\0';
                                if (parse_int(colon + 1, 1, 10000, &parts)) {
                                        fprintf(stderr,
                                                "devbroker: bad partition "
                                                "count in --topic %s\n",
                                                spec);
                                        return 2;
                                }
                        }
                        if (!valid_topic_name(spec)) {
                                fprintf(stderr,
                                        "devbroker: bad topic name '%s'\n",
                                        spec);
                                return 2;
                        }
                        topics[topic_cnt]        = spec;
                        topic_parts[topic_cnt++] = (int)parts;
                } else if (!strcmp(argv[i], "--port") && i + 1 < argc) {
                        long port;
                        if (fixed_port_cnt == RELAY_MAX_BROKERS ||
                            parse_int(argv[++i], 1, 65535, &port)) {
                                fprintf(stderr,
                                        "devbroker: bad or too many --port\n");
                                return 2;
                        }
                        fixed_ports[fixed_port_cnt++] = (int)port;
                } else if (!strcmp(argv[i], "--debug") && i + 1 < argc) {
                        debug = argv[++i];
                } else {
                        usage(argv[0]);
                        return 2;
                }
        }

        if (fixed_port_cnt && fixed_port_cnt != broker_cnt) {
                fprintf(stderr,
                        "devbroker: %d --port given for %ld broker(s)\n",
                        fixed_port_cnt, broker_cnt);
                return 2;
        }

        if (relay_ports_init((int)broker_cnt,
                             fixed_port_cnt ? fixed_ports : NULL))
                return 1;

        /* No SA_RESTART: a signal interrupts the blocking fgets() below. */
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        /* A plain producer handle hosts the mock cluster (it needs no
         * bootstrap.servers and never connects anywhere itself). */
        conf = rd_kafka_conf_new();
        rd_kafka_conf_set_log_cb(conf, log_to_stderr);
        if (debug && rd_kafka_conf_set(conf, "debug", debug, errstr,
                                       sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "devbroker: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return 2;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "devbroker: rd_kafka_new failed: %s\n", errstr);
                return 1;
        }

        /* After a restart on fixed ports, the previous run's clients reconnect
         * at once, and a Metadata request that names a topic makes the mock
         * auto-create it with its default partition count. So the brokers stay
         * down (no new connections) until every topic exists; should a client
         * still win the race, the cluster is made again. */
        for (attempt = 1;; attempt++) {
                rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
                const char *failed      = NULL;
                relay_ports_reset(); /* the same ports again */
                mc = rd_kafka_mock_cluster_new(rk, (int)broker_cnt);
                if (!mc) {
                        fprintf(stderr,
                                "devbroker: rd_kafka_mock_cluster_new failed%s\n",
                                fixed_port_cnt ? " (is a --port already in use?)"
                                               : "");
                        rd_kafka_destroy(rk);
                        return 1;
                }
                for (id = 1; id <= (int)broker_cnt; id++)
                        rd_kafka_mock_broker_set_down(mc, id);
                for (i = 0; i < topic_cnt && !err; i++) {
                        err = create_topic(mc, (int)broker_cnt, topics[i],
                                           topic_parts[i]);
                        if (err)
                                failed = topics[i];
                }
                if (!err) {
                        for (id = 1; id <= (int)broker_cnt; id++)
                                rd_kafka_mock_broker_set_up(mc, id);
                        break;
                }
                rd_kafka_mock_cluster_destroy(mc);
                if (err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS ||
                    attempt == 5) {
                        fprintf(stderr, "devbroker: topic %s: %s\n", failed,
                                rd_kafka_err2str(err));
                        rd_kafka_destroy(rk);
                        return 1;
                }
                fprintf(stderr,
                        "devbroker: topic %s was auto-created by an early "
                        "client; making the cluster again\n",
                        failed);
        }

        /* Clients reach the brokers through the relay only from now on. */
        for (id = 1; id <= (int)broker_cnt; id++)
                if (relay_listen(id)) {
                        fprintf(stderr, "devbroker: relay listen: %s\n",
                                strerror(errno));
                        rd_kafka_mock_cluster_destroy(mc);
                        rd_kafka_destroy(rk);
                        return 1;
                }

        reply("BOOTSTRAP %s", rd_kafka_mock_cluster_bootstraps(mc));
        reply("READY");

        while (!quit && !stop_requested) {
                int rc = relay_poll(STDIN_FILENO, 1000);
                if (rc < 0)
                        continue; /* a signal: check stop_requested */
                if (rc > 0 && read_commands(mc, (int)broker_cnt, line,
                                            sizeof(line), &line_len, &quit))
                        break; /* EOF or error */
        }

        relay_shutdown();

        fprintf(stderr, "devbroker: shutting down (%s)\n",
                quit ? "quit" : stop_requested ? "signal" : "stdin closed");
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        return 0;
}
