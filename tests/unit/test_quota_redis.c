// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The shared store's client and script against real redis-servers the test
 * starts itself: each in a directory of its own, listening on a unix socket
 * only (port 0), killed by its PID and its directory removed at the end,
 * also when a test fails (group teardown, atexit, and PR_SET_PDEATHSIG
 * should the test die). The replica, failover and Cluster cases need TCP:
 * they run on 127.0.0.1 inside a network namespace of the test's own, and
 * are skipped where one cannot be made (not root).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <hiredis/hiredis.h>
#include <cmocka.h>

#include "private_netns.h"
#include "quota_redis.h"

#define PREFIX "rwtest:"
#define BUCKET "class/api/syn"
#define EPS 1e-3
/* a sum of grants may only exceed the rate by rounding */
#define SUM_EPS 1e-6

#define assert_near(a, b, eps)                                                           \
	do {                                                                             \
		double a_ = (a), b_ = (b);                                               \
		if (!(fabs(a_ - b_) <= (eps)))                                           \
			fail_msg("%s is %.9g, want %.9g", #a, a_, b_);                   \
	} while (0)

#define assert_contains(s, part)                                                         \
	do {                                                                             \
		if (!strstr((s), (part)))                                                \
			fail_msg("\"%s\" does not mention \"%s\"", (s), (part));         \
	} while (0)

struct redis_proc {
	pid_t pid;
	char dir[64];
	char sock[96];
};

#define PROCS_MAX 8
static struct redis_proc procs[PROCS_MAX];
static struct redis_proc *shared; /* the one most tests use, by fleet name */

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void remove_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(dir);
}

static void redis_stop(struct redis_proc *p)
{
	if (p->pid > 0) {
		/* SIGKILL also ends a server the test stopped */
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
		p->pid = 0;
	}
	if (p->dir[0]) {
		remove_dir(p->dir);
		p->dir[0] = '\0';
	}
}

static void redis_stop_all(void)
{
	for (int i = 0; i < PROCS_MAX; i++)
		redis_stop(&procs[i]);
}

static void print_log(const struct redis_proc *p)
{
	char path[PATH_MAX], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/redis.log", p->dir);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "redis-server: %s", line);
	fclose(f);
}

/*
 * A redis-server on DIR/redis.sock (and on 127.0.0.1:tcp_port when that is
 * not 0), with the extra arguments given, NULL-terminated; answering when
 * it returns, or NULL said on stderr.
 */
static struct redis_proc *redis_start(unsigned int tcp_port, ...)
{
	const char *argv[64];
	char port[16];
	struct redis_proc *p = NULL;
	int argc = 0;
	uint64_t deadline;
	va_list ap;

	for (int i = 0; i < PROCS_MAX && !p; i++)
		if (!procs[i].pid && !procs[i].dir[0])
			p = &procs[i];
	if (!p) {
		fprintf(stderr, "too many redis-servers\n");
		return NULL;
	}
	snprintf(p->dir, sizeof(p->dir), "/tmp/rw-quota-XXXXXX");
	if (!mkdtemp(p->dir)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		p->dir[0] = '\0';
		return NULL;
	}
	snprintf(p->sock, sizeof(p->sock), "%s/redis.sock", p->dir);
	snprintf(port, sizeof(port), "%u", tcp_port);
	argv[argc++] = "redis-server";
	argv[argc++] = "--port";
	argv[argc++] = port;
	if (tcp_port) {
		argv[argc++] = "--bind";
		argv[argc++] = "127.0.0.1";
	}
	argv[argc++] = "--unixsocket";
	argv[argc++] = p->sock;
	argv[argc++] = "--unixsocketperm";
	argv[argc++] = "700";
	argv[argc++] = "--save";
	argv[argc++] = "";
	argv[argc++] = "--appendonly";
	argv[argc++] = "no";
	argv[argc++] = "--daemonize";
	argv[argc++] = "no";
	argv[argc++] = "--dir";
	argv[argc++] = p->dir;
	va_start(ap, tcp_port);
	for (const char *a; (a = va_arg(ap, const char *)) && argc < 63;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;

	p->pid = fork();
	if (p->pid < 0) {
		fprintf(stderr, "fork: %s\n", strerror(errno));
		p->pid = 0;
		redis_stop(p);
		return NULL;
	}
	if (p->pid == 0) {
		char log[PATH_MAX];
		int fd;

		/* dies with the test, however the test ends */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		snprintf(log, sizeof(log), "%s/redis.log", p->dir);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "cannot run redis-server: %s\n", strerror(errno));
		_exit(127);
	}

	deadline = ms_now() + 5000;
	while (ms_now() < deadline) {
		struct timeval tv = { .tv_usec = 200000 };
		redisContext *ctx;
		redisReply *r = NULL;

		if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
			p->pid = 0;
			fprintf(stderr, "redis-server exited at start\n");
			print_log(p);
			redis_stop(p);
			return NULL;
		}
		ctx = redisConnectUnixWithTimeout(p->sock, tv);
		if (ctx && !ctx->err && redisSetTimeout(ctx, tv) == REDIS_OK)
			r = redisCommand(ctx, "PING");
		if (ctx)
			redisFree(ctx);
		/* any answer will do: with requirepass it is NOAUTH */
		if (r) {
			freeReplyObject(r);
			return p;
		}
		sleep_ms(10);
	}
	fprintf(stderr, "redis-server on %s does not answer within 5 s\n", p->sock);
	print_log(p);
	redis_stop(p);
	return NULL;
}

/* A direct connection for looking at what the script stored. */
static redisContext *peek(const struct redis_proc *p)
{
	struct timeval tv = { .tv_sec = 2 };
	redisContext *ctx = redisConnectUnixWithTimeout(p->sock, tv);

	if (!ctx || ctx->err)
		fail_msg("cannot connect to %s: %s", p->sock, ctx ? ctx->errstr : "out of memory");
	redisSetTimeout(ctx, tv);
	return ctx;
}

static redisReply *peek_cmd(const struct redis_proc *p, const char *fmt, ...)
{
	redisContext *ctx = peek(p);
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(ctx, fmt, ap);
	va_end(ap);
	if (!r)
		fail_msg("redis: %s", ctx->errstr);
	redisFree(ctx);
	return r;
}

static long long peek_int(const struct redis_proc *p, const char *fmt, ...)
{
	redisContext *ctx = peek(p);
	redisReply *r;
	long long v;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(ctx, fmt, ap);
	va_end(ap);
	if (!r || r->type != REDIS_REPLY_INTEGER)
		fail_msg("%s: not an integer answer", fmt);
	v = r->integer;
	freeReplyObject(r);
	redisFree(ctx);
	return v;
}

static void key_of(char *out, size_t len, const char *fleet, const char *bucket)
{
	snprintf(out, len, PREFIX "{%s}:bucket:%s", fleet, bucket);
}

/* The sum of the grants stored in a bucket's hash, read back as text. */
static double stored_sum(const struct redis_proc *p, const char *fleet)
{
	char key[256];
	redisReply *r;
	double sum = 0;

	key_of(key, sizeof(key), fleet, BUCKET);
	r = peek_cmd(p, "HGETALL %s", key);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	for (size_t i = 0; i + 1 < r->elements; i += 2)
		if (!strncmp(r->element[i]->str, "m:", 2)) {
			char *end;
			double g = strtod(r->element[i + 1]->str, &end);

			assert_true(end != r->element[i + 1]->str && *end == ' ');
			sum += g;
		}
	freeReplyObject(r);
	return sum;
}

static bool has_record(const struct redis_proc *p, const char *fleet, const char *member)
{
	char key[256];

	key_of(key, sizeof(key), fleet, BUCKET);
	return peek_int(p, "HEXISTS %s m:%s", key, member) == 1;
}

static bool is_member(const struct redis_proc *p, const char *fleet, const char *member)
{
	redisReply *r = peek_cmd(p, "ZSCORE " PREFIX "{%s}:members %s", fleet, member);
	bool there = r->type == REDIS_REPLY_STRING;

	freeReplyObject(r);
	return there;
}

static void unix_config(struct quota_redis_config *cfg, const char *sock, const char *fleet,
			const char *member, uint32_t ttl_ms)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->servers[0].unix_path, sizeof(cfg->servers[0].unix_path), "%s", sock);
	cfg->n_servers = 1;
	snprintf(cfg->prefix, sizeof(cfg->prefix), PREFIX);
	snprintf(cfg->fleet, sizeof(cfg->fleet), "%s", fleet);
	snprintf(cfg->member, sizeof(cfg->member), "%s", member);
	cfg->timeout_ms = 1000;
	cfg->ttl_ms = ttl_ms;
}

static void tcp_server(struct quota_server *s, uint16_t port)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->host, sizeof(s->host), "127.0.0.1");
	s->port = port;
}

static void one_bucket(struct quota_batch *b, double rate, double burst, double demand,
		       uint64_t admitted)
{
	memset(b, 0, sizeof(*b));
	b->n = 1;
	snprintf(b->req[0].name, sizeof(b->req[0].name), BUCKET);
	b->req[0].rate = rate;
	b->req[0].burst = burst;
	b->req[0].demand = demand;
	b->req[0].admitted = admitted;
}

/* A gateway of the test: its connection, configuration and last batch. */
struct gw {
	struct quota_conn *conn;
	struct quota_redis_config cfg;
	struct quota_batch b;
};

static void gw_init(struct gw *g, const struct redis_proc *p, const char *fleet,
		    const char *member, uint32_t ttl_ms)
{
	g->conn = quota_conn_new();
	assert_non_null(g->conn);
	unix_config(&g->cfg, p->sock, fleet, member, ttl_ms);
}

/* One sync that must answer; the grant of its only bucket. */
static double gw_sync(struct gw *g, double rate, double burst, double demand)
{
	one_bucket(&g->b, rate, burst, demand, 0);
	if (quota_conn_sync(g->conn, &g->cfg, &g->b))
		fail_msg("%s: sync: %s", g->cfg.member, g->b.error);
	assert_int_equal(g->b.err, 0);
	assert_string_equal(g->b.error, "");
	assert_true(g->b.finished_ns >= g->b.started_ns);
	/* the burst's share follows the rate's */
	assert_near(g->b.grant[0].burst, burst * g->b.grant[0].rate / rate, 1e-9);
	return g->b.grant[0].rate;
}

static void gw_free(struct gw *g)
{
	quota_conn_free(g->conn);
	g->conn = NULL;
}

static void test_single_member(void **state)
{
	struct gw a;

	(void)state;
	gw_init(&a, shared, "single", "gw-a", 1000);
	one_bucket(&a.b, 1000, 100, 300, 5);
	assert_int_equal(quota_conn_sync(a.conn, &a.cfg, &a.b), 0);
	/* alone, it gets what it asks for and all the spare */
	assert_near(a.b.grant[0].rate, 1000, 1e-9);
	assert_near(a.b.grant[0].burst, 100, 1e-9);
	assert_int_equal(a.b.grant[0].members, 1);
	assert_int_equal(a.b.grant[0].admitted, 5);
	assert_int_equal(a.b.replicas, 1);
	assert_string_equal(a.b.server, shared->sock);
	gw_free(&a);
}

static void test_three_members(void **state)
{
	static const double want[2][3] = { { 900, 0, 0 }, { 450, 450, 0 } };
	static const double demand[3] = { 600, 600, 0 };
	static const char *const names[3] = { "gw-a", "gw-b", "gw-c" };
	struct gw g[3];

	(void)state;
	for (int i = 0; i < 3; i++)
		gw_init(&g[i], shared, "three", names[i], 5000);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 3; i++) {
			double grant = gw_sync(&g[i], 900, 90, demand[i]);

			/* the first takes all, the second finds it held; then
			 * the first gives back half and the second takes it */
			assert_near(grant, want[round][i], EPS);
			assert_true(stored_sum(shared, "three") <= 900 + SUM_EPS);
			assert_int_equal(g[i].b.grant[0].members, round ? 3 : i + 1);
		}
	assert_near(g[0].b.grant[0].burst, 45, EPS);
	assert_near(g[1].b.grant[0].burst, 45, EPS);
	assert_near(g[2].b.grant[0].burst, 0, EPS);
	for (int i = 0; i < 3; i++)
		gw_free(&g[i]);
}

static void test_demand_shift(void **state)
{
	struct gw a, b;

	(void)state;
	gw_init(&a, shared, "shift", "gw-a", 5000);
	gw_init(&b, shared, "shift", "gw-b", 5000);
	for (int round = 0; round < 2; round++) {
		gw_sync(&a, 900, 90, 900);
		assert_true(stored_sum(shared, "shift") <= 900 + SUM_EPS);
		gw_sync(&b, 900, 90, 0);
		assert_true(stored_sum(shared, "shift") <= 900 + SUM_EPS);
	}
	assert_near(a.b.grant[0].rate, 900, EPS);
	assert_near(b.b.grant[0].rate, 0, EPS);
	/* the demand moves to b: within two rounds it holds the bucket */
	for (int round = 0; round < 2; round++) {
		gw_sync(&a, 900, 90, 0);
		assert_true(stored_sum(shared, "shift") <= 900 + SUM_EPS);
		gw_sync(&b, 900, 90, 900);
		assert_true(stored_sum(shared, "shift") <= 900 + SUM_EPS);
	}
	assert_true(b.b.grant[0].rate >= 0.9 * 900);
	assert_near(a.b.grant[0].rate, 0, EPS);
	gw_free(&a);
	gw_free(&b);
}

static void test_join_held_bucket(void **state)
{
	struct gw a, b;

	(void)state;
	gw_init(&a, shared, "join", "gw-a", 5000);
	gw_init(&b, shared, "join", "gw-b", 5000);
	assert_near(gw_sync(&a, 900, 90, 600), 900, EPS);
	/* everything is held: nothing for the newcomer yet */
	assert_near(gw_sync(&b, 900, 90, 600), 0, EPS);
	assert_int_equal(b.b.grant[0].members, 2);
	assert_near(gw_sync(&a, 900, 90, 600), 450, EPS);
	assert_near(gw_sync(&b, 900, 90, 600), 450, EPS);
	assert_true(stored_sum(shared, "join") <= 900 + SUM_EPS);
	gw_free(&a);
	gw_free(&b);
}

static void test_expiry(void **state)
{
	struct gw a, b;

	(void)state;
	gw_init(&a, shared, "expiry", "gw-a", 200);
	gw_init(&b, shared, "expiry", "gw-b", 200);
	gw_sync(&a, 900, 90, 600);
	gw_sync(&b, 900, 90, 600);
	assert_near(gw_sync(&a, 900, 90, 600), 450, EPS);
	assert_near(gw_sync(&b, 900, 90, 600), 450, EPS);
	assert_int_equal(b.b.replicas, 2);
	assert_true(has_record(shared, "expiry", "gw-b"));
	/* b stops syncing; its record outlives it by the ttl only */
	sleep_ms(300);
	assert_near(gw_sync(&a, 900, 90, 600), 900, EPS);
	assert_int_equal(a.b.grant[0].members, 1);
	assert_int_equal(a.b.replicas, 1);
	assert_false(has_record(shared, "expiry", "gw-b"));
	assert_false(is_member(shared, "expiry", "gw-b"));
	assert_true(is_member(shared, "expiry", "gw-a"));
	gw_free(&a);
	gw_free(&b);
}

static void test_garbage_records(void **state)
{
	char key[256];
	redisReply *r;
	struct gw a;

	(void)state;
	gw_init(&a, shared, "garbage", "gw-a", 5000);
	key_of(key, sizeof(key), "garbage", BUCKET);
	/* records nobody can read: they must not hold any of the rate */
	r = peek_cmd(shared, "HSET %s m:junk %s m:nan %s m:short %s m:neg %s", key, "abc",
		     "nan 0 0 99999999999999", "1 2 3", "-5 0 0 99999999999999");
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	freeReplyObject(r);
	assert_near(gw_sync(&a, 1000, 100, 10), 1000, EPS);
	assert_int_equal(a.b.grant[0].members, 1);
	assert_false(has_record(shared, "garbage", "junk"));
	assert_false(has_record(shared, "garbage", "nan"));
	assert_false(has_record(shared, "garbage", "short"));
	assert_false(has_record(shared, "garbage", "neg"));
	assert_true(has_record(shared, "garbage", "gw-a"));
	gw_free(&a);
}

static void test_admitted_and_keys(void **state)
{
	char key[256];
	long long pttl;
	struct gw a, b;
	redisReply *r;

	(void)state;
	gw_init(&a, shared, "keys", "gw-a", 1000);
	gw_init(&b, shared, "keys", "gw-b", 1000);
	one_bucket(&a.b, 500, 50, 100, 7);
	assert_int_equal(quota_conn_sync(a.conn, &a.cfg, &a.b), 0);
	assert_int_equal(a.b.grant[0].admitted, 7);
	one_bucket(&b.b, 500, 50, 100, 5);
	assert_int_equal(quota_conn_sync(b.conn, &b.cfg, &b.b), 0);
	assert_int_equal(b.b.grant[0].admitted, 12);
	one_bucket(&a.b, 500, 50, 100, 3);
	assert_int_equal(quota_conn_sync(a.conn, &a.cfg, &a.b), 0);
	assert_int_equal(a.b.grant[0].admitted, 15);

	/* the keys' names: prefix, the fleet as hash tag, then what they are */
	key_of(key, sizeof(key), "keys", BUCKET);
	assert_string_equal(key, "rwtest:{keys}:bucket:class/api/syn");
	r = peek_cmd(shared, "HGET %s admitted", key);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	assert_string_equal(r->str, "15");
	freeReplyObject(r);
	pttl = peek_int(shared, "PTTL %s", key);
	assert_true(pttl > 0 && pttl <= 10 * 1000);
	pttl = peek_int(shared, "PTTL rwtest:{keys}:members");
	assert_true(pttl > 0 && pttl <= 10 * 1000);
	r = peek_cmd(shared, "KEYS rwtest:{keys}:*");
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->elements, 2);
	freeReplyObject(r);

	/* what was declared, and a's record: grant, burst, demand, expiry */
	r = peek_cmd(shared, "HMGET %s rate burst m:gw-a", key);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->elements, 3);
	assert_string_equal(r->element[0]->str, "500");
	assert_string_equal(r->element[1]->str, "50");
	{
		double g, gb, d;
		long long expires;

		assert_int_equal(sscanf(r->element[2]->str, "%lf %lf %lf %lld", &g, &gb, &d,
					&expires),
				 4);
		assert_near(g, a.b.grant[0].rate, 1e-9);
		assert_near(gb, a.b.grant[0].burst, 1e-9);
		assert_near(d, 100, 1e-9);
		assert_true(expires > 0);
	}
	freeReplyObject(r);
	gw_free(&a);
	gw_free(&b);
}

static void test_burst_share(void **state)
{
	struct gw a, b;

	(void)state;
	gw_init(&a, shared, "burst", "gw-a", 5000);
	gw_init(&b, shared, "burst", "gw-b", 5000);
	gw_sync(&a, 1000, 250, 300);
	gw_sync(&b, 1000, 250, 900);
	/* max-min: a's 300 is met, b gets the other 700 */
	assert_near(gw_sync(&a, 1000, 250, 300), 300, EPS);
	assert_near(a.b.grant[0].burst, 75, EPS);
	assert_near(gw_sync(&b, 1000, 250, 900), 700, EPS);
	assert_near(b.b.grant[0].burst, 175, EPS);
	gw_free(&a);
	gw_free(&b);
}

/* One sync with what the gateway declares; the answer for its bucket. */
static const struct quota_grant *gw_declare(struct gw *g, double rate, double burst, double demand)
{
	one_bucket(&g->b, rate, burst, demand, 0);
	if (quota_conn_sync(g->conn, &g->cfg, &g->b))
		fail_msg("%s: sync: %s", g->cfg.member, g->b.error);
	return &g->b.grant[0];
}

static void test_mismatched_rates(void **state)
{
	const struct quota_grant *ga, *gb;
	struct gw a, b;

	(void)state;
	gw_init(&a, shared, "rollout", "gw-a", 5000);
	gw_init(&b, shared, "rollout", "gw-b", 5000);
	/* a still declares 900/s, b already 300/s: both share the smaller */
	ga = gw_declare(&a, 900, 90, 600);
	assert_near(ga->rate, 900, EPS);
	assert_int_equal(ga->mismatched, 0);
	gb = gw_declare(&b, 300, 30, 600);
	assert_near(gb->rate, 0, EPS); /* a holds more than 300 */
	assert_int_equal(gb->mismatched, 1);
	ga = gw_declare(&a, 900, 90, 600);
	assert_near(ga->rate, 150, EPS);
	assert_near(ga->burst, 15, EPS);
	assert_int_equal(ga->mismatched, 1);
	gb = gw_declare(&b, 300, 30, 600);
	assert_near(gb->rate, 150, EPS);
	assert_near(gb->burst, 15, EPS);
	/* both at the new rate: no mismatch, and the grants still add up to it */
	ga = gw_declare(&a, 300, 30, 600);
	assert_int_equal(ga->mismatched, 0);
	assert_near(ga->rate + gb->rate, 300, EPS);
	gw_free(&a);
	gw_free(&b);
}

static void test_leave(void **state)
{
	struct gw a, b;

	(void)state;
	gw_init(&a, shared, "leave", "gw-a", 5000);
	gw_init(&b, shared, "leave", "gw-b", 5000);
	gw_sync(&a, 900, 90, 600);
	gw_sync(&b, 900, 90, 600);
	gw_sync(&a, 900, 90, 600);
	assert_near(gw_sync(&b, 900, 90, 600), 450, EPS);
	assert_int_equal(quota_conn_leave(b.conn, &b.cfg, &b.b), 0);
	assert_false(has_record(shared, "leave", "gw-b"));
	assert_false(is_member(shared, "leave", "gw-b"));
	/* at once, not after the ttl */
	assert_near(gw_sync(&a, 900, 90, 600), 900, EPS);
	assert_int_equal(a.b.grant[0].members, 1);
	assert_int_equal(a.b.replicas, 1);
	gw_free(&a);
	gw_free(&b);
}

/* How many times the server ran EVAL (INFO commandstats), 0 before the first. */
static long long eval_calls(const struct redis_proc *p)
{
	redisReply *r = peek_cmd(p, "INFO commandstats");
	const char *at;
	long long calls = 0;

	assert_int_equal(r->type, REDIS_REPLY_STRING);
	at = strstr(r->str, "cmdstat_eval:calls=");
	if (at)
		calls = atoll(at + strlen("cmdstat_eval:calls="));
	freeReplyObject(r);
	return calls;
}

static void test_noscript(void **state)
{
	long long evals;
	redisReply *r;
	struct gw a;

	(void)state;
	gw_init(&a, shared, "noscript", "gw-a", 5000);
	evals = eval_calls(shared);
	assert_near(gw_sync(&a, 1000, 100, 10), 1000, EPS);
	assert_near(gw_sync(&a, 1000, 100, 10), 1000, EPS);
	/* by SHA while the server has the script */
	assert_int_equal(eval_calls(shared), evals);
	r = peek_cmd(shared, "SCRIPT FLUSH");
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	/* the same connection, whose SHA the server no longer knows: the
	 * script itself goes once, and caches it again */
	assert_near(gw_sync(&a, 1000, 100, 10), 1000, EPS);
	assert_int_equal(eval_calls(shared), evals + 1);
	assert_near(gw_sync(&a, 1000, 100, 10), 1000, EPS);
	assert_int_equal(eval_calls(shared), evals + 1);
	gw_free(&a);
}

static void test_invalid(void **state)
{
	struct quota_conn *c = quota_conn_new();
	struct quota_redis_config cfg;
	struct quota_batch b;

	(void)state;
	/* nothing is sent for a bad batch: no server needed */
	unix_config(&cfg, "/nonexistent/redis.sock", "bad", "gw-a", 1000);
	one_bucket(&b, 0, 10, 1, 0);
	assert_int_equal(quota_conn_sync(c, &cfg, &b), -EINVAL);
	assert_int_equal(b.err, -EINVAL);
	assert_contains(b.error, BUCKET);
	assert_contains(b.error, "rate 0");
	one_bucket(&b, 100, 0.5, 1, 0);
	assert_int_equal(quota_conn_sync(c, &cfg, &b), -EINVAL);
	assert_contains(b.error, "burst 0.5");
	one_bucket(&b, 100, 10, NAN, 0);
	assert_int_equal(quota_conn_sync(c, &cfg, &b), -EINVAL);
	assert_contains(b.error, "demand nan");
	one_bucket(&b, 100, 10, -1, 0);
	assert_int_equal(quota_conn_sync(c, &cfg, &b), -EINVAL);
	one_bucket(&b, INFINITY, 10, 1, 0);
	assert_int_equal(quota_conn_sync(c, &cfg, &b), -EINVAL);
	one_bucket(&b, 100, 10, 1, 0);
	b.req[0].name[0] = '\0';
	assert_int_equal(quota_conn_sync(c, &cfg, &b), -EINVAL);
	one_bucket(&b, 100, 10, 1, 0);
	b.n = 2;
	b.req[1] = b.req[0];
	assert_int_equal(quota_conn_sync(c, &cfg, &b), -EINVAL);
	assert_contains(b.error, "twice");
	one_bucket(&b, 100, 10, 1, 0);
	b.n = RW_MAX_QUOTAS + 1;
	assert_int_equal(quota_conn_sync(c, &cfg, &b), -EINVAL);
	one_bucket(&b, 100, 10, 1, 0);
	snprintf(cfg.fleet, sizeof(cfg.fleet), "a{b}");
	assert_int_equal(quota_conn_sync(c, &cfg, &b), -EINVAL);
	assert_contains(b.error, "a{b}");
	quota_conn_free(c);
}

static void test_not_listening(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct quota_redis_config cfg;
	struct quota_conn *c = quota_conn_new();
	struct quota_batch b;
	char path[96];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/nothing.sock", shared->dir);
	unix_config(&cfg, path, "down", "gw-a", 1000);
	one_bucket(&b, 100, 10, 1, 0);
	assert_int_equal(quota_conn_sync(c, &cfg, &b), -ENOENT);
	assert_contains(b.error, path);
	assert_contains(b.error, "no such file");
	assert_string_equal(b.server, "");

	/* a socket that is bound but does not listen refuses */
	snprintf(path, sizeof(path), "%s/dead.sock", shared->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	unix_config(&cfg, path, "down", "gw-a", 1000);
	assert_int_equal(quota_conn_sync(c, &cfg, &b), -ECONNREFUSED);
	assert_contains(b.error, "redis ");
	assert_contains(b.error, path);
	assert_contains(b.error, "connection refused");
	close(fd);
	unlink(path);
	quota_conn_free(c);
}

static void test_stopped_server(void **state)
{
	struct redis_proc *p = redis_start(0, NULL);
	uint64_t t0, took;
	struct gw a;

	(void)state;
	assert_non_null(p);
	gw_init(&a, p, "stopped", "gw-a", 5000);
	a.cfg.timeout_ms = 50;
	gw_sync(&a, 100, 10, 1);
	assert_int_equal(kill(p->pid, SIGSTOP), 0);
	/* connected: the script goes out, its answer never comes */
	one_bucket(&a.b, 100, 10, 1, 0);
	t0 = ms_now();
	assert_int_equal(quota_conn_sync(a.conn, &a.cfg, &a.b), -ETIMEDOUT);
	took = ms_now() - t0;
	assert_true(took <= 150);
	assert_true((a.b.finished_ns - a.b.started_ns) / 1000000 <= 150);
	assert_true((a.b.finished_ns - a.b.started_ns) / 1000000 >= 45);
	assert_contains(a.b.error, p->sock);
	assert_contains(a.b.error, "no answer within 50 ms");
	/* connecting anew: the kernel accepts, the handshake is not answered */
	t0 = ms_now();
	assert_int_equal(quota_conn_sync(a.conn, &a.cfg, &a.b), -ETIMEDOUT);
	took = ms_now() - t0;
	assert_true(took <= 150);
	assert_int_equal(kill(p->pid, SIGCONT), 0);
	assert_near(gw_sync(&a, 100, 10, 1), 100, EPS);
	gw_free(&a);
	redis_stop(p);
}

static void test_auth(void **state)
{
	struct redis_proc *p = redis_start(0, "--requirepass", "s3cret", NULL);
	struct gw a;

	(void)state;
	assert_non_null(p);
	gw_init(&a, p, "auth", "gw-a", 5000);
	snprintf(a.cfg.password, sizeof(a.cfg.password), "wrong");
	one_bucket(&a.b, 100, 10, 1, 0);
	assert_int_equal(quota_conn_sync(a.conn, &a.cfg, &a.b), -EACCES);
	assert_contains(a.b.error, "AUTH failed");
	assert_contains(a.b.error, p->sock);
	/* none at all: ROLE is refused */
	a.cfg.password[0] = '\0';
	assert_int_equal(quota_conn_sync(a.conn, &a.cfg, &a.b), -EACCES);
	assert_contains(a.b.error, "NOAUTH");
	snprintf(a.cfg.password, sizeof(a.cfg.password), "s3cret");
	assert_near(gw_sync(&a, 100, 10, 1), 100, EPS);
	/* AUTH user pass: a new connection with a username */
	quota_conn_free(a.conn);
	a.conn = quota_conn_new();
	snprintf(a.cfg.username, sizeof(a.cfg.username), "default");
	assert_near(gw_sync(&a, 100, 10, 1), 100, EPS);
	snprintf(a.cfg.username, sizeof(a.cfg.username), "nobody");
	quota_conn_free(a.conn);
	a.conn = quota_conn_new();
	one_bucket(&a.b, 100, 10, 1, 0);
	assert_int_equal(quota_conn_sync(a.conn, &a.cfg, &a.b), -EACCES);
	assert_contains(a.b.error, "AUTH failed: WRONGPASS");
	gw_free(&a);
	redis_stop(p);
}

/* The namespace is the thread's (the main one's) for the rest of the run:
 * the unix sockets of the others are reached through the filesystem. */
static bool in_private_netns(void)
{
	static int done = -1;

	if (done < 0)
		done = private_netns() == 0;
	return done;
}

static void test_replica_and_failover(void **state)
{
	struct redis_proc *m, *r;
	redisReply *rr;
	struct gw a;

	(void)state;
	if (!in_private_netns())
		skip();
	m = redis_start(16379, NULL);
	assert_non_null(m);
	r = redis_start(16380, "--replicaof", "127.0.0.1", "16379", NULL);
	assert_non_null(r);
	gw_init(&a, m, "replica", "gw-a", 5000);

	/* a replica only: said so, by its address */
	tcp_server(&a.cfg.servers[0], 16380);
	one_bucket(&a.b, 100, 10, 1, 0);
	assert_int_equal(quota_conn_sync(a.conn, &a.cfg, &a.b), -EROFS);
	assert_contains(a.b.error, "127.0.0.1:16380 is a replica");
	/* the replica first, then the master: the master answers */
	tcp_server(&a.cfg.servers[1], 16379);
	a.cfg.n_servers = 2;
	assert_near(gw_sync(&a, 100, 10, 1), 100, EPS);
	assert_string_equal(a.b.server, "127.0.0.1:16379");

	/* a failover: the replica is promoted, the old master follows it */
	rr = peek_cmd(r, "REPLICAOF NO ONE");
	freeReplyObject(rr);
	rr = peek_cmd(m, "REPLICAOF 127.0.0.1 16380");
	freeReplyObject(rr);
	one_bucket(&a.b, 100, 10, 1, 0);
	assert_int_equal(quota_conn_sync(a.conn, &a.cfg, &a.b), -EROFS);
	assert_contains(a.b.error, "127.0.0.1:16379");
	assert_contains(a.b.error, "READONLY");
	/* the next sync finds the new master by ROLE */
	assert_near(gw_sync(&a, 100, 10, 1), 100, EPS);
	assert_string_equal(a.b.server, "127.0.0.1:16380");
	gw_free(&a);
	redis_stop(r);
	redis_stop(m);
}

static void test_cluster_moved(void **state)
{
	struct redis_proc *owner, *other;
	uint64_t deadline;
	redisReply *r;
	bool moved = false;
	struct gw a;

	(void)state;
	if (!in_private_netns())
		skip();
	owner = redis_start(16381, "--cluster-enabled", "yes", NULL);
	assert_non_null(owner);
	other = redis_start(16382, "--cluster-enabled", "yes", NULL);
	assert_non_null(other);
	r = peek_cmd(owner, "CLUSTER ADDSLOTSRANGE 0 16383");
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	r = peek_cmd(other, "CLUSTER MEET 127.0.0.1 16381");
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	/* until the other node has learnt who owns the slots */
	deadline = ms_now() + 5000;
	while (!moved && ms_now() < deadline) {
		r = peek_cmd(other, "GET " PREFIX "{moved}:members");
		moved = r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "MOVED ", 6);
		freeReplyObject(r);
		if (!moved)
			sleep_ms(20);
	}
	assert_true(moved);

	gw_init(&a, other, "moved", "gw-a", 5000);
	tcp_server(&a.cfg.servers[0], 16382);
	assert_near(gw_sync(&a, 100, 10, 1), 100, EPS);
	assert_string_equal(a.b.server, "127.0.0.1:16381");
	/* and it stays there */
	assert_near(gw_sync(&a, 100, 10, 1), 100, EPS);
	assert_string_equal(a.b.server, "127.0.0.1:16381");
	gw_free(&a);
	redis_stop(other);
	redis_stop(owner);
}

static void test_connect_timeout(void **state)
{
	struct quota_redis_config cfg;
	struct quota_conn *c;
	struct quota_batch b;
	uint16_t port;
	uint64_t t0, took;
	int lfd, queued;

	(void)state;
	if (!in_private_netns())
		skip();
	/* a listener whose accept queue is full drops further SYNs */
	lfd = loopback_socket(AF_INET, 0, 0, &port);
	assert_true(lfd >= 0);
	queued = loopback_connect(port);
	assert_true(queued >= 0);
	c = quota_conn_new();
	unix_config(&cfg, "", "timeout", "gw-a", 5000);
	tcp_server(&cfg.servers[0], port);
	cfg.timeout_ms = 50;
	one_bucket(&b, 100, 10, 1, 0);
	t0 = ms_now();
	assert_int_equal(quota_conn_sync(c, &cfg, &b), -ETIMEDOUT);
	took = ms_now() - t0;
	assert_true(took >= 45 && took <= 150);
	assert_int_equal(b.err, -ETIMEDOUT);
	assert_true(strncmp(b.error, "redis 127.0.0.1:", 16) == 0);
	assert_contains(b.error, "no answer within 50 ms");
	quota_conn_free(c);
	close(queued);
	close(lfd);
}

static void test_client_thread(void **state)
{
	struct quota_batch in, out, direct;
	struct quota_redis_config cfg;
	struct quota_client *qc;
	struct quota_conn *c;
	struct pollfd pfd;
	char err[256] = "";

	(void)state;
	unix_config(&cfg, shared->sock, "thread", "gw-a", 5000);
	qc = quota_client_start(&cfg, err, sizeof(err));
	if (!qc)
		fail_msg("quota_client_start: %s", err);
	pfd.fd = quota_client_fd(qc);
	pfd.events = POLLIN;
	assert_false(quota_client_result(qc, &out));

	one_bucket(&in, 1000, 100, 300, 4);
	assert_true(quota_client_submit(qc, &in));
	/* one at a time: until its result is taken */
	assert_false(quota_client_submit(qc, &in));
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_true(quota_client_result(qc, &out));
	assert_int_equal(out.err, 0);
	assert_int_equal(poll(&pfd, 1, 0), 0);
	assert_false(quota_client_result(qc, &out));

	/* the same member's sync done directly answers the same */
	c = quota_conn_new();
	one_bucket(&direct, 1000, 100, 300, 0);
	assert_int_equal(quota_conn_sync(c, &cfg, &direct), 0);
	quota_conn_free(c);
	assert_near(out.grant[0].rate, direct.grant[0].rate, 1e-9);
	assert_near(out.grant[0].burst, direct.grant[0].burst, 1e-9);
	assert_int_equal(out.grant[0].members, direct.grant[0].members);
	assert_int_equal(out.grant[0].admitted, direct.grant[0].admitted);
	assert_int_equal(out.replicas, direct.replicas);
	assert_string_equal(out.server, direct.server);
	assert_near(out.grant[0].rate, 1000, EPS);
	assert_int_equal(out.grant[0].admitted, 4);

	/* another round, then stop with leave: the records go */
	assert_true(quota_client_submit(qc, &in));
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_true(quota_client_result(qc, &out));
	assert_int_equal(out.err, 0);
	assert_true(has_record(shared, "thread", "gw-a"));
	quota_client_stop(qc, &in);
	assert_false(has_record(shared, "thread", "gw-a"));
	assert_false(is_member(shared, "thread", "gw-a"));

	/* stop without leave: the submitted batch still runs, and the
	 * records stay for the ttl */
	qc = quota_client_start(&cfg, err, sizeof(err));
	assert_non_null(qc);
	assert_true(quota_client_submit(qc, &in));
	quota_client_stop(qc, NULL);
	assert_true(has_record(shared, "thread", "gw-a"));

	cfg.n_servers = 0;
	assert_null(quota_client_start(&cfg, err, sizeof(err)));
	assert_contains(err, "0 servers");
}

static int setup(void **state)
{
	(void)state;
	atexit(redis_stop_all);
	shared = redis_start(0, NULL);
	return shared ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	redis_stop_all();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_member),
		cmocka_unit_test(test_three_members),
		cmocka_unit_test(test_demand_shift),
		cmocka_unit_test(test_join_held_bucket),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_garbage_records),
		cmocka_unit_test(test_admitted_and_keys),
		cmocka_unit_test(test_burst_share),
		cmocka_unit_test(test_mismatched_rates),
		cmocka_unit_test(test_leave),
		cmocka_unit_test(test_noscript),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_not_listening),
		cmocka_unit_test(test_stopped_server),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_client_thread),
		cmocka_unit_test(test_replica_and_failover),
		cmocka_unit_test(test_cluster_moved),
		cmocka_unit_test(test_connect_timeout),
	};

	return cmocka_run_group_tests_name("unit_quota_redis", tests, setup, teardown);
}
