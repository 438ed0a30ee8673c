// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "cli_buckets.h"
#include "log.h"
#include "policy_values.h"

static const char *const kw_names[] = { "rate", "burst", "syn-rate", "syn-burst", "conn-cap" };

int buckets_parse(struct arg_cursor *cur, enum bucket_kw kw, struct buckets_change *chg)
{
	struct limit_change *l = kw == BKW_RATE || kw == BKW_BURST ? &chg->packets : &chg->syn;
	const char *name = kw_names[kw], *value;
	uint64_t v;

	if (arg_take_value(cur, name, &value))
		return -1;
	chg->any = true;
	switch (kw) {
	case BKW_RATE:
	case BKW_SYN_RATE:
		if (strcmp(value, "none") == 0) {
			l->remove = true;
			return 0;
		}
		l->set_rate = true;
		return cli_parse_rate(name, value, &l->rate);
	case BKW_BURST:
	case BKW_SYN_BURST:
		l->set_burst = true;
		return cli_parse_burst(name, value, &l->burst);
	case BKW_CONN_CAP:
		chg->set_cap = true;
		if (strcmp(value, "none") == 0) {
			chg->cap = 0;
			return 0;
		}
		if (arg_parse_u64(name, value, 1, RW_CONN_CAP_MAX, &v))
			return -1;
		chg->cap = (uint32_t)v;
		return 0;
	}
	return -1;
}

static bool limit_conflict(const struct limit_change *l, const char *kind)
{
	if (l->remove && (l->set_rate || l->set_burst)) {
		cli_usage_error("%s 'none' removes the bucket; it takes no rate or burst too", kind);
		return true;
	}
	return false;
}

bool buckets_conflict(const struct buckets_change *chg)
{
	return limit_conflict(&chg->packets, "rate") || limit_conflict(&chg->syn, "syn-rate");
}

static int limit_apply(const struct limit_change *chg, struct policy_limit *l, const char *what,
		       const char *kind)
{
	if (chg->remove) {
		memset(l, 0, sizeof(*l));
		return 0;
	}
	if (chg->set_burst && !chg->set_rate && !l->count) {
		rw_err("%s has no %s bucket to change the burst of; give a rate too", what, kind);
		return -1;
	}
	if (chg->set_rate) {
		bool had = l->count != 0;

		l->count = chg->rate.count;
		l->period_ns = chg->rate.period_ns;
		if (!had && !chg->set_burst)
			l->burst = policy_default_burst(l->count, l->period_ns);
	}
	if (chg->set_burst)
		l->burst = chg->burst;
	return 0;
}

int buckets_apply(const struct buckets_change *chg, struct policy_buckets *b, const char *what)
{
	if (limit_apply(&chg->packets, &b->packets, what, "packet") ||
	    limit_apply(&chg->syn, &b->syn, what, "syn"))
		return -1;
	if (chg->set_cap)
		b->connections = chg->cap;
	return 0;
}

void policy_limit_format(const struct policy_limit *l, char *buf, size_t len)
{
	const char *unit = l->period_ns == 60 * RW_NS_PER_SEC	 ? "m" :
			   l->period_ns == 3600 * RW_NS_PER_SEC ? "h" :
								 "s";

	if (!l->count)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%" PRIu64 "/%s burst %" PRIu64, l->count, unit, l->burst);
}
