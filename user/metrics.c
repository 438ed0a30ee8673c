// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "conns.h"
#include "counters.h"
#include "map_count.h"
#include "metrics.h"
#include "percpu.h"
#include "policy_compile.h"
#include "policy_show.h"
#include "version.h"

/* Label values may hold anything a path or name may: escape as the format asks. */
static void label(FILE *f, const char *name, const char *value, bool first)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_family(FILE *f, const char *name, const char *type, const char *help)
{
	family(f, name, type, help);
}

void metrics_label(FILE *f, const char *name, const char *value, bool first)
{
	label(f, name, value, first);
}

static void value_u64(FILE *f, uint64_t v)
{
	fprintf(f, "} %llu\n", (unsigned long long)v);
}

static void value_f(FILE *f, double v)
{
	fprintf(f, "} %.17g\n", v);
}

/* Pairs every class shows even at zero, so that rate() sees a series from its start. */
static bool always_shown(unsigned int reason, unsigned int verdict)
{
	if (verdict == RW_VERDICT_PASS)
		return reason == RW_REASON_ADMITTED;
	return reason == RW_REASON_SRC_PKT || reason == RW_REASON_SRC_SYN ||
	       reason == RW_REASON_SRC_NEW || reason == RW_REASON_TENANT_PKT ||
	       reason == RW_REASON_TENANT_SYN || reason == RW_REASON_CLASS_PKT ||
	       reason == RW_REASON_CLASS_SYN || reason == RW_REASON_SHED ||
	       reason == RW_REASON_SRC_CONN || reason == RW_REASON_CLASS_CONN ||
	       reason == RW_REASON_DENY;
}

static void verdict_counters(FILE *f, const struct counter_table *t, const struct rw_policy *pol,
			     bool bytes)
{
	const char *name = bytes ? "ratewall_bytes_total" : "ratewall_packets_total";
	char class_name[RW_NAME_MAX];

	family(f, name, "counter",
	       bytes ? "Bytes of the packets XDP judged, by route class, verdict and reason."
		     : "Packets XDP judged, by route class, verdict and reason.");
	for (uint32_t c = 0; c < RW_MAX_CLASSES; c++)
		for (uint32_t r = 0; r < RW_REASON_MAX; r++)
			for (uint32_t v = 0; v < RW_VERDICT_MAX; v++) {
				const struct rw_counter *s = &t->slot[rw_counter_index(c, r, v)];

				if (!s->packets && !(c < pol->n_classes && always_shown(r, v)))
					continue;
				fprintf(f, "%s{", name);
				label(f, "class", live_class_name(pol, c, class_name, sizeof(class_name)),
				      true);
				label(f, "verdict", verdict_name(v), false);
				label(f, "reason", reason_name(r), false);
				value_u64(f, bytes ? s->bytes : s->packets);
			}
}

static void bucket_series(FILE *f, const char *name, const char *const pairs[][2], size_t n_pairs,
			  const char *limit, uint64_t word, bool rate)
{
	if (!word)
		return;
	fprintf(f, "%s{", name);
	for (size_t i = 0; i < n_pairs; i++)
		label(f, pairs[i][0], pairs[i][1], i == 0);
	label(f, "limit", limit, false);
	if (rate)
		value_f(f, limit_word_rate(word));
	else
		value_u64(f, rw_limit_burst(word));
}

static void class_limits(FILE *f, const struct rw_policy *pol, bool rate)
{
	char class_name[RW_NAME_MAX];

	for (uint32_t c = 0; c < pol->n_classes && c < RW_MAX_CLASSES; c++) {
		const struct rw_class_limits *cl = &pol->classes[c];
		const char *src[2][2] = { { "class", live_class_name(pol, c, class_name,
								       sizeof(class_name)) },
					  { "scope", "source" } };
		const char *glb[2][2] = { { "class", src[0][1] }, { "scope", "global" } };
		const char *name = rate ? "ratewall_class_rate" : "ratewall_class_burst";

		bucket_series(f, name, src, 2, "packets", cl->src_pkt, rate);
		bucket_series(f, name, src, 2, "syn", cl->src_syn, rate);
		bucket_series(f, name, glb, 2, "packets", cl->class_pkt, rate);
		bucket_series(f, name, glb, 2, "syn", cl->class_syn, rate);
	}
}

static void tenant_limits(FILE *f, const struct live_policy *lp, bool rate)
{
	const char *name = rate ? "ratewall_tenant_rate" : "ratewall_tenant_burst";
	char class_name[RW_NAME_MAX];

	for (uint32_t t = 1; t <= lp->policy.n_tenants && t < RW_MAX_TENANTS; t++) {
		const struct rw_tenant_limits *tl = &lp->tenants[t];
		const char *all[2][2] = { { "tenant", tl->name }, { "class", "" } };

		bucket_series(f, name, all, 2, "packets", tl->pkt, rate);
		bucket_series(f, name, all, 2, "syn", tl->syn, rate);
		for (uint32_t c = 0; c < lp->policy.n_classes && c < RW_MAX_CLASSES; c++) {
			const char *one[2][2] = {
				{ "tenant", tl->name },
				{ "class", live_class_name(&lp->policy, c, class_name, sizeof(class_name)) }
			};

			bucket_series(f, name, one, 2, "packets", tl->class_pkt[c], rate);
			bucket_series(f, name, one, 2, "syn", tl->class_syn[c], rate);
		}
	}
}

static void class_state(FILE *f, const struct attachment *a, const struct rw_policy *pol)
{
	static const char *const modes[] = { "enforce", "observe", "shed" };
	char class_name[RW_NAME_MAX];

	family(f, "ratewall_class_connection_cap", "gauge",
	       "Cap on open TCP connections, per source or for the whole class.");
	for (uint32_t c = 0; c < pol->n_classes && c < RW_MAX_CLASSES; c++) {
		const struct rw_class_limits *cl = &pol->classes[c];
		const char *n = live_class_name(pol, c, class_name, sizeof(class_name));

		if (cl->src_conn) {
			fputs("ratewall_class_connection_cap{", f);
			label(f, "class", n, true);
			label(f, "scope", "source", false);
			value_u64(f, cl->src_conn);
		}
		if (cl->class_conn) {
			fputs("ratewall_class_connection_cap{", f);
			label(f, "class", n, true);
			label(f, "scope", "global", false);
			value_u64(f, cl->class_conn);
		}
	}
	family(f, "ratewall_class_mode", "gauge", "1 for the mode each class is in, 0 for the others.");
	for (uint32_t c = 0; c < pol->n_classes && c < RW_MAX_CLASSES; c++)
		for (uint32_t m = 0; m < RW_CLASS_MODE_MAX; m++) {
			fputs("ratewall_class_mode{", f);
			label(f, "class", live_class_name(pol, c, class_name, sizeof(class_name)), true);
			label(f, "mode", modes[m], false);
			value_u64(f, pol->classes[c].mode == m);
		}
	family(f, "ratewall_class_open_connections", "gauge",
	       "Open TCP connections of each class, counted by sockops.");
	for (uint32_t c = 0; c < pol->n_classes && c < RW_MAX_CLASSES; c++) {
		struct rw_class_conns cc = { 0 };

		bpf_map_lookup_elem(a->conns.class_conns_fd, &c, &cc);
		fputs("ratewall_class_open_connections{", f);
		label(f, "class", live_class_name(pol, c, class_name, sizeof(class_name)), true);
		value_u64(f, cc.open);
	}
}

static void gauge1(FILE *f, const char *name, const char *help, double v)
{
	family(f, name, "gauge", help);
	fprintf(f, "%s %.17g\n", name, v);
}

static void counter1(FILE *f, const char *name, const char *help, uint64_t v)
{
	family(f, name, "counter", help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

void metrics_gauge(FILE *f, const char *name, const char *help, double v)
{
	gauge1(f, name, help, v);
}

void metrics_counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	counter1(f, name, help, v);
}

static void map_fill(FILE *f, const struct attachment *a, const struct rw_config *cfg,
		     const struct daemon_health *d)
{
	static const char *const counted[COUNTED_MAX] = { "sources", "conns" };
	/* at most 16,384: counted at each scrape */
	int64_t events = map_count_entries(a->maps.events.entries_fd);

	family(f, "ratewall_map_entries", "gauge", "Entries in each table.");
	for (int t = 0; t < COUNTED_MAX; t++)
		if (d->counted_at[t])
			fprintf(f, "ratewall_map_entries{map=\"%s\"} %llu\n", counted[t],
				(unsigned long long)d->counted[t]);
	if (events >= 0)
		fprintf(f, "ratewall_map_entries{map=\"event_entries\"} %lld\n", (long long)events);
	family(f, "ratewall_map_capacity", "gauge", "Entries each table holds at most.");
	fprintf(f, "ratewall_map_capacity{map=\"sources\"} %u\n", cfg->max_entries);
	fprintf(f, "ratewall_map_capacity{map=\"conns\"} %u\n", cfg->conn_entries);
	fprintf(f, "ratewall_map_capacity{map=\"event_entries\"} %u\n", RW_EVENT_ENTRIES);
	family(f, "ratewall_map_counted_timestamp_seconds", "gauge",
	       "When the large tables were last counted (a pass every 15 s).");
	for (int t = 0; t < COUNTED_MAX; t++)
		if (d->counted_at[t])
			fprintf(f, "ratewall_map_counted_timestamp_seconds{map=\"%s\"} %.17g\n",
				counted[t], d->counted_at[t]);
}

static void event_path(FILE *f, const struct attachment *a, const struct rw_policy *pol,
		       const struct daemon_health *d)
{
	uint64_t st[RW_EVSTAT_MAX] = { 0 }, other[RW_MAX_CLASSES];
	char class_name[RW_NAME_MAX];

	event_stats_read(a->maps.events.stats_fd, st);
	/* by class: an apply that renames one restarts its count alone */
	family(f, "ratewall_event_other_source_packets_total", "counter",
	       "Refusals counted under their class's other sources (src_new, or past the entry budget).");
	if (event_other_packets(&a->maps.events, other) == 0)
		for (uint32_t c = 0; c < RW_MAX_CLASSES; c++) {
			if (!other[c] && c >= pol->n_classes)
				continue;
			fputs("ratewall_event_other_source_packets_total{", f);
			label(f, "class", live_class_name(pol, c, class_name, sizeof(class_name)), true);
			value_u64(f, other[c]);
		}
	counter1(f, "ratewall_events_sent_total",
		 "Refusal events XDP put into the ring buffer.", st[RW_EVSTAT_SENT]);
	counter1(f, "ratewall_events_dropped_total",
		 "Refusal events lost to a full ring buffer (their packets ride the next event).",
		 st[RW_EVSTAT_RING_FULL]);
	counter1(f, "ratewall_event_unrecorded_packets_total",
		 "Refusals no event entry could count (the entry table refused an insert).",
		 st[RW_EVSTAT_NO_ENTRY]);
	if (d->sink) {
		counter1(f, "ratewall_daemon_event_lines_total", "Event lines the daemon wrote.",
			 d->sink->lines);
		counter1(f, "ratewall_daemon_event_write_errors_total",
			 "Event lines lost to a failed write.", d->sink->write_errors);
		counter1(f, "ratewall_daemon_event_reopens_total",
			 "Times the events file was reopened (SIGHUP).", d->sink->reopens);
	}
	if (d->stream) {
		counter1(f, "ratewall_daemon_event_flushes_total",
			 "Event lines the daemon wrote for sources gone quiet after their last event.",
			 d->stream->flushed);
		counter1(f, "ratewall_daemon_event_account_errors_total",
			 "Times the daemon could not record what it wrote of an entry.",
			 d->stream->acct_errors);
	}
}

static void connection_events(FILE *f, const struct attachment *a)
{
	static const char *const names[RW_CONN_EVENT_MAX] = {
		"opened", "closed", "table_full", "lost", "seeded", "moved",
	};
	uint64_t ev[RW_CONN_EVENT_MAX] = { 0 };

	percpu_sum(a->conns.events_fd, RW_CONN_EVENT_MAX, 1, ev);
	family(f, "ratewall_connection_events_total", "counter",
	       "What happened to counted TCP connections, by event.");
	for (int i = 0; i < RW_CONN_EVENT_MAX; i++)
		fprintf(f, "ratewall_connection_events_total{event=\"%s\"} %llu\n", names[i],
			(unsigned long long)ev[i]);
}

static void policy_info(FILE *f, const struct rw_policy *pol, const struct rw_config *cfg)
{
	char hash[65];

	policy_hash_hex(pol->hash, hash);
	family(f, "ratewall_policy_info", "gauge",
	       "The live policy: its hash (equal on replicas running the same policy).");
	fprintf(f, "ratewall_policy_info{hash=\"%s\"} 1\n", hash);
	gauge1(f, "ratewall_policy_generation", "Policy changes since attach (1 is the first).",
	       (double)pol->generation);
	gauge1(f, "ratewall_policy_live_edits",
	       "Command-line changes since a policy file was applied.", pol->live_edits);
	gauge1(f, "ratewall_policy_applied_timestamp_seconds", "When the live policy was applied.",
	       (double)pol->applied_at_ns / 1e9);
	gauge1(f, "ratewall_shed_all", "1 while every class sheds new connections.", cfg->shed_all);
	gauge1(f, "ratewall_new_source_rate", "New sources admitted per second at most.",
	       (double)cfg->new_rate);
	gauge1(f, "ratewall_new_source_burst", "New sources admitted at once at most.",
	       (double)cfg->new_burst);
}

int metrics_render(const struct attachment *a, const struct daemon_health *d, char **text,
		   size_t *len)
{
	struct counter_table *t = malloc(sizeof(*t));
	struct live_policy *lp = malloc(sizeof(*lp));
	struct rw_config cfg;
	uint32_t zero = 0;
	int err = -ENOMEM;
	FILE *f = NULL;

	*text = NULL;
	if (!t || !lp)
		goto out;
	if (bpf_map_lookup_elem(a->maps.config_fd, &zero, &cfg)) {
		err = -errno;
		goto out;
	}
	err = live_policy_read_limits(&a->maps, lp);
	if (!err)
		err = counters_read(a->maps.counters_fd, t);
	if (err)
		goto out;
	f = open_memstream(text, len);
	if (!f) {
		err = -errno;
		goto out;
	}
	verdict_counters(f, t, &lp->policy, false);
	verdict_counters(f, t, &lp->policy, true);
	family(f, "ratewall_class_rate", "gauge",
	       "Live rate of each class bucket per second, per source or for the whole class.");
	class_limits(f, &lp->policy, true);
	family(f, "ratewall_class_burst", "gauge", "Live burst of each class bucket.");
	class_limits(f, &lp->policy, false);
	family(f, "ratewall_tenant_rate", "gauge",
	       "Live rate of each tenant bucket per second; class=\"\" is all its classes.");
	tenant_limits(f, lp, true);
	family(f, "ratewall_tenant_burst", "gauge", "Live burst of each tenant bucket.");
	tenant_limits(f, lp, false);
	class_state(f, a, &lp->policy);
	connection_events(f, a);
	map_fill(f, a, &cfg, d);
	event_path(f, a, &lp->policy, d);
	policy_info(f, &lp->policy, &cfg);
	metrics_control(f, a);
	metrics_quota(f, a, d->quota);
	family(f, "ratewall_build_info", "gauge", "The ratewall version serving these metrics.");
	fprintf(f, "ratewall_build_info{version=\"%s\"} 1\n", RW_VERSION);
	gauge1(f, "ratewall_daemon_start_time_seconds", "When the daemon started.", d->start_time);
	gauge1(f, "ratewall_daemon_healthy",
	       "1 while the daemon's loop runs, its attachment is in place and events are written.",
	       d->healthy);
	if (fclose(f)) {
		err = -errno;
		free(*text);
		*text = NULL;
		goto out;
	}
	err = 0;
out:
	free(t);
	free(lp);
	return err;
}
