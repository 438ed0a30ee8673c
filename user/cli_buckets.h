/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The bucket keywords that `class set` and `tenant add` share (rate, burst,
 * syn-rate, syn-burst, conn-cap), parsed into a change and applied to one
 * scope of the policy model.
 */
#ifndef RW_CLI_BUCKETS_H
#define RW_CLI_BUCKETS_H

#include <stdbool.h>
#include "args.h"
#include "policy.h"

struct limit_change {
	bool set_rate, remove, set_burst;
	struct policy_limit rate; /* count and period_ns when set_rate */
	uint64_t burst;
};

struct buckets_change {
	struct limit_change packets, syn;
	bool set_cap;
	uint32_t cap; /* 0: remove the cap */
	bool any;
};

enum bucket_kw { BKW_RATE, BKW_BURST, BKW_SYN_RATE, BKW_SYN_BURST, BKW_CONN_CAP };

/*
 * Parses the value of bucket keyword `kw` (taken from `cur`) into `chg`.
 * `rate none` and `conn-cap none` remove. 0, or -1 after one error line.
 */
int buckets_parse(struct arg_cursor *cur, enum bucket_kw kw, struct buckets_change *chg);

/* A change that contradicts itself ('rate none burst 4'): one line, true. */
bool buckets_conflict(const struct buckets_change *chg);

/*
 * Applies `chg` to `b`; `what` names the scope in errors ("class web,
 * source"). A burst without a rate needs an existing bucket; a new bucket
 * without a burst gets one second's worth. 0, or -1 after one error line.
 */
int buckets_apply(const struct buckets_change *chg, struct policy_buckets *b, const char *what);

/* "20/s burst 40", "5400/m burst 90" or "-". */
void policy_limit_format(const struct policy_limit *l, char *buf, size_t len);

#endif
