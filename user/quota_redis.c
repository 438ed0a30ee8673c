// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The fleet's shared store of quotas through hiredis' blocking API: what a
 * sync does is in quota_redis.h, what Redis does with it in
 * user/quota_script.lua. Every read and write has the configured timeout
 * (SO_RCVTIMEO/SO_SNDTIMEO), so a store that stops answering costs one
 * timeout per step, never a hang.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <hiredis/hiredis.h>

#include "clocks.h"
#include "quota_redis.h"

static const char quota_script[] =
#include "quota_script.h"
	;

/* Small enough to send whole each time: leaving is rare. */
static const char leave_script[] =
	"redis.call('ZREM', KEYS[1], ARGV[1])\n"
	"for i = 2, #KEYS do redis.call('HDEL', KEYS[i], 'm:' .. ARGV[1]) end\n"
	"return #KEYS - 1\n";

#define KEY_MAX 256 /* prefix, {fleet}, ":bucket:" and a name fit with room */
#define NUM_MAX 32  /* "%.17g" of a double, or a 64-bit integer */
#define ARGV_MAX (3 + 1 + RW_MAX_QUOTAS + 3 + 4 * RW_MAX_QUOTAS)

struct quota_conn {
	redisContext *ctx; /* NULL: not connected */
	char server[300];  /* what ctx is connected to */
	char sha[48];      /* the sync script's SHA1, from SCRIPT LOAD at connect */
};

/* One command's arguments and the storage they point into. */
struct call {
	int argc;
	const char *argv[ARGV_MAX];
	size_t len[ARGV_MAX];
	char keys[1 + RW_MAX_QUOTAS][KEY_MAX];
	char nums[3 + 4 * RW_MAX_QUOTAS][NUM_MAX];
	char numkeys[NUM_MAX];
};

static void say(char *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(char *msg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, QUOTA_ERROR_MAX, fmt, ap);
	va_end(ap);
	/* one line, whatever a server put in its error */
	for (char *p = msg; *p; p++)
		if (iscntrl((unsigned char)*p))
			*p = ' ';
}

/* strerror, lower-cased to read as part of a sentence. */
static const char *reason(int err, char *buf, size_t len)
{
	const char *s = strerror_r(err, buf, len);

	if (s != buf)
		snprintf(buf, len, "%s", s);
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

static void server_name(const struct quota_server *s, char *out, size_t len)
{
	if (s->unix_path[0])
		snprintf(out, len, "%s", s->unix_path);
	else if (strchr(s->host, ':'))
		snprintf(out, len, "[%s]:%u", s->host, s->port);
	else
		snprintf(out, len, "%s:%u", s->host, s->port);
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static int check_config(const struct quota_redis_config *cfg, char *msg)
{
	if (cfg->n_servers == 0 || cfg->n_servers > QUOTA_SERVERS_MAX) {
		say(msg, "redis: %zu servers, want 1 to %d", cfg->n_servers, QUOTA_SERVERS_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < cfg->n_servers; i++) {
		const struct quota_server *s = &cfg->servers[i];

		if (!terminated(s->host, sizeof(s->host)) ||
		    !terminated(s->unix_path, sizeof(s->unix_path)) ||
		    (s->host[0] != '\0') == (s->unix_path[0] != '\0') ||
		    (s->host[0] && s->port == 0)) {
			say(msg, "redis: server %zu needs a host and a port, or a socket path", i + 1);
			return -EINVAL;
		}
	}
	if (!terminated(cfg->username, sizeof(cfg->username)) ||
	    !terminated(cfg->password, sizeof(cfg->password)) ||
	    !terminated(cfg->prefix, sizeof(cfg->prefix)) ||
	    !terminated(cfg->fleet, sizeof(cfg->fleet)) ||
	    !terminated(cfg->member, sizeof(cfg->member))) {
		say(msg, "redis: a name or password is not terminated");
		return -EINVAL;
	}
	/* a brace would move the hash tag, and the keys to other slots */
	if (!cfg->fleet[0] || strpbrk(cfg->fleet, "{}")) {
		say(msg, "redis: fleet \"%s\" must be non-empty and without braces", cfg->fleet);
		return -EINVAL;
	}
	if (!cfg->member[0]) {
		say(msg, "redis: the member name is empty");
		return -EINVAL;
	}
	if (cfg->timeout_ms == 0 || cfg->ttl_ms == 0) {
		say(msg, "redis: timeout %u ms and ttl %u ms must both be above 0", cfg->timeout_ms,
		    cfg->ttl_ms);
		return -EINVAL;
	}
	return 0;
}

static int check_names(const struct quota_batch *b, char *msg)
{
	if (b->n > RW_MAX_QUOTAS) {
		say(msg, "redis: %zu quotas, at most %d", b->n, RW_MAX_QUOTAS);
		return -EINVAL;
	}
	for (size_t i = 0; i < b->n; i++) {
		const char *name = b->req[i].name;

		if (!terminated(name, sizeof(b->req[i].name)) || !name[0]) {
			say(msg, "redis: quota %zu has no name", i + 1);
			return -EINVAL;
		}
		/* the same key twice would leave the first grant unaccounted */
		for (size_t j = 0; j < i; j++)
			if (!strcmp(name, b->req[j].name)) {
				say(msg, "redis: quota \"%s\" is listed twice", name);
				return -EINVAL;
			}
	}
	return 0;
}

static int check_batch(const struct quota_batch *b, char *msg)
{
	int err = check_names(b, msg);

	for (size_t i = 0; !err && i < b->n; i++) {
		const struct quota_request *r = &b->req[i];

		/* the comparisons are false for NaN */
		if (!(isfinite(r->rate) && r->rate > 0)) {
			say(msg, "redis: quota \"%s\": rate %g is not a positive number", r->name, r->rate);
			err = -EINVAL;
		} else if (!(isfinite(r->burst) && r->burst >= 1)) {
			say(msg, "redis: quota \"%s\": burst %g is below 1", r->name, r->burst);
			err = -EINVAL;
		} else if (!(isfinite(r->demand) && r->demand >= 0)) {
			say(msg, "redis: quota \"%s\": demand %g is not a number >= 0", r->name,
			    r->demand);
			err = -EINVAL;
		} else if (r->admitted > INT64_MAX) {
			/* HINCRBY takes a signed 64-bit increment */
			say(msg, "redis: quota \"%s\": admitted %" PRIu64 " is too large", r->name,
			    r->admitted);
			err = -EINVAL;
		}
	}
	return err;
}

static void call_arg(struct call *k, const char *s)
{
	k->argv[k->argc] = s;
	k->len[k->argc] = strlen(s);
	k->argc++;
}

/* argv[0] and argv[1] (command, script or SHA) are filled when sent. */
static void call_keys(struct call *k, const struct quota_redis_config *cfg,
		      const struct quota_batch *b)
{
	k->argc = 2;
	snprintf(k->numkeys, sizeof(k->numkeys), "%zu", 1 + b->n);
	call_arg(k, k->numkeys);
	snprintf(k->keys[0], KEY_MAX, "%s{%s}:members", cfg->prefix, cfg->fleet);
	call_arg(k, k->keys[0]);
	for (size_t i = 0; i < b->n; i++) {
		snprintf(k->keys[1 + i], KEY_MAX, "%s{%s}:bucket:%s", cfg->prefix, cfg->fleet,
			 b->req[i].name);
		call_arg(k, k->keys[1 + i]);
	}
	call_arg(k, cfg->member);
}

static void call_sync(struct call *k, const struct quota_redis_config *cfg,
		      const struct quota_batch *b)
{
	size_t m = 0;

	call_keys(k, cfg, b);
	snprintf(k->nums[m], NUM_MAX, "%u", cfg->ttl_ms);
	call_arg(k, k->nums[m++]);
	snprintf(k->nums[m], NUM_MAX, "%" PRIu64, (uint64_t)cfg->ttl_ms * 10);
	call_arg(k, k->nums[m++]);
	for (size_t i = 0; i < b->n; i++) {
		const struct quota_request *r = &b->req[i];

		/* %.17g: the script reads back the very doubles sent */
		snprintf(k->nums[m], NUM_MAX, "%.17g", r->rate);
		call_arg(k, k->nums[m++]);
		snprintf(k->nums[m], NUM_MAX, "%.17g", r->burst);
		call_arg(k, k->nums[m++]);
		snprintf(k->nums[m], NUM_MAX, "%.17g", r->demand);
		call_arg(k, k->nums[m++]);
		snprintf(k->nums[m], NUM_MAX, "%" PRIu64, r->admitted);
		call_arg(k, k->nums[m++]);
	}
}

/* Why a call on ctx failed (ctx->err), as -errno and a sentence; `saved`
 * is errno right after the call, what hiredis' I/O errors come from. */
static int io_error(const redisContext *ctx, int saved, const char *name, const char *what,
		    uint32_t timeout_ms, char *msg)
{
	char buf[128];

	switch (ctx ? ctx->err : REDIS_ERR_OOM) {
	case REDIS_ERR_IO:
		/* SO_RCVTIMEO expiring reads as EAGAIN; a connect that timed
		 * out says ETIMEDOUT */
		if (saved == EAGAIN || saved == EWOULDBLOCK || saved == ETIMEDOUT ||
		    saved == EINPROGRESS) {
			say(msg, "redis %s: no answer within %u ms%s%s", name, timeout_ms,
			    what ? " to " : "", what ? what : "");
			return -ETIMEDOUT;
		}
		if (!saved)
			saved = EIO;
		say(msg, "redis %s: %s%s%s", name, what ? what : "", what ? ": " : "",
		    reason(saved, buf, sizeof(buf)));
		return -saved;
	case REDIS_ERR_EOF:
		say(msg, "redis %s: %s%sthe server closed the connection", name, what ? what : "",
		    what ? ": " : "");
		return -ECONNRESET;
	case REDIS_ERR_PROTOCOL:
		say(msg, "redis %s: %s%sprotocol error: %s", name, what ? what : "",
		    what ? ": " : "", ctx->errstr);
		return -EPROTO;
	case REDIS_ERR_OOM:
		say(msg, "redis %s: out of memory", name);
		return -ENOMEM;
	default:
		/* the name does not resolve, or no socket could be made */
		say(msg, "redis %s: %s%s%s", name, what ? what : "", what ? ": " : "", ctx->errstr);
		return -EHOSTUNREACH;
	}
}

/* An error reply, as -errno and a sentence. */
static int reply_error(const char *name, const char *what, const char *str, char *msg)
{
	static const struct {
		const char *prefix;
		int err;
	} known[] = {
		{ "READONLY", -EROFS },	 /* a failover made it a replica */
		{ "OOM", -ENOMEM },	 /* maxmemory reached */
		{ "NOAUTH", -EACCES },	 { "WRONGPASS", -EACCES }, { "NOPERM", -EACCES },
		{ "BUSY", -EBUSY },	 /* another script runs too long */
		{ "LOADING", -EAGAIN },	 { "MASTERDOWN", -EAGAIN }, { "TRYAGAIN", -EAGAIN },
		{ "CLUSTERDOWN", -EAGAIN },
	};
	int err = -EIO;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strncmp(str, known[i].prefix, strlen(known[i].prefix))) {
			err = known[i].err;
			break;
		}
	say(msg, "redis %s: %s failed: %s", name, what, str);
	return err;
}

static void conn_drop(struct quota_conn *c)
{
	if (c->ctx)
		redisFree(c->ctx);
	c->ctx = NULL;
	c->server[0] = '\0';
	c->sha[0] = '\0';
}

/* Reads the answer to a command already appended: NULL with the error
 * said when there is none. */
static redisReply *answer(redisContext *ctx, const char *name, const char *what,
			  uint32_t timeout_ms, int *err, char *msg)
{
	void *r = NULL;

	errno = 0;
	if (redisGetReply(ctx, &r) != REDIS_OK || !r) {
		*err = io_error(ctx, errno, name, what, timeout_ms, msg);
		if (r)
			freeReplyObject(r);
		return NULL;
	}
	return r;
}

/*
 * Connects to one server: AUTH, ROLE and SCRIPT LOAD go in one write, and
 * the server qualifies when it is a master. The script is loaded here so
 * that every sync can send the SHA alone.
 */
static int conn_open(struct quota_conn *c, const struct quota_redis_config *cfg,
		     const struct quota_server *s, char *msg)
{
	struct timeval tv = { .tv_sec = cfg->timeout_ms / 1000,
			      .tv_usec = (cfg->timeout_ms % 1000) * 1000 };
	const char *what[3];
	redisReply *r[3] = { NULL };
	redisContext *ctx;
	char name[300];
	int n = 0, err = 0, saved;
	bool oom = false;

	conn_drop(c);
	server_name(s, name, sizeof(name));
	errno = 0;
	ctx = s->unix_path[0] ? redisConnectUnixWithTimeout(s->unix_path, tv) :
				redisConnectWithTimeout(s->host, s->port, tv);
	saved = errno;
	if (!ctx || ctx->err) {
		err = io_error(ctx, saved, name, NULL, cfg->timeout_ms, msg);
		if (ctx)
			redisFree(ctx);
		return err;
	}
	/* the connect's timeout does not cover reads and writes */
	errno = 0;
	if (redisSetTimeout(ctx, tv) != REDIS_OK) {
		err = io_error(ctx, errno, name, "setting the timeout", cfg->timeout_ms, msg);
		redisFree(ctx);
		return err;
	}

	if (cfg->password[0]) {
		const char *argv[3] = { "AUTH" };
		int argc = 1;

		if (cfg->username[0])
			argv[argc++] = cfg->username;
		argv[argc++] = cfg->password;
		oom |= redisAppendCommandArgv(ctx, argc, argv, NULL) != REDIS_OK;
		what[n++] = "AUTH";
	}
	oom |= redisAppendCommand(ctx, "ROLE") != REDIS_OK;
	what[n++] = "ROLE";
	{
		const char *argv[3] = { "SCRIPT", "LOAD", quota_script };
		size_t len[3] = { 6, 4, sizeof(quota_script) - 1 };

		oom |= redisAppendCommandArgv(ctx, 3, argv, len) != REDIS_OK;
		what[n++] = "SCRIPT LOAD";
	}
	if (oom) {
		say(msg, "redis %s: out of memory", name);
		redisFree(ctx);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		r[i] = answer(ctx, name, what[i], cfg->timeout_ms, &err, msg);
		if (!r[i])
			goto out;
	}

	for (int i = 0; i < n && !err; i++) {
		if (r[i]->type == REDIS_REPLY_ERROR) {
			/* a server without ROLE (renamed away) is taken as a master */
			if (!strcmp(what[i], "ROLE") && !strncmp(r[i]->str, "ERR unknown command", 19))
				continue;
			err = reply_error(name, what[i], r[i]->str, msg);
			if (!strcmp(what[i], "AUTH"))
				err = -EACCES;
			break;
		}
		if (!strcmp(what[i], "ROLE")) {
			const redisReply *role = r[i]->type == REDIS_REPLY_ARRAY && r[i]->elements ?
							 r[i]->element[0] :
							 NULL;

			if (!role || role->type != REDIS_REPLY_STRING) {
				say(msg, "redis %s: unexpected answer to ROLE", name);
				err = -EPROTO;
			} else if (!strcmp(role->str, "slave") || !strcmp(role->str, "replica")) {
				say(msg, "redis %s is a replica", name);
				err = -EROFS;
			} else if (strcmp(role->str, "master")) {
				say(msg, "redis %s is a %s, not a master", name, role->str);
				err = -EROFS;
			}
		} else if (!strcmp(what[i], "SCRIPT LOAD")) {
			if (r[i]->type != REDIS_REPLY_STRING || r[i]->len != 40) {
				say(msg, "redis %s: unexpected answer to SCRIPT LOAD", name);
				err = -EPROTO;
			} else {
				memcpy(c->sha, r[i]->str, 40);
				c->sha[40] = '\0';
			}
		}
	}
out:
	for (int i = 0; i < n; i++)
		if (r[i])
			freeReplyObject(r[i]);
	if (err) {
		redisFree(ctx);
		c->sha[0] = '\0';
		return err;
	}
	c->ctx = ctx;
	snprintf(c->server, sizeof(c->server), "%s", name);
	return 0;
}

/* The configured servers in order, until one qualifies; otherwise what
 * each said, and the last one's error. */
static int conn_connect(struct quota_conn *c, const struct quota_redis_config *cfg, char *msg)
{
	char one[QUOTA_ERROR_MAX];
	size_t used = 0;
	int err = -ENOTCONN;

	msg[0] = '\0';
	for (size_t i = 0; i < cfg->n_servers; i++) {
		err = conn_open(c, cfg, &cfg->servers[i], one);
		if (!err) {
			msg[0] = '\0';
			return 0;
		}
		if (used < QUOTA_ERROR_MAX - 1) {
			int w = snprintf(msg + used, QUOTA_ERROR_MAX - used, "%s%s", used ? "; " : "",
					 one);

			used += w > 0 ? (size_t)w : 0;
		}
	}
	return err;
}

/* "MOVED 3999 10.0.0.2:6379": where a Cluster keeps the fleet's slot. */
static bool moved_to(const char *str, struct quota_server *to)
{
	const char *addr = strchr(str + 6, ' '), *colon;
	char *end;
	unsigned long port;
	size_t len;

	if (!addr)
		return false;
	addr++;
	colon = strrchr(addr, ':');
	if (!colon || colon == addr)
		return false;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port == 0 || port > 65535)
		return false;
	len = (size_t)(colon - addr);
	/* an IPv6 address may come bracketed */
	if (addr[0] == '[' && colon[-1] == ']') {
		addr++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(to->host))
		return false;
	memset(to, 0, sizeof(*to));
	memcpy(to->host, addr, len);
	to->port = (uint16_t)port;
	return true;
}

static bool reply_double(const redisReply *r, double *out)
{
	char *end;

	if (r->type != REDIS_REPLY_STRING || !r->len)
		return false;
	errno = 0;
	*out = strtod(r->str, &end);
	return !errno && *end == '\0' && isfinite(*out) && *out >= 0;
}

static int read_grants(const redisReply *r, struct quota_batch *b, const char *name, char *msg)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 + 5 * b->n ||
	    r->element[0]->type != REDIS_REPLY_INTEGER || r->element[0]->integer < 0) {
		say(msg, "redis %s: the quota script answered %zu elements, want %zu", name,
		    r->type == REDIS_REPLY_ARRAY ? r->elements : 0, 1 + 5 * b->n);
		return -EPROTO;
	}
	b->replicas = (uint32_t)r->element[0]->integer;
	for (size_t i = 0; i < b->n; i++) {
		redisReply *const *e = &r->element[1 + 5 * i];
		struct quota_grant *g = &b->grant[i];

		if (!reply_double(e[0], &g->rate) || !reply_double(e[1], &g->burst) ||
		    e[2]->type != REDIS_REPLY_INTEGER || e[2]->integer < 1 ||
		    e[3]->type != REDIS_REPLY_INTEGER || e[3]->integer < 0 ||
		    e[4]->type != REDIS_REPLY_INTEGER || e[4]->integer < 0) {
			say(msg, "redis %s: unexpected answer for quota \"%s\"", name, b->req[i].name);
			return -EPROTO;
		}
		g->members = (uint32_t)e[2]->integer;
		g->admitted = (uint64_t)e[3]->integer;
		g->mismatched = (uint32_t)e[4]->integer;
	}
	return 0;
}

/* One command on the connection, following a NOSCRIPT (send the script
 * itself) and a Cluster's MOVED (connect there) once each. The answer is
 * the caller's to free. */
static redisReply *run(struct quota_conn *c, const struct quota_redis_config *cfg,
		       struct call *k, const char *script, size_t script_len, int *err, char *msg)
{
	bool by_sha = c->sha[0] && script == quota_script, moved = false, resent = false;
	redisReply *r;

	for (;;) {
		if (!c->ctx) {
			*err = conn_connect(c, cfg, msg);
			if (*err)
				return NULL;
			by_sha = script == quota_script;
		}
		k->argv[0] = by_sha ? "EVALSHA" : "EVAL";
		k->argv[1] = by_sha ? c->sha : script;
		k->len[0] = strlen(k->argv[0]);
		k->len[1] = by_sha ? strlen(c->sha) : script_len;
		if (redisAppendCommandArgv(c->ctx, k->argc, k->argv, k->len) != REDIS_OK) {
			say(msg, "redis %s: out of memory", c->server);
			*err = -ENOMEM;
			return NULL;
		}
		r = answer(c->ctx, c->server, k->argv[0], cfg->timeout_ms, err, msg);
		if (!r)
			return NULL;
		if (r->type != REDIS_REPLY_ERROR)
			return r;
		if (by_sha && !resent && !strncmp(r->str, "NOSCRIPT", 8)) {
			/* flushed, or a failover to a server that never had
			 * it: EVAL runs it and caches it again */
			by_sha = false;
			resent = true;
		} else if (!moved && !strncmp(r->str, "MOVED ", 6)) {
			struct quota_server to;

			moved = true;
			if (!moved_to(r->str, &to)) {
				*err = reply_error(c->server, k->argv[0], r->str, msg);
				freeReplyObject(r);
				return NULL;
			}
			/* stays connected there: that is where the slot lives */
			*err = conn_open(c, cfg, &to, msg);
			if (*err) {
				freeReplyObject(r);
				return NULL;
			}
			by_sha = script == quota_script;
		} else {
			*err = reply_error(c->server, k->argv[0], r->str, msg);
			freeReplyObject(r);
			return NULL;
		}
		freeReplyObject(r);
	}
}

/*
 * A write to a connection the server has closed raises SIGPIPE, which the
 * caller's process may not ignore: it is held back on this thread for the
 * call and discarded if the call raised it.
 */
struct pipe_guard {
	sigset_t old;
	bool was_pending;
};

static void pipe_guard_on(struct pipe_guard *g)
{
	sigset_t only, pending;

	sigemptyset(&only);
	sigaddset(&only, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &only, &g->old);
}

static void pipe_guard_off(struct pipe_guard *g)
{
	struct timespec zero = { 0 };
	sigset_t only, pending;

	sigemptyset(&only);
	sigaddset(&only, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1)
		while (sigtimedwait(&only, NULL, &zero) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

struct quota_conn *quota_conn_new(void)
{
	return calloc(1, sizeof(struct quota_conn));
}

void quota_conn_free(struct quota_conn *c)
{
	if (!c)
		return;
	conn_drop(c);
	free(c);
}

int quota_conn_sync(struct quota_conn *c, const struct quota_redis_config *cfg,
		    struct quota_batch *b)
{
	char msg[QUOTA_ERROR_MAX] = "";
	struct pipe_guard guard;
	struct call *k = NULL;
	redisReply *r = NULL;
	int err;

	b->started_ns = monotonic_ns();
	b->err = 0;
	b->error[0] = '\0';
	b->server[0] = '\0';
	b->replicas = 0;
	memset(b->grant, 0, sizeof(b->grant));

	err = check_config(cfg, msg);
	if (!err)
		err = check_batch(b, msg);
	if (!err) {
		k = malloc(sizeof(*k));
		if (!k) {
			say(msg, "redis: out of memory");
			err = -ENOMEM;
		}
	}
	if (!err) {
		call_sync(k, cfg, b);
		pipe_guard_on(&guard);
		r = run(c, cfg, k, quota_script, sizeof(quota_script) - 1, &err, msg);
		if (r) {
			err = read_grants(r, b, c->server, msg);
			freeReplyObject(r);
		}
		if (c->ctx)
			snprintf(b->server, sizeof(b->server), "%s", c->server);
		/* the next call starts from a fresh connection, and from the
		 * first server: a failover is found by ROLE */
		if (err) {
			memset(b->grant, 0, sizeof(b->grant));
			b->replicas = 0;
			conn_drop(c);
		}
		pipe_guard_off(&guard);
	}
	free(k);
	b->err = err;
	if (err)
		snprintf(b->error, sizeof(b->error), "%s", msg);
	b->finished_ns = monotonic_ns();
	return err;
}

int quota_conn_leave(struct quota_conn *c, const struct quota_redis_config *cfg,
		     const struct quota_batch *b)
{
	char msg[QUOTA_ERROR_MAX] = "";
	struct pipe_guard guard;
	struct call *k;
	redisReply *r;
	int err;

	err = check_config(cfg, msg);
	if (!err)
		err = check_names(b, msg);
	if (err)
		return err;
	k = malloc(sizeof(*k));
	if (!k)
		return -ENOMEM;
	call_keys(k, cfg, b);
	pipe_guard_on(&guard);
	r = run(c, cfg, k, leave_script, sizeof(leave_script) - 1, &err, msg);
	if (r)
		freeReplyObject(r);
	else
		conn_drop(c);
	pipe_guard_off(&guard);
	free(k);
	return err;
}

struct quota_client {
	struct quota_redis_config cfg;
	struct quota_conn *conn;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int efd;
	/* under lock */
	bool stopping;
	bool submitted; /* a batch waits for the thread */
	bool busy;      /* from submit until the result is taken */
	bool done;      /* a result waits for the caller */
	struct quota_batch work, out;
};

static void *client_main(void *arg)
{
	struct quota_client *qc = arg;
	const uint64_t one = 1;

	pthread_mutex_lock(&qc->lock);
	for (;;) {
		while (!qc->stopping && !qc->submitted)
			pthread_cond_wait(&qc->wake, &qc->lock);
		/* a submitted batch runs even when a stop follows it */
		if (!qc->submitted)
			break;
		qc->submitted = false;
		/* work is the thread's alone until done is set */
		pthread_mutex_unlock(&qc->lock);
		quota_conn_sync(qc->conn, &qc->cfg, &qc->work);
		pthread_mutex_lock(&qc->lock);
		qc->out = qc->work;
		qc->done = true;
		/* fails only with the counter full, which one result at a
		 * time cannot make it */
		if (write(qc->efd, &one, sizeof(one)) != sizeof(one)) {
		}
	}
	pthread_mutex_unlock(&qc->lock);
	return NULL;
}

struct quota_client *quota_client_start(const struct quota_redis_config *cfg, char *err,
					size_t len)
{
	char msg[QUOTA_ERROR_MAX] = "";
	struct quota_client *qc;
	sigset_t all, old;
	int rc;

	if (check_config(cfg, msg)) {
		snprintf(err, len, "%s", msg);
		return NULL;
	}
	qc = calloc(1, sizeof(*qc));
	if (!qc || !(qc->conn = quota_conn_new())) {
		snprintf(err, len, "redis client: out of memory");
		free(qc);
		return NULL;
	}
	qc->cfg = *cfg;
	qc->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (qc->efd < 0) {
		snprintf(err, len, "redis client: eventfd: %s", strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&qc->lock, NULL);
	pthread_cond_init(&qc->wake, NULL);
	/* the thread inherits a mask blocking everything, so signals stay
	 * with the daemon's signalfd */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&qc->thread, NULL, client_main, qc);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		snprintf(err, len, "redis client: pthread_create: %s", strerror(rc));
		pthread_cond_destroy(&qc->wake);
		pthread_mutex_destroy(&qc->lock);
		close(qc->efd);
		goto fail;
	}
	return qc;
fail:
	quota_conn_free(qc->conn);
	free(qc);
	return NULL;
}

int quota_client_fd(const struct quota_client *qc)
{
	return qc->efd;
}

bool quota_client_submit(struct quota_client *qc, const struct quota_batch *b)
{
	bool ok;

	pthread_mutex_lock(&qc->lock);
	ok = !qc->busy && !qc->stopping;
	if (ok) {
		qc->work = *b;
		qc->submitted = true;
		qc->busy = true;
		pthread_cond_signal(&qc->wake);
	}
	pthread_mutex_unlock(&qc->lock);
	return ok;
}

bool quota_client_result(struct quota_client *qc, struct quota_batch *out)
{
	uint64_t count;
	bool ok;

	pthread_mutex_lock(&qc->lock);
	ok = qc->done;
	if (ok) {
		*out = qc->out;
		qc->done = false;
		qc->busy = false;
		/* drains the count the thread wrote (nonblocking) */
		if (read(qc->efd, &count, sizeof(count)) < 0)
			count = 0;
	}
	pthread_mutex_unlock(&qc->lock);
	return ok;
}

void quota_client_stop(struct quota_client *qc, const struct quota_batch *leave)
{
	if (!qc)
		return;
	pthread_mutex_lock(&qc->lock);
	qc->stopping = true;
	pthread_cond_signal(&qc->wake);
	pthread_mutex_unlock(&qc->lock);
	/* a sync in flight ends by its own timeouts */
	pthread_join(qc->thread, NULL);
	/* only over a connection that works: a store that is down would hold
	 * the caller up for its timeouts, and the records expire anyway */
	if (leave && qc->conn->ctx)
		quota_conn_leave(qc->conn, &qc->cfg, leave);
	quota_conn_free(qc->conn);
	pthread_cond_destroy(&qc->wake);
	pthread_mutex_destroy(&qc->lock);
	close(qc->efd);
	free(qc);
}
