// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * load_gen --target ADDR:PORT --phase SECONDS:RATE [--phase ...]
 *          [--objective-ms 250] [--connect-timeout-ms 1000] [--timeout-ms 5000]
 *          [--max-open 8192] [--arrivals even|poisson] [--seed N] [--out FILE]
 *
 * An open-loop HTTP/1.0 load generator for the adaptive benchmark
 * (bench/adaptive.sh). Requests arrive at RATE per second for SECONDS, phase
 * after phase, whatever happened to the earlier ones: evenly spaced by
 * default (1/RATE apart, so that queueing comes from the server and not
 * from the arrivals), or with --arrivals poisson exponentially distributed
 * gaps (a fixed --seed, default 1). Each request opens a NEW TCP connection
 * (non-blocking connect, one epoll loop), sends "GET /work HTTP/1.0" and
 * reads to EOF. Latency is from the connect() call to EOF.
 *
 * Outcomes:
 *   completed  a whole response (status line, then EOF)
 *   good       completed with a 2xx status within --objective-ms
 *   errors     completed with a 5xx status
 *   refused    not established within --connect-timeout-ms (a limiter that
 *              drops SYNs), or refused outright (RST); closed with SO_LINGER 0.
 *              The kernel retransmits a lost SYN after about 1 s: a timeout
 *              under 1000 ms never sends a second SYN
 *   timeouts   established, no EOF within --timeout-ms (closed with a RST)
 *   skipped    an arrival while --max-open connections were open: not sent,
 *              and the arrival clock never waits
 *   failed     anything else (a reset before any status, no local port)
 *
 * Output: one JSON line per second of the run (outcomes counted in the
 * second they happened), "t" (seconds since start, end of the interval),
 * "ts" (Unix time, end of the interval), "dur", "phase" (the arrival phase
 * at the interval's start), "drain" (true after the last arrival), the
 * counts, and "p50_ms" "p95_ms" "p99_ms" of the latencies of the requests
 * completed with a 2xx status in that second (null when none; the quick
 * 503s of a full queue would hide an overloaded server). Then one line per phase,
 * "summary": true, with the same fields over the requests that ARRIVED in
 * that phase, as rates per second of the phase's length. Bounded: it stops
 * at the sum of the phases plus --timeout-ms.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tool_net.h"

#define MAX_PHASES 64
#define MAX_SOURCES 64
#define NONE (-1)

enum outcome { O_OFFERED, O_SENT, O_COMPLETED, O_GOOD, O_REFUSED, O_ERRORS, O_TIMEOUTS, O_SKIPPED,
	       O_FAILED, O_N };
static const char *const outcome_name[O_N] = { "offered", "sent",     "completed", "good",  "refused",
					       "errors",  "timeouts", "skipped",   "failed" };

struct lat {
	double *v;
	size_t n, cap;
};

struct tally {
	uint64_t c[O_N];
	struct lat lat;
};

struct phase {
	double seconds, rate;
	uint64_t start_ns, end_ns;
	struct tally t;
};

enum cstate { C_FREE, C_CONNECTING, C_READING };

struct conn {
	int fd;
	enum cstate state;
	int phase;
	uint64_t start_ns;
	char head[16];
	int headlen;
	/* Two lists in start order: every open connection, and the ones
	 * still connecting. Their heads carry the next deadlines. */
	int prev, next, cprev, cnext;
};

struct list {
	int head, tail;
};

static struct phase phases[MAX_PHASES];
static int nphases;
static struct conn *conns;
static int *free_stack, nfree;
static struct list open_l = { NONE, NONE }, conn_l = { NONE, NONE };
static int nopen, epfd;
static struct sockaddr_storage target, sources[MAX_SOURCES];
static socklen_t target_len, source_len[MAX_SOURCES];
static int nsources, next_source;
static unsigned int objective_ms = 250, connect_timeout_ms = 1000, timeout_ms = 5000;
static unsigned int max_open = 8192;
static bool poisson;
static struct tally second;
static FILE *out;

static const char request[] = "GET /work HTTP/1.0\r\nHost: gateway\r\n\r\n";

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: load_gen --target ADDR:PORT --phase SECONDS:RATE [--phase ...]\n"
		"                [--objective-ms 250] [--connect-timeout-ms 1000] [--timeout-ms 5000]\n"
		"                [--max-open 8192] [--arrivals even|poisson] [--seed N]\n"
		"                [--source ADDR]... [--out FILE.jsonl]\n");
}

static unsigned long parse_num(const char *opt, const char *s, unsigned long lo, unsigned long hi)
{
	return tool_parse_num("load_gen", opt, s, lo, hi);
}

static void parse_phase(const char *s)
{
	char *end;
	double secs, rate;

	if (nphases == MAX_PHASES) {
		fprintf(stderr, "load_gen: at most %d phases\n", MAX_PHASES);
		exit(2);
	}
	secs = strtod(s, &end);
	if (end == s || *end != ':' || !(secs > 0) || secs > 86400)
		goto bad;
	rate = strtod(end + 1, &end);
	if (*end || !(rate >= 0) || rate > 1e6)
		goto bad;
	phases[nphases].seconds = secs;
	phases[nphases].rate = rate;
	nphases++;
	return;
bad:
	fprintf(stderr, "load_gen: bad --phase '%s' (want SECONDS:RATE, e.g. 8:200)\n", s);
	exit(2);
}

static void lat_add(struct lat *l, double ms)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v) {
			fprintf(stderr, "load_gen: out of memory\n");
			exit(1);
		}
	}
	l->v[l->n++] = ms;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest rank on a sorted array. */
static void print_quantile(const struct lat *l, const char *name, double q)
{
	size_t i;

	if (!l->n) {
		fprintf(out, ",\"%s\":null", name);
		return;
	}
	i = (size_t)ceil(q * (double)l->n);
	i = i ? i - 1 : 0;
	if (i >= l->n)
		i = l->n - 1;
	fprintf(out, ",\"%s\":%.3f", name, l->v[i]);
}

static void print_tally(struct tally *t, double per)
{
	int o;

	for (o = 0; o < O_N; o++) {
		if (per == 1.0)
			fprintf(out, ",\"%s\":%llu", outcome_name[o], (unsigned long long)t->c[o]);
		else
			fprintf(out, ",\"%s\":%.3f", outcome_name[o], (double)t->c[o] / per);
	}
	qsort(t->lat.v, t->lat.n, sizeof(double), cmp_double);
	print_quantile(&t->lat, "p50_ms", 0.50);
	print_quantile(&t->lat, "p95_ms", 0.95);
	print_quantile(&t->lat, "p99_ms", 0.99);
}

/* An outcome counts in this second and in the request's arrival phase. */
static void count(int phase, enum outcome o)
{
	second.c[o]++;
	phases[phase].t.c[o]++;
}

static void list_push(struct list *l, int i, bool connecting)
{
	struct conn *c = &conns[i];

	if (connecting) {
		c->cprev = l->tail;
		c->cnext = NONE;
		if (l->tail != NONE)
			conns[l->tail].cnext = i;
		else
			l->head = i;
	} else {
		c->prev = l->tail;
		c->next = NONE;
		if (l->tail != NONE)
			conns[l->tail].next = i;
		else
			l->head = i;
	}
	l->tail = i;
}

static void list_del(struct list *l, int i, bool connecting)
{
	struct conn *c = &conns[i];
	int p = connecting ? c->cprev : c->prev, n = connecting ? c->cnext : c->next;

	if (p != NONE) {
		if (connecting)
			conns[p].cnext = n;
		else
			conns[p].next = n;
	} else {
		l->head = n;
	}
	if (n != NONE) {
		if (connecting)
			conns[n].cprev = p;
		else
			conns[n].prev = p;
	} else {
		l->tail = p;
	}
}

/* reset: close with SO_LINGER 0 (a RST, or nothing for a SYN not answered). */
static void conn_close(int i, bool reset)
{
	struct conn *c = &conns[i];

	if (reset) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->fd);
	if (c->state == C_CONNECTING)
		list_del(&conn_l, i, true);
	list_del(&open_l, i, false);
	c->state = C_FREE;
	c->fd = -1;
	free_stack[nfree++] = i;
	nopen--;
}

static void arrival(int phase)
{
	struct epoll_event ev = { .events = EPOLLOUT };
	struct conn *c;
	int fd, i, one = 1;

	count(phase, O_OFFERED);
	if (!nfree) {
		count(phase, O_SKIPPED);
		return;
	}
	fd = socket(target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		count(phase, O_FAILED);
		return;
	}
	if (nsources) {
		int s = next_source++ % nsources;

		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&sources[s], source_len[s])) {
			close(fd);
			count(phase, O_FAILED);
			return;
		}
	}
	i = free_stack[--nfree];
	c = &conns[i];
	c->fd = fd;
	c->phase = phase;
	c->headlen = 0;
	c->start_ns = now_ns();
	c->state = C_CONNECTING;
	nopen++;
	list_push(&open_l, i, false);
	list_push(&conn_l, i, true);
	count(phase, O_SENT);
	if (connect(fd, (struct sockaddr *)&target, target_len) && errno != EINPROGRESS) {
		count(phase, errno == ECONNREFUSED ? O_REFUSED : O_FAILED);
		conn_close(i, true);
		return;
	}
	ev.data.u32 = (uint32_t)i;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
		count(phase, O_FAILED);
		conn_close(i, true);
	}
}

static void on_connected(int i)
{
	struct conn *c = &conns[i];
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		count(c->phase, err == ECONNREFUSED || err == ETIMEDOUT || err == EHOSTUNREACH ||
					err == ENETUNREACH ?
				      O_REFUSED :
				      O_FAILED);
		conn_close(i, true);
		return;
	}
	list_del(&conn_l, i, true);
	c->state = C_READING;
	ev.data.u32 = (uint32_t)i;
	if (send(c->fd, request, sizeof(request) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(request) - 1 ||
	    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev)) {
		count(c->phase, O_FAILED);
		conn_close(i, true);
	}
}

/* A response is complete at EOF (or at a reset after its status line:
 * a server that closes without reading all of the request resets). */
static void complete(int i, uint64_t t)
{
	struct conn *c = &conns[i];
	double ms = (double)(t - c->start_ns) / 1e6;
	int code = 0;

	c->head[c->headlen] = 0;
	if (c->headlen < 12 || strncmp(c->head, "HTTP/1.", 7) ||
	    sscanf(c->head + 9, "%3d", &code) != 1) {
		count(c->phase, O_FAILED);
		conn_close(i, true);
		return;
	}
	count(c->phase, O_COMPLETED);
	/* Quantiles of successes only: a full queue's 503 comes back at once
	 * and would make an overloaded server look fast. */
	if (code >= 200 && code < 300) {
		lat_add(&second.lat, ms);
		lat_add(&phases[c->phase].t.lat, ms);
	}
	if (code >= 500)
		count(c->phase, O_ERRORS);
	else if (code >= 200 && code < 300 && ms <= objective_ms)
		count(c->phase, O_GOOD);
	conn_close(i, false);
}

static void on_readable(int i)
{
	struct conn *c = &conns[i];
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n > 0) {
			int take = (int)sizeof(c->head) - 1 - c->headlen;

			if (take > n)
				take = (int)n;
			if (take > 0) {
				memcpy(c->head + c->headlen, buf, (size_t)take);
				c->headlen += take;
			}
			continue;
		}
		if (n == 0) {
			complete(i, now_ns());
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (c->headlen >= 12) {
			complete(i, now_ns());
			return;
		}
		count(c->phase, O_FAILED);
		conn_close(i, true);
		return;
	}
}

static double next_gap(double rate)
{
	if (!poisson)
		return 1.0 / rate;
	return -log(1.0 - drand48()) / rate;
}

/* The time of the next arrival: arrival k of a phase comes at its start
 * plus the sum of the k gaps before it; a phase at rate 0 has none. */
static uint64_t advance(int *ph, double *off)
{
	uint64_t at;

	for (; *ph < nphases; (*ph)++, *off = 0) {
		if (!(phases[*ph].rate > 0))
			continue;
		at = phases[*ph].start_ns + (uint64_t)(*off * 1e9);
		if (at < phases[*ph].end_ns)
			return at;
	}
	return UINT64_MAX;
}

int main(int argc, char **argv)
{
	struct epoll_event evs[1024];
	const char *out_path = NULL;
	uint64_t t0, t, end_ns, stop_ns, next_tick, next_arrival, wait, d;
	uint64_t ct_ns, to_ns;
	double arrival_off;
	long seed = 1;
	int i, n, ph, tick = 0;
	bool have_target = false;

	for (i = 1; i < argc; i++) {
		const char *o = argv[i];

		if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			usage(stdout);
			return 0;
		}
		if (i + 1 >= argc) {
			usage(stderr);
			return 2;
		}
		if (!strcmp(o, "--target")) {
			target_len = tool_parse_hostport("load_gen", "--target", argv[++i], &target);
			have_target = true;
		} else if (!strcmp(o, "--phase")) {
			parse_phase(argv[++i]);
		} else if (!strcmp(o, "--objective-ms")) {
			objective_ms = (unsigned int)parse_num(o, argv[++i], 1, 3600000);
		} else if (!strcmp(o, "--connect-timeout-ms")) {
			connect_timeout_ms = (unsigned int)parse_num(o, argv[++i], 1, 600000);
		} else if (!strcmp(o, "--timeout-ms")) {
			timeout_ms = (unsigned int)parse_num(o, argv[++i], 1, 600000);
		} else if (!strcmp(o, "--max-open")) {
			max_open = (unsigned int)parse_num(o, argv[++i], 1, 1000000);
		} else if (!strcmp(o, "--seed")) {
			seed = (long)parse_num(o, argv[++i], 0, 0x7fffffff);
		} else if (!strcmp(o, "--out")) {
			out_path = argv[++i];
		} else if (!strcmp(o, "--arrivals")) {
			i++;
			if (!strcmp(argv[i], "poisson"))
				poisson = true;
			else if (strcmp(argv[i], "even")) {
				fprintf(stderr, "load_gen: bad --arrivals '%s' (even|poisson)\n",
					argv[i]);
				return 2;
			}
		} else if (!strcmp(o, "--source")) {
			if (nsources == MAX_SOURCES ||
			    !(source_len[nsources] = tool_addr_parse(argv[++i], 0, &sources[nsources]))) {
				fprintf(stderr, "load_gen: bad --source '%s' (an address, at most %d)\n",
					argv[i], MAX_SOURCES);
				return 2;
			}
			nsources++;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!have_target || !nphases) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < nsources; i++)
		if (sources[i].ss_family != target.ss_family) {
			fprintf(stderr, "load_gen: --source and --target differ in family\n");
			return 2;
		}
	out = stdout;
	if (out_path && !(out = fopen(out_path, "w"))) {
		fprintf(stderr, "load_gen: cannot write %s: %s\n", out_path, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	srand48(seed);
	tool_raise_nofile("load_gen", max_open + 64);
	conns = calloc(max_open, sizeof(*conns));
	free_stack = calloc(max_open, sizeof(*free_stack));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!conns || !free_stack || epfd < 0) {
		fprintf(stderr, "load_gen: cannot set up: %s\n", strerror(errno));
		return 1;
	}
	for (i = (int)max_open - 1; i >= 0; i--) {
		conns[i].fd = -1;
		free_stack[nfree++] = i;
	}
	ct_ns = (uint64_t)connect_timeout_ms * 1000000ull;
	to_ns = (uint64_t)timeout_ms * 1000000ull;

	t0 = now_ns();
	t = t0;
	for (i = 0; i < nphases; i++) {
		phases[i].start_ns = t;
		t += (uint64_t)(phases[i].seconds * 1e9);
		phases[i].end_ns = t;
	}
	end_ns = t;
	stop_ns = end_ns + to_ns;
	next_tick = t0 + 1000000000ull;
	ph = 0;
	arrival_off = 0;
	next_arrival = advance(&ph, &arrival_off);
	for (;;) {
		t = now_ns();
		while (t >= next_tick || (t >= end_ns && !nopen) || t >= stop_ns) {
			uint64_t stop = next_tick < t ? next_tick : t;
			uint64_t from = t0 + (uint64_t)tick * 1000000000ull;
			int cur = 0;

			while (cur < nphases - 1 && from >= phases[cur].end_ns)
				cur++;
			tick++;
			fprintf(out, "{\"t\":%.3f,\"ts\":%.3f,\"dur\":%.3f,\"phase\":%d,\"drain\":%s",
				(double)(stop - t0) / 1e9, wall_s() - (double)(t - stop) / 1e9,
				(double)(stop - from) / 1e9, cur, from >= end_ns ? "true" : "false");
			print_tally(&second, 1.0);
			fprintf(out, "}\n");
			fflush(out);
			second.lat.n = 0;
			memset(second.c, 0, sizeof(second.c));
			if (stop < next_tick)
				goto done;
			next_tick += 1000000000ull;
		}
		/* Arrivals after the second's line: one due at its end is the next's. */
		while (ph < nphases && next_arrival <= t) {
			arrival(ph);
			arrival_off += next_gap(phases[ph].rate);
			next_arrival = advance(&ph, &arrival_off);
		}
		t = now_ns();
		while (conn_l.head != NONE && conns[conn_l.head].start_ns + ct_ns <= t) {
			count(conns[conn_l.head].phase, O_REFUSED);
			conn_close(conn_l.head, true);
		}
		while (open_l.head != NONE && conns[open_l.head].start_ns + to_ns <= t) {
			count(conns[open_l.head].phase, O_TIMEOUTS);
			conn_close(open_l.head, true);
		}
		wait = next_tick;
		if (next_arrival < wait)
			wait = next_arrival;
		if (conn_l.head != NONE && conns[conn_l.head].start_ns + ct_ns < wait)
			wait = conns[conn_l.head].start_ns + ct_ns;
		if (open_l.head != NONE && conns[open_l.head].start_ns + to_ns < wait)
			wait = conns[open_l.head].start_ns + to_ns;
		if (ph >= nphases && end_ns < wait)
			wait = end_ns;
		if (stop_ns < wait)
			wait = stop_ns;
		t = now_ns();
		d = wait > t ? wait - t : 0;
		{
			struct timespec ts = { .tv_sec = (time_t)(d / 1000000000ull),
					       .tv_nsec = (long)(d % 1000000000ull) };

			n = epoll_pwait2(epfd, evs, 1024, &ts, NULL);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "load_gen: epoll: %s\n", strerror(errno));
			return 1;
		}
		for (i = 0; i < n; i++) {
			int c = (int)evs[i].data.u32;

			if (conns[c].state == C_CONNECTING)
				on_connected(c);
			else if (conns[c].state == C_READING)
				on_readable(c);
		}
	}
done:
	/* Whatever is still open at the bound ran out of time. */
	while (open_l.head != NONE) {
		count(conns[open_l.head].phase,
		      conns[open_l.head].state == C_CONNECTING ? O_REFUSED : O_TIMEOUTS);
		conn_close(open_l.head, true);
	}
	for (i = 0; i < nphases; i++) {
		fprintf(out, "{\"summary\":true,\"phase\":%d,\"seconds\":%.3f,\"rate\":%.3f", i,
			phases[i].seconds, phases[i].rate);
		print_tally(&phases[i].t, phases[i].seconds);
		fprintf(out, "}\n");
	}
	if (fclose(out)) {
		fprintf(stderr, "load_gen: write: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
