// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* `ratewall link`: attach, detach, show and the attachment's own settings. */
#include <string.h>

#include "cli.h"
#include "cli_objects.h"
#include "conns.h"
#include "loader.h"
#include "log.h"
#include "policy_builtin.h"
#include "policy_load.h"
#include "privileges.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ratewall link attach dev IFACE [mode native|skb] [policy FILE | rate R burst N]\n"
		"                            [prefix4 N] [prefix6 N] [entries N] [malformed pass|drop]\n"
		"                            [new-rate R] [new-burst N] [cgroup PATH]\n"
		"       ratewall link detach dev IFACE\n"
		"       ratewall [-j|-p] link show [dev IFACE]\n"
		"       ratewall link set [dev IFACE] [malformed pass|drop] [new-rate R] [new-burst N]\n"
		"                         [shed on|off]\n"
		"  attach  loads the XDP limiter on IFACE and pins it under /sys/fs/bpf/ratewall/\n"
		"    mode       native (default) or skb (generic XDP, for drivers without native)\n"
		"    policy     the YAML policy file to enforce; without it, the built-in policy:\n"
		"               one class with a per-source packet bucket of `rate` and `burst`\n"
		"    rate       built-in policy: a rate with its unit, N/s, N/m or N/h, from one per\n"
		"               17 s to %llu/s (default %llu/s); alone or with burst\n"
		"    burst      built-in policy: packets a source may send at once, 1..%llu\n"
		"               (default %llu)\n"
		"    prefix4    IPv4 source prefix length that forms one key, 0..32 (default %d)\n"
		"    prefix6    IPv6 source prefix length that forms one key, 0..128 (default %d)\n"
		"    entries    sources tracked at once (LRU), %u..%u (default %u)\n"
		"    malformed  verdict for truncated or invalid frames (default pass)\n"
		"    new-rate   sources seen for the first time that get an entry, all together,\n"
		"               N/s, up to %llu/s (default %llu/s); packets of other new sources\n"
		"               are dropped\n"
		"               (reason src_new) until the budget refills\n"
		"    new-burst  new sources admitted at once, 1..%llu (default %llu)\n"
		"    cgroup     the cgroup v2 directory the gateway runs in: its accepted TCP\n"
		"               connections are counted for connection caps (default: the policy's\n"
		"               connections.cgroup, else the root of the cgroup2 mount)\n"
		"  detach  removes the limiter from IFACE and deletes its pins\n"
		"  show    what is attached in this network namespace: settings, policy,\n"
		"          connections and counters\n"
		"  set     changes the attachment's own settings at once; `shed on` makes every\n"
		"          class refuse new TCP connections (established flows keep passing)\n",
		(unsigned long long)RW_RATE_MAX, (unsigned long long)RW_DEFAULT_RATE,
		(unsigned long long)RW_BURST_MAX, (unsigned long long)RW_DEFAULT_BURST,
		RW_DEFAULT_PREFIX4, RW_DEFAULT_PREFIX6, RW_MAX_ENTRIES_MIN, RW_MAX_ENTRIES_MAX,
		RW_DEFAULT_MAX_ENTRIES, (unsigned long long)RW_RATE_MAX,
		(unsigned long long)RW_DEFAULT_NEW_RATE,
		(unsigned long long)RW_BURST_MAX, (unsigned long long)RW_DEFAULT_NEW_BURST);
}

static int parse_mode(const char *value, enum rw_attach_mode *mode)
{
	static const char *const modes[] = { "native", "skb", NULL };
	int idx = cli_parse_choice("mode", value, modes);

	*mode = idx == 1 ? RW_MODE_SKB : RW_MODE_NATIVE;
	return idx < 0 ? -1 : 0;
}

static int parse_malformed(const char *value, int *drop)
{
	static const char *const verdicts[] = { "pass", "drop", NULL };
	int idx = cli_parse_choice("malformed", value, verdicts);

	*drop = idx == 1;
	return idx < 0 ? -1 : 0;
}

/* New sources are budgeted per second; other units would only round. */
static int parse_new_rate(const char *value, uint64_t *rate)
{
	struct policy_limit l;

	if (cli_parse_rate("new-rate", value, &l))
		return -1;
	if (l.period_ns != RW_NS_PER_SEC) {
		rw_err("new-rate '%s' must be per second (N/s)", value);
		return -1;
	}
	if (l.count > RW_RATE_MAX) {
		rw_err("new-rate %s is out of range [1/s, %llu/s]", value,
		       (unsigned long long)RW_RATE_MAX);
		return -1;
	}
	*rate = l.count;
	return 0;
}

enum attach_kw { KW_DEV, KW_MODE, KW_RATE, KW_BURST, KW_PREFIX4, KW_PREFIX6, KW_ENTRIES,
		 KW_MALFORMED, KW_NEW_RATE, KW_NEW_BURST, KW_POLICY, KW_CGROUP };

static int parse_attach(struct arg_cursor *cur, const char **ifname, enum rw_attach_mode *mode,
			struct limit_opts *o, struct policy_limit *rate, const char **policy_file,
			const char **cgroup)
{
	static const char *const kws[] = { "dev", "mode", "rate", "burst", "prefix4",
					   "prefix6", "entries", "malformed", "new-rate",
					   "new-burst", "policy", "cgroup", NULL };
	const char *value;
	uint64_t v;

	while (cur->argc > 0) {
		int kw = cli_keyword(cur, "link attach", kws);

		if (kw < 0 || arg_take_value(cur, kws[kw], &value))
			return -1;
		switch (kw) {
		case KW_DEV:
			if (cli_parse_dev(value, ifname))
				return -1;
			break;
		case KW_MODE:
			if (parse_mode(value, mode))
				return -1;
			break;
		case KW_RATE:
			if (cli_parse_rate("rate", value, rate))
				return -1;
			break;
		case KW_BURST:
			if (cli_parse_burst("burst", value, &rate->burst))
				return -1;
			break;
		case KW_POLICY:
			*policy_file = value;
			break;
		case KW_CGROUP:
			*cgroup = value;
			break;
		case KW_PREFIX4:
			if (arg_parse_u64("prefix4", value, 0, 32, &v))
				return -1;
			o->prefix4 = v;
			break;
		case KW_PREFIX6:
			if (arg_parse_u64("prefix6", value, 0, 128, &v))
				return -1;
			o->prefix6 = v;
			break;
		case KW_ENTRIES:
			if (arg_parse_u64("entries", value, RW_MAX_ENTRIES_MIN, RW_MAX_ENTRIES_MAX, &v))
				return -1;
			o->entries = v;
			break;
		case KW_MALFORMED:
			if (parse_malformed(value, &o->malformed_drop))
				return -1;
			break;
		case KW_NEW_RATE:
			if (parse_new_rate(value, &o->new_rate))
				return -1;
			break;
		case KW_NEW_BURST:
			if (cli_parse_burst("new-burst", value, &o->new_burst))
				return -1;
			break;
		}
	}
	return 0;
}

/* The cgroup named on the command line and the policy's must be one directory. */
static int cgroups_agree(const char *cgroup, const char *policy_cgroup)
{
	struct conn_cgroup a = { 0 }, b = { 0 };

	if (conns_cgroup_resolve(cgroup, &a) || conns_cgroup_resolve(policy_cgroup, &b))
		return -1;
	if (a.id != b.id) {
		rw_err("cgroup %s conflicts with the policy's connections.cgroup %s; give one",
		       cgroup, policy_cgroup);
		return -1;
	}
	return 0;
}

static int link_attach(struct arg_cursor *cur)
{
	enum rw_attach_mode mode = RW_MODE_NATIVE;
	const char *ifname = NULL, *policy_file = NULL, *cgroup = NULL;
	struct policy_limit rate = { 0 };
	struct policy_image *img;
	struct limit_opts o;
	int err;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	limit_opts_default(&o);
	if (parse_attach(cur, &ifname, &mode, &o, &rate, &policy_file, &cgroup))
		return CLI_USAGE;
	ifname = ifname ? ifname : cli.dev;
	if (!ifname)
		return cli_usage_error("link attach needs 'dev IFACE' (or -d IFACE)");
	if (policy_file && (rate.count || rate.burst))
		return cli_usage_error("'%s' belongs to the built-in policy; with 'policy %s' set "
				       "the default class's source packets in the file",
				       rate.count ? "rate" : "burst", policy_file);
	if (rate.burst && !rate.count)
		rate.count = RW_DEFAULT_RATE, rate.period_ns = RW_NS_PER_SEC;
	if (privileges_check("link attach"))
		return CLI_FAIL;
	if (policy_file) {
		img = policy_load(policy_file);
	} else {
		bool refused;

		rate.burst = rate.burst ? rate.burst : RW_DEFAULT_BURST;
		img = policy_load_builtin(rate.count ? &rate : NULL, &refused);
		if (refused)
			return CLI_USAGE;
	}
	if (!img)
		return CLI_FAIL;
	if (cgroup && img->cgroup[0] && strcmp(cgroup, img->cgroup) != 0 &&
	    cgroups_agree(cgroup, img->cgroup)) {
		policy_image_delete(img);
		return CLI_FAIL;
	}
	if (cgroup)
		snprintf(img->cgroup, sizeof(img->cgroup), "%s", cgroup);
	err = loader_attach(ifname, mode, &o, img);
	policy_image_delete(img);
	return cli_changed(err);
}

static int link_detach(struct arg_cursor *cur)
{
	const char *ifname = NULL;
	int rc;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	rc = cli_parse_only_dev(cur, "link detach", &ifname);
	if (rc)
		return rc;
	/* Never guessed: removing the only attachment by default is too easy a mistake. */
	ifname = ifname ? ifname : cli.dev;
	if (!ifname)
		return cli_usage_error("link detach needs 'dev IFACE' (or -d IFACE)");
	if (privileges_check("link detach"))
		return CLI_FAIL;
	return cli_changed(loader_detach(ifname));
}

static int link_show(struct arg_cursor *cur)
{
	const char *ifname = NULL;
	int rc;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	rc = cli_parse_only_dev(cur, "link show", &ifname);
	if (rc)
		return rc;
	if (privileges_check("link show"))
		return CLI_FAIL;
	return status_show(ifname ? ifname : cli.dev, cli.output) ? CLI_FAIL : CLI_OK;
}

enum set_kw { SET_DEV, SET_MALFORMED, SET_NEW_RATE, SET_NEW_BURST, SET_SHED };

static int link_set(struct arg_cursor *cur)
{
	static const char *const kws[] = { "dev", "malformed", "new-rate", "new-burst", "shed",
					   NULL };
	struct live_change chg = { 0 };
	const char *ifname = NULL, *value;
	int rc;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	while (cur->argc > 0) {
		int kw = cli_keyword(cur, "link set", kws);

		if (kw < 0 || arg_take_value(cur, kws[kw], &value))
			return CLI_USAGE;
		switch (kw) {
		case SET_DEV:
			if (cli_parse_dev(value, &ifname))
				return CLI_USAGE;
			break;
		case SET_MALFORMED:
			if (parse_malformed(value, &chg.malformed_drop))
				return CLI_USAGE;
			chg.has_malformed = true;
			break;
		case SET_NEW_RATE:
			if (parse_new_rate(value, &chg.new_rate))
				return CLI_USAGE;
			chg.has_new_rate = true;
			break;
		case SET_NEW_BURST:
			if (cli_parse_burst("new-burst", value, &chg.new_burst))
				return CLI_USAGE;
			chg.has_new_burst = true;
			break;
		case SET_SHED:
			if (cli_parse_on_off("shed", value, &chg.shed))
				return CLI_USAGE;
			chg.has_shed = true;
			break;
		}
	}
	if (!chg.has_malformed && !chg.has_new_rate && !chg.has_new_burst && !chg.has_shed)
		return cli_usage_error("link set needs at least one of malformed, new-rate, "
				       "new-burst, shed");
	if (privileges_check("link set"))
		return CLI_FAIL;
	rc = cli_pick_dev(ifname, &ifname);
	if (rc)
		return rc;
	return cli_changed(loader_set(ifname, &chg));
}

int cli_link(struct arg_cursor *cur)
{
	static const char *const cmds[] = { "attach", "detach", "show", "set", NULL };
	static int (*const run[])(struct arg_cursor *) = { link_attach, link_detach, link_show,
							   link_set };

	return cli_dispatch(cur, "link", cmds, run, usage);
}
