// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <bpf/bpf.h>
#include <json-c/json.h>

#include "clocks.h"
#include "daemon_quota.h"
#include "event_line.h"
#include "log.h"
#include "map_mmap.h"
#include "percpu.h"
#include "policy_apply.h"
#include "policy_quota.h"
#include "quota_share.h"

const double quota_rtt_bounds[QUOTA_RTT_BUCKETS] = { 0.0005, 0.001, 0.002, 0.005, 0.01,
						     0.025, 0.05, 0.1, 0.25 };

#define N_ENTRIES (RW_POLICY_SLOTS * RW_MAX_QUOTAS)
/* the table is used as a C array of the map's mmapped elements */
_Static_assert(sizeof(struct rw_quota) % 8 == 0, "rw_quota must need no padding between elements");

void daemon_quota_init(struct daemon_quota *dq)
{
	memset(dq, 0, sizeof(*dq));
	dq->timer_fd = -1;
}

int daemon_quota_timer_fd(const struct daemon_quota *dq)
{
	return dq->running ? dq->timer_fd : -1;
}

int daemon_quota_client_fd(const struct daemon_quota *dq)
{
	return dq->running && dq->client ? quota_client_fd(dq->client) : -1;
}

static struct rw_quota *entry(struct daemon_quota *dq, uint32_t slot, uint32_t id)
{
	return &dq->table[rw_quota_index(slot, id)];
}

static uint64_t now_ticks(void)
{
	return monotonic_ns() << RW_TICK_SHIFT;
}

/* Every shared bucket to its safe share: its lease ends now. Both slots:
 * a policy applied since the last read has copied the leases over. */
static void leases_end(struct daemon_quota *dq)
{
	for (uint32_t i = 0; dq->table && i < N_ENTRIES; i++)
		if (dq->table[i].name[0])
			__atomic_store_n(&dq->table[i].lease_until, 0, __ATOMIC_RELEASE);
}

/* The password file's first line; 0 or -errno. */
static int read_password(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");
	int err = 0;

	out[0] = 0;
	if (!f)
		return -errno;
	if (!fgets(out, (int)len, f))
		err = ferror(f) ? -EIO : 0;
	fclose(f);
	out[strcspn(out, "\r\n")] = 0;
	return err;
}

static int build_config(const struct policy_quota *s, const char *member,
			struct quota_redis_config *cfg, char *why, size_t len)
{
	char msg[256];
	int err;

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < s->n_redis && i < QUOTA_SERVERS_MAX; i++) {
		/* the parser took it already; a failure here would be a bug */
		if (!policy_quota_parse_url(s->redis[i], &cfg->servers[i], msg, sizeof(msg))) {
			snprintf(why, len, "quota: redis %.100s: %.120s", s->redis[i], msg);
			return -EINVAL;
		}
		cfg->n_servers++;
	}
	snprintf(cfg->username, sizeof(cfg->username), "%s", s->username);
	if (s->password_file[0]) {
		err = read_password(s->password_file, cfg->password, sizeof(cfg->password));
		if (!err && !cfg->password[0])
			err = -ENODATA;
		if (err) {
			snprintf(why, len, "quota: cannot read the password from %.200s: %s",
				 s->password_file, err == -ENODATA ? "it is empty" : strerror(-err));
			return err;
		}
	}
	snprintf(cfg->prefix, sizeof(cfg->prefix), "%s", s->prefix);
	snprintf(cfg->fleet, sizeof(cfg->fleet), "%s", s->fleet);
	snprintf(cfg->member, sizeof(cfg->member), "%s", member);
	cfg->timeout_ms = s->timeout_ms;
	cfg->ttl_ms = s->lease_ms;
	return 0;
}

static void stop_client(struct daemon_quota *dq, bool leave)
{
	if (!dq->client)
		return;
	/* the kernel first: once this gateway's shares are given up, it must
	 * already be back at its safe share */
	/* an answer in flight is lost with the client, and it may have given
	 * this gateway's share back: the safe share until the next sync */
	if (leave || dq->in_flight)
		leases_end(dq);
	quota_client_stop(dq->client, leave && dq->out.n ? &dq->out : NULL);
	dq->client = NULL;
	dq->in_flight = false;
}

static void close_timer(struct daemon_quota *dq)
{
	if (dq->timer_fd >= 0)
		close(dq->timer_fd);
	dq->timer_fd = -1;
}

static int open_timer(struct daemon_quota *dq, uint32_t ms)
{
	struct itimerspec its = {
		.it_interval = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 },
	};

	its.it_value = its.it_interval;
	close_timer(dq);
	dq->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (dq->timer_fd < 0 || timerfd_settime(dq->timer_fd, 0, &its, NULL)) {
		int err = -errno;

		close_timer(dq);
		return err;
	}
	return 0;
}

/* Time in safe share, counted here and in the kernel's table (which a
 * restarted daemon and the CLI read). */
static void count_degraded(struct daemon_quota *dq, uint64_t now)
{
	uint64_t spent = now - dq->mode_since_ns;

	if (dq->stats.mode != QUOTA_SAFE)
		return;
	dq->stats.degraded_s += (double)spent / 1e9;
	for (uint32_t id = 1; dq->table && id < RW_MAX_QUOTAS; id++) {
		struct rw_quota *q = entry(dq, dq->slot, id);

		if (q->name[0])
			__atomic_fetch_add(&q->degraded_ns, spent, __ATOMIC_RELAXED);
	}
	dq->mode_since_ns = now;
}

int daemon_quota_configure(struct daemon_quota *dq, const struct policy *p,
			   const struct policy_maps *m, const char *member)
{
	struct quota_redis_config cfg;
	char why[sizeof(dq->error)];
	size_t n = policy_quota_buckets(p, NULL, 0);
	struct rw_policy pol;
	bool same_fleet;
	int err;

	if (!n || !p->quota.present) {
		if (dq->running)
			rw_err("quota: the policy shares no bucket any more; this gateway leaves the fleet");
		stop_client(dq, true);
		close_timer(dq);
		dq->running = false;
		dq->stats.configured = false;
		dq->error[0] = 0;
		return 0;
	}
	if (dq->running && !memcmp(&dq->section, &p->quota, sizeof(p->quota)) &&
	    !strcmp(dq->cfg.member, member))
		return 0;
	/* a change of timing or safe share keeps this gateway's place and
	 * shares (the next sync renews them); another store, fleet or name
	 * leaves the old fleet first */
	same_fleet = dq->running && !strcmp(dq->cfg.member, member) &&
		     !strcmp(dq->section.fleet, p->quota.fleet) &&
		     !strcmp(dq->section.prefix, p->quota.prefix) &&
		     !strcmp(dq->section.username, p->quota.username) &&
		     dq->section.n_redis == p->quota.n_redis &&
		     !memcmp(dq->section.redis, p->quota.redis, sizeof(p->quota.redis));
	stop_client(dq, !same_fleet);
	dq->running = false;
	dq->stats.configured = true;
	if (!dq->table) {
		dq->table = map_mmap(m->quotas_fd, N_ENTRIES * sizeof(struct rw_quota), &dq->table_len);
		if (!dq->table) {
			err = -errno;
			snprintf(why, sizeof(why), "quota: cannot map the shared buckets: %s",
				 strerror(-err));
			goto fail;
		}
	}
	err = policy_read_active(m, &dq->slot, &pol);
	if (err) {
		snprintf(why, sizeof(why), "quota: cannot read the live policy: %s", strerror(-err));
		goto fail;
	}
	dq->generation = pol.generation;
	dq->read_ns = 0; /* dq->seen may hold the old slot's counts: the first sync measures nothing */
	err = build_config(&p->quota, member, &cfg, why, sizeof(why));
	if (err)
		goto fail;
	err = open_timer(dq, p->quota.sync_ms);
	if (err) {
		snprintf(why, sizeof(why), "quota: cannot start the sync timer: %s", strerror(-err));
		goto fail;
	}
	dq->client = quota_client_start(&cfg, why, sizeof(why));
	if (!dq->client) {
		err = -EAGAIN;
		close_timer(dq);
		goto fail;
	}
	dq->cfg = cfg;
	dq->section = p->quota;
	dq->running = true;
	dq->error[0] = 0;
	dq->refused = false;
	if (!same_fleet) {
		count_degraded(dq, monotonic_ns());
		dq->stats.mode = QUOTA_STARTING;
		dq->mode_since_ns = monotonic_ns();
	}
	rw_err("quota: %zu shared bucket%s, fleet %s as %s, syncing every %u ms", n, n == 1 ? "" : "s",
	       cfg.fleet, cfg.member, p->quota.sync_ms);
	return 0;
fail:
	/* nothing syncs: every shared bucket at its safe share, now */
	leases_end(dq);
	dq->stats.mode = QUOTA_SAFE;
	dq->mode_since_ns = dq->safe_at_ns = monotonic_ns();
	snprintf(dq->error, sizeof(dq->error), "%s", why);
	rw_err("%s; the shared buckets keep their safe share", why);
	return err;
}

void daemon_quota_on_timer(struct daemon_quota *dq, const struct policy_maps *m)
{
	uint64_t sums[2], now, expirations;
	struct quota_seen next[RW_MAX_QUOTAS] = { 0 };
	struct rw_policy pol;
	uint32_t slot;
	double dt;
	bool same;

	if (dq->timer_fd >= 0 && read(dq->timer_fd, &expirations, sizeof(expirations)) < 0 &&
	    errno != EAGAIN)
		return;
	if (!dq->running)
		return;
	now = monotonic_ns();
	count_degraded(dq, now);
	if (dq->in_flight) {
		dq->stats.skipped++;
		return;
	}
	if (policy_read_active(m, &slot, &pol))
		return;
	same = slot == dq->slot && pol.generation == dq->generation;
	dt = dq->read_ns ? (double)(now - dq->read_ns) / 1e9 : 0;
	memset(&dq->out, 0, sizeof(dq->out));
	for (uint32_t id = 1; id < RW_MAX_QUOTAS; id++) {
		const struct rw_quota *q = entry(dq, slot, id);
		uint32_t idx = rw_quota_index(slot, id);
		struct quota_seen *s = &next[id];
		struct quota_request *r;
		const struct quota_seen *was = NULL;
		double seen_rate = 0;

		if (!q->name[0] || percpu_sum_key(m->quota_counts_fd, idx, 2, sums))
			continue;
		memcpy(s->name, q->name, sizeof(s->name));
		s->reached = sums[0];
		s->admitted = sums[1];
		if (same && !strncmp(dq->seen[id].name, q->name, sizeof(q->name)))
			was = &dq->seen[id];
		for (uint32_t o = 1; !same && o < RW_MAX_QUOTAS; o++)
			if (!strncmp(dq->seen[o].name, q->name, sizeof(q->name)))
				s->demand = dq->seen[o].demand; /* a new policy: demand carries, counts start */
		r = &dq->out.req[dq->out.n];
		memcpy(r->name, q->name, sizeof(r->name));
		r->rate = quota_word_rate(q->limit);
		r->burst = (double)rw_limit_burst(q->limit);
		if (was && dt > 0) {
			seen_rate = (double)(s->reached - was->reached) / dt;
			r->admitted = s->admitted - was->admitted;
			s->demand = quota_demand(was->demand, seen_rate, dt);
		}
		r->demand = s->demand;
		dq->out_ids[dq->out.n++] = (uint8_t)id;
	}
	memcpy(dq->seen, next, sizeof(next));
	dq->slot = slot;
	dq->generation = pol.generation;
	dq->read_ns = now;
	if (!dq->out.n)
		return;
	dq->out_slot = slot;
	dq->out_generation = pol.generation;
	dq->in_flight = quota_client_submit(dq->client, &dq->out);
}

static json_object *line_head(const char *instance_id, int64_t realtime_offset_ns,
			      const char *action)
{
	json_object *o = event_line_head(instance_id, (int64_t)monotonic_ns() + realtime_offset_ns);

	json_object_object_add(o, "limit_name", json_object_new_string("quota"));
	json_object_object_add(o, "action", json_object_new_string(action));
	return o;
}

/* The buckets of the live slot with the rate each is held to now. */
static json_object *buckets_json(struct daemon_quota *dq)
{
	json_object *a = json_object_new_array();
	uint64_t now = now_ticks();

	for (uint32_t id = 1; dq->table && id < RW_MAX_QUOTAS; id++) {
		const struct rw_quota *q = entry(dq, dq->slot, id);
		json_object *o;

		if (!q->name[0])
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "bucket", json_object_new_string(q->name));
		json_object_object_add(o, "global_rate", json_object_new_double(quota_rate_shown(quota_word_rate(q->limit))));
		json_object_object_add(o, "rate", json_object_new_double(quota_rate_shown(
			quota_word_rate(quota_word_in_force(q, now)))));
		json_object_object_add(o, "replicas", json_object_new_int64(q->replicas));
		json_object_array_add(a, o);
	}
	return a;
}

static void say(json_object *o, quota_line_fn line, void *ctx)
{
	line(ctx, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void go_safe(struct daemon_quota *dq, const struct quota_batch *b, const char *instance_id,
		    int64_t off, quota_line_fn line, void *ctx)
{
	uint64_t real = realtime_ns();
	json_object *o;

	leases_end(dq);
	for (uint32_t id = 1; id < RW_MAX_QUOTAS; id++) {
		struct rw_quota *q = entry(dq, dq->slot, id);

		if (q->name[0]) {
			q->safe_since_ns = real;
			q->to_safe++;
		}
	}
	dq->stats.mode = QUOTA_SAFE;
	dq->stats.to_safe++;
	dq->mode_since_ns = dq->safe_at_ns = monotonic_ns();
	rw_err("quota: %s; every shared bucket is at its safe share until the store answers",
	       b->error);
	o = line_head(instance_id, off, "quota_safe");
	json_object_object_add(o, "reason", json_object_new_string(b->error));
	json_object_object_add(o, "buckets", buckets_json(dq));
	say(o, line, ctx);
}

static void go_shared(struct daemon_quota *dq, const struct quota_batch *b,
		      const char *instance_id, int64_t off, quota_line_fn line, void *ctx)
{
	uint64_t now = monotonic_ns();
	double degraded = dq->stats.mode == QUOTA_SAFE ? (double)(now - dq->safe_at_ns) / 1e9 : 0;
	json_object *o;

	count_degraded(dq, now);
	if (dq->stats.mode == QUOTA_SAFE)
		dq->stats.to_shared++;
	rw_err("quota: shared through %s with %u gateway%s", b->server, b->replicas,
	       b->replicas == 1 ? "" : "s");
	dq->stats.mode = QUOTA_SHARED;
	dq->mode_since_ns = now;
	o = line_head(instance_id, off, "quota_shared");
	json_object_object_add(o, "store", json_object_new_string(b->server));
	json_object_object_add(o, "replicas", json_object_new_int64(b->replicas));
	json_object_object_add(o, "degraded_s", json_object_new_double(degraded));
	json_object_object_add(o, "buckets", buckets_json(dq));
	say(o, line, ctx);
}

/* The shares of an answered sync, each under a lease counted from when
 * the sync started: the store's record of this gateway outlives it. */
static void write_shares(struct daemon_quota *dq, const struct quota_batch *b)
{
	uint64_t lease = (b->started_ns + (uint64_t)dq->section.lease_ms * 1000000) << RW_TICK_SHIFT;
	uint64_t real = realtime_ns();

	for (size_t i = 0; i < b->n; i++) {
		struct rw_quota *q = entry(dq, dq->out_slot, dq->out_ids[i]);
		const struct quota_grant *g = &b->grant[i];
		uint64_t safe = quota_safe_word(q->limit, q->safe_ppm, b->replicas);
		uint64_t share = quota_share_word(g->rate, g->burst);

		if (strncmp(q->name, b->req[i].name, sizeof(q->name)))
			continue;
		/* Just joined (or back from the safe share): the others give their
		 * parts back only at their own syncs, so for a few syncs a smaller
		 * grant leaves the safe share in force rather than refusing all. */
		if (dq->joining && quota_word_rate(share) < quota_word_rate(safe))
			share = safe;
		if (g->mismatched && !q->mismatched)
			rw_err("quota: %u other gateway%s declare%s another rate or burst for %s; "
			       "the smallest declared is shared until the policies agree",
			       g->mismatched, g->mismatched == 1 ? "" : "s",
			       g->mismatched == 1 ? "s" : "", q->name);
		q->mismatched = g->mismatched;
		/* share before lease: a reader never takes a new lease with the old share */
		__atomic_store_n(&q->share, share, __ATOMIC_RELEASE);
		__atomic_store_n(&q->lease_until, lease, __ATOMIC_RELEASE);
		__atomic_store_n(&q->safe, safe, __ATOMIC_RELEASE);
		q->replicas = b->replicas;
		q->share_mrate = (uint64_t)(g->rate * 1000 + 0.5);
		q->synced_at_ns = real;
		q->safe_since_ns = 0;
	}
}

void daemon_quota_on_result(struct daemon_quota *dq, const struct policy_maps *m,
			    const char *instance_id, int64_t realtime_offset_ns, quota_line_fn line,
			    void *ctx)
{
	struct quota_batch b;
	struct rw_policy pol;
	uint32_t slot;

	if (!dq->running || !quota_client_result(dq->client, &b))
		return;
	dq->in_flight = false;
	if (b.err) {
		dq->stats.failed++;
		/* refused credentials are the operator's to fix, not an outage */
		if (b.err == -EACCES) {
			snprintf(dq->error, sizeof(dq->error), "quota: %.240s", b.error);
			dq->refused = true;
		}
		if (dq->stats.mode != QUOTA_SAFE)
			go_safe(dq, &b, instance_id, realtime_offset_ns, line, ctx);
		return;
	}
	if (dq->refused)
		dq->error[0] = 0;
	dq->refused = false;
	dq->stats.ok++;
	dq->stats.replicas = b.replicas;
	{
		double rtt = (double)(b.finished_ns - b.started_ns) / 1e9;

		dq->stats.rtt_sum_s += rtt;
		for (int i = 0; i < QUOTA_RTT_BUCKETS; i++)
			dq->stats.rtt_le[i] += rtt <= quota_rtt_bounds[i];
	}
	/* A policy applied meanwhile: the answer may have given part of a share
	 * back that the new slot still holds, so the safe share until the
	 * next sync writes the new slot. */
	if (policy_read_active(m, &slot, &pol) || slot != dq->out_slot ||
	    pol.generation != dq->out_generation) {
		leases_end(dq);
		return;
	}
	if (dq->stats.mode != QUOTA_SHARED)
		dq->joining = QUOTA_JOIN_SYNCS;
	write_shares(dq, &b);
	if (dq->joining)
		dq->joining--;
	if (dq->stats.mode != QUOTA_SHARED)
		go_shared(dq, &b, instance_id, realtime_offset_ns, line, ctx);
}

void daemon_quota_stop(struct daemon_quota *dq)
{
	if (dq->running)
		count_degraded(dq, monotonic_ns());
	stop_client(dq, true);
	close_timer(dq);
	if (dq->table)
		munmap(dq->table, dq->table_len);
	dq->table = NULL;
	dq->running = false;
}
