/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The verdict counters as JSON and as text rows, for `link show` and `stats`. */
#ifndef RW_COUNTERS_SHOW_H
#define RW_COUNTERS_SHOW_H

#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>
#include "counters.h"

/*
 * Adds to `o`: "counters", the non-zero slots as {class, reason, verdict,
 * packets, bytes}, and "totals", packets by verdict. With `before` (read
 * `elapsed` seconds earlier) each row gets packets_per_s and bytes_per_s,
 * and `o` gets "packets_per_s" by verdict. Classes are named by `pol`.
 */
void counters_to_json(json_object *o, const struct counter_table *now,
		      const struct counter_table *before, double elapsed,
		      const struct rw_policy *pol);

/* A "counters" array as text: a header and one row each, two spaces in;
 * with `rates`, their per-second columns too. */
void counters_print(FILE *f, json_object *counters, bool rates);

#endif
