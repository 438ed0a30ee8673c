// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* `ratewall stats`: verdict counters by class and reason, as totals and as
 * rates over an interval, once or refreshed in place. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "attachment.h"
#include "cli.h"
#include "control_show.h"
#include "clocks.h"
#include "cli_objects.h"
#include "counters_show.h"
#include "log.h"
#include "policy_apply.h"
#include "policy_show.h"
#include "pins.h"
#include "privileges.h"

#define INTERVAL_MIN 0.1
#define INTERVAL_MAX 3600.0

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ratewall [-j|-p] stats show [dev IFACE] [interval S]\n"
		"       ratewall [-j|-p] stats watch [dev IFACE] [interval S] [count N]\n"
		"  show   packets and bytes by class, reason and verdict since attach; with\n"
		"         'interval S' (%.1f..%.0f seconds) also the rates over the next S seconds\n"
		"  watch  the same with rates, refreshed every S seconds (default 1) in place,\n"
		"         until interrupted or N refreshes; with -j one JSON document a line\n"
		"Example: ratewall stats watch interval 2\n",
		INTERVAL_MIN, INTERVAL_MAX);
}

static int parse_interval(const char *value, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(value, &end);
	if (end == value || *end || errno || !isfinite(v) || v < INTERVAL_MIN || v > INTERVAL_MAX) {
		rw_err("interval '%s' is not a number of seconds from %.1f to %.0f", value,
		       INTERVAL_MIN, INTERVAL_MAX);
		return -1;
	}
	*out = v;
	return 0;
}

static double monotonic_s(void)
{
	return (double)monotonic_ns() / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - floor(s)) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The counters as JSON; with `before` (read `elapsed` seconds earlier) the rates too. */
static json_object *stats_json(const struct attachment *a, const struct rw_policy *pol,
			       const struct counter_table *now, const struct counter_table *before,
			       double elapsed)
{
	json_object *root = json_object_new_object(), *control;

	json_object_object_add(root, "dev", json_object_new_string(a->ifname));
	json_object_object_add(root, "interval_s", before ? json_object_new_double(elapsed) : NULL);
	counters_to_json(root, now, before, elapsed, pol);
	control = control_show_json(a, pol);
	if (control)
		json_object_object_add(root, "control", control);
	return root;
}

static void stats_print(json_object *root)
{
	json_object *totals = json_object_object_get(root, "totals");
	json_object *rates = json_object_object_get(root, "packets_per_s");
	json_object *interval = json_object_object_get(root, "interval_s");

	printf("%s: packets since attach", json_object_get_string(json_object_object_get(root, "dev")));
	if (interval)
		printf(", rates over %.1f s", json_object_get_double(interval));
	printf("\n");
	counters_print(stdout, json_object_object_get(root, "counters"), interval != NULL);
	printf("  total:");
	for (unsigned int v = 0; v < RW_VERDICT_MAX; v++) {
		printf(" %s %" PRIu64, verdict_name(v),
		       json_object_get_uint64(json_object_object_get(totals, verdict_name(v))));
		if (rates)
			printf(" (%.1f/s)", json_object_get_double(json_object_object_get(rates,
											verdict_name(v))));
		printf(v + 1 < RW_VERDICT_MAX ? "," : "\n");
	}
	if (json_object_object_get(root, "control"))
		control_show_print(stdout, json_object_object_get(root, "control"));
}

static int read_counters(const struct attachment *a, struct rw_policy *pol,
			 struct counter_table *t)
{
	uint32_t slot;
	int err = policy_read_active(&a->maps, &slot, pol);

	if (!err)
		err = counters_read(a->maps.counters_fd, t);
	if (err)
		rw_err("cannot read the counters of %s: %s", a->ifname, strerror(-err));
	return err;
}

static volatile sig_atomic_t stop_watch;

static void on_signal(int sig)
{
	(void)sig;
	stop_watch = 1;
}

/*
 * `rounds` reads `interval` apart (0 interval: one read, totals only);
 * each after the first is printed with the rates since the one before.
 * The lock is not held across the sleeps: the counters are read each time
 * through the already-open maps.
 */
static int run_stats(const char *ifname, double interval, uint64_t rounds, bool in_place)
{
	struct counter_table *prev = calloc(1, sizeof(*prev)), *cur = calloc(1, sizeof(*cur));
	struct rw_policy pol;
	struct attachment a;
	double prev_t, now_t;
	int rc, lock;

	if (!prev || !cur) {
		rw_err("out of memory");
		free(prev);
		free(cur);
		return CLI_FAIL;
	}
	rc = cli_open(ifname, &a, &lock);
	if (rc)
		goto out_free;
	pins_unlock(lock); /* the open maps stay readable; a detach meanwhile only stops the counts */
	if (read_counters(&a, &pol, prev)) {
		rc = CLI_FAIL;
		goto out;
	}
	prev_t = monotonic_s();
	if (interval == 0) {
		json_object *root = stats_json(&a, &pol, prev, NULL, 0);

		if (cli.output == OUTPUT_TEXT)
			stats_print(root);
		else
			cli_print_json(root);
		json_object_put(root);
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (uint64_t i = 0; !stop_watch && (rounds == 0 || i < rounds); i++) {
		struct counter_table *swap;
		json_object *root;

		sleep_s(interval);
		if (stop_watch)
			break;
		if (read_counters(&a, &pol, cur)) {
			rc = CLI_FAIL;
			break;
		}
		now_t = monotonic_s();
		root = stats_json(&a, &pol, cur, prev, now_t - prev_t);
		if (cli.output != OUTPUT_TEXT) {
			cli_print_json(root);
		} else {
			if (in_place)
				printf("\033[H\033[2J");
			stats_print(root);
		}
		fflush(stdout);
		json_object_put(root);
		swap = prev, prev = cur, cur = swap;
		prev_t = now_t;
	}
out:
	attachment_close(&a);
out_free:
	free(prev);
	free(cur);
	return rc;
}

static int parse_stats_args(struct arg_cursor *cur, const char *where, bool watch,
			    const char **ifname, double *interval, uint64_t *count)
{
	static const char *const kws[] = { "dev", "interval", "count", NULL };
	const char *value;

	while (cur->argc > 0) {
		int kw = cli_keyword(cur, where, kws);

		if (kw < 0 || arg_take_value(cur, kws[kw], &value))
			return CLI_USAGE;
		if (kw == 0 && cli_parse_dev(value, ifname))
			return CLI_USAGE;
		if (kw == 1 && parse_interval(value, interval))
			return CLI_USAGE;
		if (kw == 2) {
			if (!watch)
				return cli_usage_error("'count' belongs to 'stats watch'");
			if (arg_parse_u64("count", value, 1, UINT32_MAX, count))
				return CLI_USAGE;
		}
	}
	return CLI_OK;
}

static int stats_show(struct arg_cursor *cur)
{
	const char *ifname = NULL;
	double interval = 0;
	uint64_t count = 1;
	int rc;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	rc = parse_stats_args(cur, "stats show", false, &ifname, &interval, &count);
	if (rc)
		return rc;
	if (privileges_check("stats show"))
		return CLI_FAIL;
	return run_stats(ifname, interval, 1, false);
}

static int stats_watch(struct arg_cursor *cur)
{
	const char *ifname = NULL;
	double interval = 1;
	uint64_t count = 0;
	int rc;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	rc = parse_stats_args(cur, "stats watch", true, &ifname, &interval, &count);
	if (rc)
		return rc;
	if (privileges_check("stats watch"))
		return CLI_FAIL;
	return run_stats(ifname, interval, count, isatty(STDOUT_FILENO));
}

int cli_stats(struct arg_cursor *cur)
{
	static const char *const cmds[] = { "show", "watch", NULL };
	static int (*const run[])(struct arg_cursor *) = { stats_show, stats_watch };

	return cli_dispatch(cur, "stats", cmds, run, usage);
}
