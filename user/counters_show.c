// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <inttypes.h>
#include <math.h>

#include "counters_show.h"
#include "policy_show.h"

/* Per second between two readings; a counter reset meanwhile (a class
 * renamed by an apply) reads as 0, not as a wrapped difference. */
static double per_second(uint64_t now, uint64_t before, double elapsed)
{
	return now >= before ? round((double)(now - before) / elapsed * 10) / 10 : 0;
}

void counters_to_json(json_object *o, const struct counter_table *now,
		      const struct counter_table *before, double elapsed,
		      const struct rw_policy *pol)
{
	json_object *rows = json_object_new_array(), *totals = json_object_new_object();
	json_object *rates = before ? json_object_new_object() : NULL;
	char name[RW_NAME_MAX];

	for (unsigned int cls = 0; cls < RW_MAX_CLASSES; cls++)
		for (unsigned int r = 0; r < RW_REASON_MAX; r++)
			for (unsigned int v = 0; v < RW_VERDICT_MAX; v++) {
				uint32_t idx = rw_counter_index(cls, r, v);
				const struct rw_counter *c = &now->slot[idx];
				json_object *e;

				if (!c->packets)
					continue;
				e = json_object_new_object();
				json_object_object_add(e, "class", json_object_new_string(
					live_class_name(pol, cls, name, sizeof(name))));
				json_object_object_add(e, "reason", json_object_new_string(reason_name(r)));
				json_object_object_add(e, "verdict", json_object_new_string(verdict_name(v)));
				json_object_object_add(e, "packets", json_object_new_uint64(c->packets));
				json_object_object_add(e, "bytes", json_object_new_uint64(c->bytes));
				if (before) {
					const struct rw_counter *b = &before->slot[idx];

					json_object_object_add(e, "packets_per_s", json_object_new_double(
						per_second(c->packets, b->packets, elapsed)));
					json_object_object_add(e, "bytes_per_s", json_object_new_double(
						per_second(c->bytes, b->bytes, elapsed)));
				}
				json_object_array_add(rows, e);
			}
	json_object_object_add(o, "counters", rows);
	for (unsigned int v = 0; v < RW_VERDICT_MAX; v++) {
		uint64_t n = counters_verdict_packets(now, v);

		json_object_object_add(totals, verdict_name(v), json_object_new_uint64(n));
		if (rates)
			json_object_object_add(rates, verdict_name(v), json_object_new_double(
				per_second(n, counters_verdict_packets(before, v), elapsed)));
	}
	json_object_object_add(o, "totals", totals);
	if (rates)
		json_object_object_add(o, "packets_per_s", rates);
}

void counters_print(FILE *f, json_object *counters, bool rates)
{
	fprintf(f, "  %-16s %-12s %-10s %14s %16s", "class", "reason", "verdict", "packets", "bytes");
	if (rates)
		fprintf(f, " %12s %14s", "packets/s", "bytes/s");
	fprintf(f, "\n");
	for (size_t i = 0; i < json_object_array_length(counters); i++) {
		json_object *e = json_object_array_get_idx(counters, i);

		fprintf(f, "  %-16s %-12s %-10s %14" PRIu64 " %16" PRIu64,
			json_object_get_string(json_object_object_get(e, "class")),
			json_object_get_string(json_object_object_get(e, "reason")),
			json_object_get_string(json_object_object_get(e, "verdict")),
			json_object_get_uint64(json_object_object_get(e, "packets")),
			json_object_get_uint64(json_object_object_get(e, "bytes")));
		if (rates)
			fprintf(f, " %12.1f %14.1f",
				json_object_get_double(json_object_object_get(e, "packets_per_s")),
				json_object_get_double(json_object_object_get(e, "bytes_per_s")));
		fprintf(f, "\n");
	}
}
