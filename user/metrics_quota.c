// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The shared buckets' metrics: per bucket from the pinned table (so they
 * are there with or without a daemon), per daemon its syncs with the
 * store. Nothing when the live policy shares no bucket.
 */
#include "daemon_quota.h"
#include "metrics.h"
#include "quota_share.h"
#include "quota_show.h"

typedef double (*bucket_value_fn)(const struct quota_view *v, uint32_t id);

static void per_bucket(FILE *f, const struct quota_view *v, const char *name, const char *type,
		       const char *help, bucket_value_fn what)
{
	metrics_family(f, name, type, help);
	for (uint32_t id = 1; id < RW_MAX_QUOTAS; id++)
		if (v->q[id].name[0]) {
			fprintf(f, "%s{", name);
			metrics_label(f, "bucket", v->q[id].name, true);
			fprintf(f, "} %.15g\n", what(v, id));
		}
}

static double global_rate(const struct quota_view *v, uint32_t id)
{
	return quota_word_rate(v->q[id].limit);
}

static double rate_here(const struct quota_view *v, uint32_t id)
{
	return quota_word_rate(quota_view_word(v, id));
}

static double safe_rate(const struct quota_view *v, uint32_t id)
{
	return quota_word_rate(v->q[id].safe);
}

static double shared(const struct quota_view *v, uint32_t id)
{
	return quota_view_shared(v, id);
}

static double replicas(const struct quota_view *v, uint32_t id)
{
	return v->q[id].replicas;
}

static double mismatched(const struct quota_view *v, uint32_t id)
{
	return v->q[id].mismatched;
}

static double degraded(const struct quota_view *v, uint32_t id)
{
	return (double)v->q[id].degraded_ns / 1e9;
}

static double to_safe(const struct quota_view *v, uint32_t id)
{
	return (double)v->q[id].to_safe;
}

static double reached(const struct quota_view *v, uint32_t id)
{
	return (double)v->reached[id];
}

static double admitted(const struct quota_view *v, uint32_t id)
{
	return (double)v->admitted[id];
}

static void syncs(FILE *f, const struct quota_sync_stats *s)
{
	uint64_t answered = s->ok;

	metrics_family(f, "ratewall_quota_syncs_total", "counter",
		       "Syncs with the quota store, by result; skipped: the last was still out.");
	fprintf(f, "ratewall_quota_syncs_total{result=\"ok\"} %llu\n", (unsigned long long)s->ok);
	fprintf(f, "ratewall_quota_syncs_total{result=\"failed\"} %llu\n", (unsigned long long)s->failed);
	fprintf(f, "ratewall_quota_syncs_total{result=\"skipped\"} %llu\n",
		(unsigned long long)s->skipped);
	metrics_family(f, "ratewall_quota_sync_seconds", "histogram",
		       "Round trip of the syncs the store answered, connect included.");
	for (int i = 0; i < QUOTA_RTT_BUCKETS; i++)
		fprintf(f, "ratewall_quota_sync_seconds_bucket{le=\"%g\"} %llu\n", quota_rtt_bounds[i],
			(unsigned long long)s->rtt_le[i]);
	fprintf(f, "ratewall_quota_sync_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)answered);
	fprintf(f, "ratewall_quota_sync_seconds_sum %.9g\n", s->rtt_sum_s);
	fprintf(f, "ratewall_quota_sync_seconds_count %llu\n", (unsigned long long)answered);
	metrics_family(f, "ratewall_quota_switches_total", "counter",
		       "Switches of this daemon's shared buckets to their safe share and back.");
	fprintf(f, "ratewall_quota_switches_total{to=\"safe\"} %llu\n", (unsigned long long)s->to_safe);
	fprintf(f, "ratewall_quota_switches_total{to=\"shared\"} %llu\n",
		(unsigned long long)s->to_shared);
	metrics_gauge(f, "ratewall_quota_safe",
		      "1 while this daemon holds the shared buckets at their safe share.",
		      s->mode == QUOTA_SAFE);
	metrics_gauge(f, "ratewall_quota_fleet_gateways",
		      "Gateways in the fleet at the last answered sync.", s->replicas);
}

void metrics_quota(FILE *f, const struct attachment *a, const struct quota_sync_stats *s)
{
	struct quota_view v;

	if (quota_view_read(&a->maps, &v) || !v.n)
		return;
	per_bucket(f, &v, "ratewall_quota_global_rate", "gauge",
		   "The fleet's rate of each shared bucket per second, as written.", global_rate);
	per_bucket(f, &v, "ratewall_quota_rate", "gauge",
		   "The rate in force here: this gateway's share under a lease, else the safe share.",
		   rate_here);
	per_bucket(f, &v, "ratewall_quota_safe_rate", "gauge",
		   "The safe share's rate, in force when the store does not answer.", safe_rate);
	per_bucket(f, &v, "ratewall_quota_shared", "gauge",
		   "1 while this gateway's share holds under a live lease, 0 at the safe share.", shared);
	per_bucket(f, &v, "ratewall_quota_gateways", "gauge",
		   "Gateways in the fleet when the bucket last synced; 0 before any sync.", replicas);
	per_bucket(f, &v, "ratewall_quota_mismatched_gateways", "gauge",
		   "Other gateways declaring another rate or burst for the bucket (the smallest is shared).",
		   mismatched);
	per_bucket(f, &v, "ratewall_quota_degraded_seconds_total", "counter",
		   "Time the bucket spent at its safe share while a daemon ran.", degraded);
	per_bucket(f, &v, "ratewall_quota_to_safe_total", "counter",
		   "Times the bucket went from its share to its safe share.", to_safe);
	per_bucket(f, &v, "ratewall_quota_reached_packets_total", "counter",
		   "Packets that reached the bucket here (reset by a policy apply).", reached);
	per_bucket(f, &v, "ratewall_quota_admitted_packets_total", "counter",
		   "Packets the bucket admitted here (reset by a policy apply).", admitted);
	if (s && s->configured)
		syncs(f, s);
}
