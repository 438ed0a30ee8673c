// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * test_gateway --listen ADDR:PORT --workers N --service-ms MS [--queue Q]
 *              [--backlog B] [--admin ADDR:PORT] [--accept-queue]
 *
 * A small HTTP/1.0 server whose latency grows with load, for the adaptive
 * benchmark (bench/adaptive.sh). One acceptor thread accepts on the service
 * port (listen backlog B, default 1024) and pushes each connection into a
 * bounded FIFO of Q (default 4096); when the FIFO is full it answers 503 at
 * once and closes. N worker threads each take the oldest connection, read
 * the request line, sleep until MS after they took it (a fixed cost per
 * request with a fixed pool: capacity N * 1000 / MS requests/s, and latency
 * grows with the queue; a worker busy back to back counts MS from the end
 * of its previous request, so that the capacity is exact under load),
 * answer "HTTP/1.0 200 OK" with a short body and close: the server closes
 * first, so the clients keep no TIME_WAIT.
 *
 * --accept-queue: no acceptor and no FIFO; each worker accepts its next
 * connection itself when it is free (the classic pre-fork pool), so the
 * queue is the kernel's accept queue (backlog B; past it the kernel drops
 * SYNs and counts ListenOverflows), which ratewall reads through INET_DIAG,
 * and the histogram (from accept()) holds no queueing at all.
 *
 * The admin listener (its own thread and port, never behind the workers):
 *   GET /healthz  200 "ok", or 503 "unhealthy" while unhealthy
 *   GET /metrics  Prometheus text: gw_request_duration_seconds, a histogram
 *                 of the time from accept() to the response written, of the
 *                 requests the workers served (the FIFO's immediate 503s
 *                 are only counted, in gw_requests_total{code="503"});
 *                 gw_requests_total{code="200"|"503"}; gw_queue_length;
 *                 gw_workers_busy; gw_capacity_requests_per_second.
 *
 * Signals (taken by sigwaitinfo in the main thread, never in a handler):
 * SIGUSR1 toggles unhealthy, SIGUSR2 toggles slow mode (service time
 * doubles, capacity halves), each with one line on stderr; SIGTERM and
 * SIGINT exit 0. "ready" goes to stdout (flushed) once both listeners
 * listen.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tool_net.h"

/* A worker that takes its next request within this of its last one's end
 * starts the service time at that end. */
#define CARRY_NS 2000000ull
#define NBUCKETS 18
static const double bucket_le[NBUCKETS] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3,
					    0.4,   0.5,	 0.75,	1,     1.5, 2,	  3,	5,   10 };

struct item {
	int fd;
	uint64_t accepted_ns;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	struct item *ring;
	unsigned int cap, head, len;
} fifo = { .lock = PTHREAD_MUTEX_INITIALIZER, .nonempty = PTHREAD_COND_INITIALIZER };

static struct {
	pthread_mutex_t lock;
	uint64_t bucket[NBUCKETS]; /* not cumulative; summed when printed */
	uint64_t count;
	double sum;
	uint64_t ok, unavailable;
} stats = { .lock = PTHREAD_MUTEX_INITIALIZER };

static atomic_int unhealthy, slow;
static bool accept_in_workers;
static atomic_int busy;
static unsigned int workers, service_ms;
static int svc_fd, admin_fd;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: test_gateway --listen ADDR:PORT --workers N --service-ms MS [--queue Q]\n"
		   "                    [--backlog B] [--admin ADDR:PORT] [--accept-queue]\n");
}

static unsigned long parse_num(const char *opt, const char *s, unsigned long lo, unsigned long hi)
{
	return tool_parse_num("test_gateway", opt, s, lo, hi);
}

static int open_listener(const char *opt, const char *spec, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len = tool_parse_hostport("test_gateway", opt, spec, &ss);
	int one = 1;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, backlog)) {
		fprintf(stderr, "test_gateway: cannot listen on %s: %s\n", spec, strerror(errno));
		exit(1);
	}
	return fd;
}

/* A short timeout on both directions: a silent or stuck client must not
 * hold a worker (or the admin thread) for long. */
static void set_timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Reads until the end of the headers (or of the request line, for a
 * client that sends only that), into buf; the length, or -1. */
static ssize_t read_request(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size - 1) {
		n = recv(fd, buf + got, size - 1 - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return got ? (ssize_t)got : -1;
		got += (size_t)n;
		buf[got] = 0;
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			break;
	}
	buf[got] = 0;
	return (ssize_t)got;
}

static void send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void respond(int fd, int code, const char *reason, const char *ctype, const char *body)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 code, reason, ctype, strlen(body));

	send_all(fd, head, (size_t)n);
	send_all(fd, body, strlen(body));
}

/* Sleeps until start + ms on CLOCK_MONOTONIC: the service time holds
 * whatever reading the request took, and oversleeping does not add up. */
static void sleep_until(uint64_t start, unsigned int ms)
{
	uint64_t at = start + (uint64_t)ms * 1000000ull;
	struct timespec ts = { .tv_sec = (time_t)(at / 1000000000ull),
			       .tv_nsec = (long)(at % 1000000000ull) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void *acceptor(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept4(svc_fd, NULL, NULL, SOCK_CLOEXEC);
		bool full;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
			    errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				if (errno == EMFILE || errno == ENFILE)
					sleep_ms(1);
				continue;
			}
			fprintf(stderr, "test_gateway: accept: %s\n", strerror(errno));
			exit(1);
		}
		pthread_mutex_lock(&fifo.lock);
		full = fifo.len == fifo.cap;
		if (!full) {
			fifo.ring[(fifo.head + fifo.len) % fifo.cap] =
				(struct item){ .fd = fd, .accepted_ns = now_ns() };
			fifo.len++;
			pthread_cond_signal(&fifo.nonempty);
		}
		pthread_mutex_unlock(&fifo.lock);
		if (full) {
			/* Never block the acceptor on a slow client. */
			static const char busy503[] = "HTTP/1.0 503 Service Unavailable\r\n"
						      "Content-Length: 5\r\nConnection: close\r\n\r\n"
						      "busy\n";
			(void)!send(fd, busy503, sizeof(busy503) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			pthread_mutex_lock(&stats.lock);
			stats.unavailable++;
			pthread_mutex_unlock(&stats.lock);
		}
	}
	return NULL;
}

static void *worker(void *arg)
{
	char buf[2048];
	struct item it;
	uint64_t picked, last_end = 0;
	unsigned int svc;
	double secs;
	int b;

	(void)arg;
	for (;;) {
		if (accept_in_workers) {
			it.fd = accept4(svc_fd, NULL, NULL, SOCK_CLOEXEC);
			if (it.fd < 0) {
				if (errno != EINTR && errno != ECONNABORTED)
					fprintf(stderr, "test_gateway: accept: %s\n", strerror(errno));
				continue;
			}
			it.accepted_ns = now_ns();
		} else {
			pthread_mutex_lock(&fifo.lock);
			while (!fifo.len)
				pthread_cond_wait(&fifo.nonempty, &fifo.lock);
			it = fifo.ring[fifo.head];
			fifo.head = (fifo.head + 1) % fifo.cap;
			fifo.len--;
			pthread_mutex_unlock(&fifo.lock);
		}

		atomic_fetch_add(&busy, 1);
		picked = now_ns();
		/* Back to back, the service time runs from the previous one's
		 * end, not from the pick: the few tens of us between (answer,
		 * close, wake-up) would otherwise cost ~1 % of the capacity. */
		if (picked - last_end < CARRY_NS)
			picked = last_end;
		set_timeouts(it.fd, 1000);
		if (read_request(it.fd, buf, sizeof(buf)) > 0) {
			svc = atomic_load(&slow) ? 2 * service_ms : service_ms;
			sleep_until(picked, svc);
			last_end = picked + (uint64_t)svc * 1000000ull;
			respond(it.fd, 200, "OK", "text/plain", "ok\n");
			secs = (double)(now_ns() - it.accepted_ns) / 1e9;
			for (b = 0; b < NBUCKETS && secs > bucket_le[b]; b++)
				;
			pthread_mutex_lock(&stats.lock);
			if (b < NBUCKETS)
				stats.bucket[b]++;
			stats.count++;
			stats.sum += secs;
			stats.ok++;
			pthread_mutex_unlock(&stats.lock);
		}
		close(it.fd);
		atomic_fetch_sub(&busy, 1);
	}
	return NULL;
}

static void metrics_text(char *out, size_t size)
{
	uint64_t bucket[NBUCKETS], count, ok, unavailable, cum = 0;
	unsigned int qlen, svc;
	double sum;
	size_t n = 0;
	int b;

	pthread_mutex_lock(&stats.lock);
	memcpy(bucket, stats.bucket, sizeof(bucket));
	count = stats.count;
	sum = stats.sum;
	ok = stats.ok;
	unavailable = stats.unavailable;
	pthread_mutex_unlock(&stats.lock);
	pthread_mutex_lock(&fifo.lock);
	qlen = fifo.len;
	pthread_mutex_unlock(&fifo.lock);
	svc = atomic_load(&slow) ? 2 * service_ms : service_ms;

#define OUT(...) n += (size_t)snprintf(out + n, n < size ? size - n : 0, __VA_ARGS__)
	OUT("# HELP gw_request_duration_seconds Time from accept() to the response written, "
	    "requests served by the workers.\n"
	    "# TYPE gw_request_duration_seconds histogram\n");
	for (b = 0; b < NBUCKETS; b++) {
		cum += bucket[b];
		OUT("gw_request_duration_seconds_bucket{le=\"%g\"} %llu\n", bucket_le[b],
		    (unsigned long long)cum);
	}
	OUT("gw_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)count);
	OUT("gw_request_duration_seconds_sum %.6f\n", sum);
	OUT("gw_request_duration_seconds_count %llu\n", (unsigned long long)count);
	OUT("# HELP gw_requests_total Requests answered, by status code.\n"
	    "# TYPE gw_requests_total counter\n"
	    "gw_requests_total{code=\"200\"} %llu\n"
	    "gw_requests_total{code=\"503\"} %llu\n",
	    (unsigned long long)ok, (unsigned long long)unavailable);
	OUT("# HELP gw_queue_length Accepted connections waiting for a worker.\n"
	    "# TYPE gw_queue_length gauge\n"
	    "gw_queue_length %u\n",
	    qlen);
	OUT("# HELP gw_workers_busy Workers serving a request now.\n"
	    "# TYPE gw_workers_busy gauge\n"
	    "gw_workers_busy %d\n",
	    atomic_load(&busy));
	OUT("# HELP gw_capacity_requests_per_second Workers * 1000 / service time (ms).\n"
	    "# TYPE gw_capacity_requests_per_second gauge\n"
	    "gw_capacity_requests_per_second %g\n",
	    (double)workers * 1000.0 / svc);
#undef OUT
}

static void *admin(void *arg)
{
	static char body[8192];
	char req[2048];
	int fd;

	(void)arg;
	for (;;) {
		fd = accept4(admin_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				sleep_ms(10);
			continue;
		}
		set_timeouts(fd, 500);
		if (read_request(fd, req, sizeof(req)) > 0) {
			if (!strncmp(req, "GET /healthz ", 13) || !strncmp(req, "GET /healthz?", 13)) {
				if (atomic_load(&unhealthy))
					respond(fd, 503, "Service Unavailable", "text/plain",
						"unhealthy\n");
				else
					respond(fd, 200, "OK", "text/plain", "ok\n");
			} else if (!strncmp(req, "GET /metrics ", 13) ||
				   !strncmp(req, "GET /metrics?", 13)) {
				metrics_text(body, sizeof(body));
				respond(fd, 200, "OK", "text/plain; version=0.0.4", body);
			} else {
				respond(fd, 404, "Not Found", "text/plain", "not found\n");
			}
		}
		close(fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *listen_spec = NULL, *admin_spec = NULL;
	unsigned long queue = 4096, backlog = 1024;
	pthread_t t;
	sigset_t set;
	siginfo_t si;
	int i, sig, on;

	for (i = 1; i < argc; i++) {
		const char *o = argv[i];

		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(o, "--accept-queue")) {
			accept_in_workers = true;
			continue;
		}
		if (i + 1 >= argc) {
			usage(stderr);
			return 2;
		}
		if (!strcmp(o, "--listen"))
			listen_spec = argv[++i];
		else if (!strcmp(o, "--admin"))
			admin_spec = argv[++i];
		else if (!strcmp(o, "--workers"))
			workers = (unsigned int)parse_num(o, argv[++i], 1, 4096);
		else if (!strcmp(o, "--service-ms"))
			service_ms = (unsigned int)parse_num(o, argv[++i], 1, 60000);
		else if (!strcmp(o, "--queue"))
			queue = parse_num(o, argv[++i], 1, 1u << 20);
		else if (!strcmp(o, "--backlog"))
			backlog = parse_num(o, argv[++i], 1, 65535);
		else {
			usage(stderr);
			return 2;
		}
	}
	if (!listen_spec || !workers || !service_ms) {
		usage(stderr);
		return 2;
	}
	/* The default 50 us of timer slack would stretch every service time. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	tool_raise_nofile("test_gateway", queue + backlog + workers + 64);

	/* Every thread inherits the mask: the signals wait for sigwaitinfo. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	fifo.cap = (unsigned int)queue;
	fifo.ring = calloc(queue, sizeof(*fifo.ring));
	if (!fifo.ring) {
		fprintf(stderr, "test_gateway: out of memory\n");
		return 1;
	}
	svc_fd = open_listener("--listen", listen_spec, (int)backlog);
	if (admin_spec)
		admin_fd = open_listener("--admin", admin_spec, 128);

	if (!accept_in_workers && pthread_create(&t, NULL, acceptor, NULL))
		goto thread_fail;
	for (i = 0; i < (int)workers; i++)
		if (pthread_create(&t, NULL, worker, NULL))
			goto thread_fail;
	if (admin_spec && pthread_create(&t, NULL, admin, NULL))
		goto thread_fail;
	fprintf(stderr, "test_gateway: %u workers x %u ms: capacity %.1f requests/s, queue %lu\n",
		workers, service_ms, workers * 1000.0 / service_ms, queue);
	printf("ready\n");
	fflush(stdout);

	for (;;) {
		sig = sigwaitinfo(&set, &si);
		if (sig < 0)
			continue;
		switch (sig) {
		case SIGUSR1:
			on = !atomic_fetch_xor(&unhealthy, 1);
			fprintf(stderr, "test_gateway: health %s\n", on ? "unhealthy" : "ok");
			break;
		case SIGUSR2:
			on = !atomic_fetch_xor(&slow, 1);
			fprintf(stderr, "test_gateway: slow mode %s: service %u ms, capacity %.1f/s\n",
				on ? "on" : "off", on ? 2 * service_ms : service_ms,
				workers * 1000.0 / (on ? 2 * service_ms : service_ms));
			break;
		case SIGTERM:
		case SIGINT:
			fflush(stdout);
			_exit(0);
		default:
			break;
		}
	}
thread_fail:
	fprintf(stderr, "test_gateway: cannot start a thread\n");
	return 1;
}
