/*
 * devbroker: a development Kafka broker built on librdkafka's mock cluster.
 *
 * It is a test double of a Kafka cluster (in-memory, loopback only), not a
 * durable broker. See docs/dev-broker.md.
 *
 * Build:
 *   gcc -O2 -o .build/devbroker services/devbroker/devbroker.c \
 *       $(pkg-config --cflags --libs rdkafka)
 *
 * Usage:
 *   devbroker [--brokers N] [--topic name:partitions]... [--port P]...
 *             [--debug list]
 *
 * --port P (repeatable, one per broker, in broker id order) makes broker i listen
 * on 127.0.0.1:P_i instead of an ephemeral port, so a restarted devbroker keeps
 * its bootstrap address. librdkafka 2.0.2 has no API for this: the mock binds
 * 127.0.0.1:0, so this program interposes bind() (see below).
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
#define _GNU_SOURCE /* RTLD_NEXT */

#include <arpa/inet.h>
#include <dlfcn.h>
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

#define MAX_TOPICS 64
#define LINE_MAX_LEN 1024

static volatile sig_atomic_t stop_requested = 0;

/* Fixed listener ports (--port), handed out in order to the mock's binds. */
static int fixed_ports[32];
static int fixed_port_cnt  = 0;
static int fixed_port_next = 0;

/*
 * bind() interposer: the executable's definition wins over libc's for calls
 * made from librdkafka.so. When the mock binds a listener to 127.0.0.1:0 and
 * --port was given, substitute the next fixed port (with SO_REUSEADDR so a
 * restart is not blocked by TIME_WAIT). Every other bind passes through.
 */
static int is_fixed_port(int port) {
        int i;
        for (i = 0; i < fixed_port_cnt; i++)
                if (fixed_ports[i] == port)
                        return 1;
        return 0;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
        static int (*real_bind)(int, const struct sockaddr *, socklen_t);
        if (!real_bind)
                *(void **)(&real_bind) = dlsym(RTLD_NEXT, "bind");
        if (fixed_port_cnt && addr && addr->sa_family == AF_INET &&
            len >= (socklen_t)sizeof(struct sockaddr_in)) {
                struct sockaddr_in sin;
                int one = 1;
                memcpy(&sin, addr, sizeof(sin));
                if (sin.sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
                        if (sin.sin_port == 0 &&
                            fixed_port_next < fixed_port_cnt) {
                                sin.sin_port = htons(
                                    (uint16_t)fixed_ports[fixed_port_next++]);
                                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
                                           sizeof(one));
                                return real_bind(
                                    fd, (const struct sockaddr *)&sin,
                                    sizeof(sin));
                        }
                        /* Re-listen after "up" on a fixed port. */
                        if (is_fixed_port(ntohs(sin.sin_port)))
                                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
                                           sizeof(one));
                }
        }
        return real_bind(fd, addr, len);
}

/* librdkafka 2.0.2 aborts (assertion in its cleanup path) when a mock listener
 * cannot bind, so check the fixed ports first and fail with a clear message. */
static int check_fixed_ports(void) {
        int i;
        for (i = 0; i < fixed_port_cnt; i++) {
                struct sockaddr_in sin;
                int one = 1, rc;
                int fd = socket(AF_INET, SOCK_STREAM, 0);
                if (fd < 0)
                        return -1;
                memset(&sin, 0, sizeof(sin));
                sin.sin_family      = AF_INET;
                sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                sin.sin_port        = htons((uint16_t)fixed_ports[i]);
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                rc = bind(fd, (struct sockaddr *)&sin, sizeof(sin));
                close(fd);
                if (rc) {
                        fprintf(stderr,
                                "devbroker: cannot listen on 127.0.0.1:%d: "
                                "%s\n",
                                fixed_ports[i], strerror(errno));
                        return -1;
                }
        }
        return 0;
}

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
                        if (fixed_port_cnt == 32 ||
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

        if (check_fixed_ports())
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
                fixed_port_next         = 0; /* the same ports again */
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

        reply("BOOTSTRAP %s", rd_kafka_mock_cluster_bootstraps(mc));
        reply("READY");

        while (!quit && !stop_requested) {
                size_t n;
                if (!fgets(line, sizeof(line), stdin))
                        break; /* EOF, error or signal (EINTR) */
                n = strlen(line);
                if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
                        int c;
                        while ((c = getchar()) != EOF && c != '\n')
                                ;
                        reply("ERR line too long");
                        continue;
                }
                while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                        line[--n] = '\0';
                handle_command(mc, (int)broker_cnt, line, &quit);
        }

        fprintf(stderr, "devbroker: shutting down (%s)\n",
                quit ? "quit" : stop_requested ? "signal" : "stdin closed");
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        return 0;
}
