// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * ratewall command line: `ratewall [OPTIONS] COMMAND ARGS...`, keywords
 * matched by unique prefix as bpftool does.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "args.h"
#include "log.h"
#include "loader.h"
#include "policy.h"
#include "policy_builtin.h"
#include "policy_compile.h"
#include "privileges.h"
#include "conns.h"
#include "status.h"

#define RW_VERSION "0.1.0"

static enum output_format output = OUTPUT_TEXT;

static void usage_attach(FILE *f)
{
	fprintf(f,
		"Usage: ratewall attach dev IFACE [mode native|skb] [policy FILE | rate N burst N]\n"
		"                       [prefix4 N] [prefix6 N] [entries N] [malformed pass|drop]\n"
		"                       [new-rate N] [new-burst N] [cgroup PATH]\n"
		"  Loads the XDP limiter on IFACE and pins it under /sys/fs/bpf/ratewall/.\n"
		"  mode       native (default) or skb (generic XDP, for drivers without native)\n"
		"  policy     the YAML policy file to enforce (see README \"Policy file\");\n"
		"             without it, the built-in policy: one class, a per-source bucket\n"
		"  rate       built-in policy: packets per second per source, 1..%llu (default %llu)\n"
		"  burst      built-in policy: packets a source may send at once, 1..%llu\n"
		"             (default %llu)\n"
		"  prefix4    IPv4 source prefix length that forms one key, 0..32 (default %d)\n"
		"  prefix6    IPv6 source prefix length that forms one key, 0..128 (default %d)\n"
		"  entries    sources tracked at once (LRU), %u..%u (default %u)\n"
		"  malformed  verdict for truncated or invalid frames (default pass)\n"
		"  new-rate   sources seen for the first time that get an entry per second,\n"
		"             all together, 1..%llu (default %llu); packets of other new\n"
		"             sources are dropped (reason src_new) until the budget refills\n"
		"  new-burst  new sources admitted at once, 1..%llu (default %llu)\n"
		"  cgroup     the cgroup v2 directory the gateway runs in: its accepted TCP\n"
		"             connections are counted for connection caps (default: the policy's\n"
		"             connections.cgroup, else the root of the cgroup2 mount)\n",
		(unsigned long long)RW_RATE_MAX, (unsigned long long)RW_DEFAULT_RATE,
		(unsigned long long)RW_BURST_MAX, (unsigned long long)RW_DEFAULT_BURST,
		RW_DEFAULT_PREFIX4, RW_DEFAULT_PREFIX6, RW_MAX_ENTRIES_MIN, RW_MAX_ENTRIES_MAX,
		RW_DEFAULT_MAX_ENTRIES, (unsigned long long)RW_RATE_MAX,
		(unsigned long long)RW_DEFAULT_NEW_RATE, (unsigned long long)RW_BURST_MAX,
		(unsigned long long)RW_DEFAULT_NEW_BURST);
}

static void usage_detach(FILE *f)
{
	fprintf(f, "Usage: ratewall detach dev IFACE\n"
		   "  Removes the limiter from IFACE and deletes its pins.\n");
}

static void usage_set(FILE *f)
{
	fprintf(f, "Usage: ratewall set dev IFACE [rate N] [burst N] [malformed pass|drop]\n"
		   "                    [new-rate N] [new-burst N] [shed on|off]\n"
		   "  Changes the live limits; every source sees them at its next packet.\n"
		   "  rate, burst  the default class's per-source packet bucket in the live policy\n"
		   "  shed on      every class refuses new TCP connections (SYN without ACK);\n"
		   "               established flows keep passing. 'shed off' ends it.\n");
}

static void usage_status(FILE *f)
{
	fprintf(f, "Usage: ratewall [-j|-p] status [dev IFACE]\n"
		   "  Shows what is attached in this network namespace, with its counters.\n");
}

static void usage_policy(FILE *f)
{
	fprintf(f, "Usage: ratewall [-j|-p] policy check FILE\n"
		   "       ratewall policy apply dev IFACE FILE\n"
		   "  check  validates FILE whole and prints its hash; changes nothing\n"
		   "  apply  validates FILE, then replaces the live policy of IFACE at once:\n"
		   "         every packet is judged wholly by the old or wholly by the new one.\n"
		   "         A file with any error changes nothing.\n");
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ratewall [OPTIONS] COMMAND [ARGS...]\n"
		"       ratewall COMMAND help\n"
		"Commands:\n"
		"  attach dev IFACE [mode native|skb] [policy FILE | rate N burst N] [prefix4 N]\n"
		"                   [prefix6 N] [entries N] [malformed pass|drop] [new-rate N]\n"
		"                   [new-burst N]\n"
		"  detach dev IFACE\n"
		"  set dev IFACE [rate N] [burst N] [malformed pass|drop] [new-rate N] [new-burst N]\n"
		"                [shed on|off]\n"
		"  policy check FILE | policy apply dev IFACE FILE\n"
		"  status [dev IFACE]\n"
		"  help | version\n"
		"Options:\n"
		"  -j, --json     JSON output\n"
		"  -p, --pretty   pretty-printed JSON output\n"
		"  -h, --help     this text\n"
		"Keywords may be shortened to any unique prefix.\n");
}

static bool wants_help(const struct arg_cursor *cur)
{
	return cur->argc > 0 &&
	       (strcmp(cur->argv[0], "help") == 0 || strcmp(cur->argv[0], "--help") == 0 ||
		strcmp(cur->argv[0], "-h") == 0);
}

/* Matches one keyword of `keywords`; errors name the word and the command. */
static int take_keyword(struct arg_cursor *cur, const char *command,
			const char *const *keywords)
{
	const char *word = cur->argv[0];
	int idx = arg_match(word, keywords);

	if (idx == -2)
		rw_err("'%s' is ambiguous for '%s'", word, command);
	else if (idx < 0 && strcmp(command, "ratewall") == 0)
		rw_err("unknown command '%s' (see 'ratewall help')", word);
	else if (idx < 0)
		rw_err("unknown keyword '%s' for '%s' (see 'ratewall %s help')", word, command,
		       command);
	else {
		cur->argc--;
		cur->argv++;
	}
	return idx;
}

static int parse_mode(const char *value, enum rw_attach_mode *mode)
{
	static const char *const modes[] = { "native", "skb", NULL };
	int idx = arg_match(value, modes);

	if (idx < 0) {
		rw_err("mode '%s' is not one of native, skb", value);
		return -1;
	}
	*mode = idx == 0 ? RW_MODE_NATIVE : RW_MODE_SKB;
	return 0;
}

static int parse_malformed(const char *value, int *drop)
{
	static const char *const verdicts[] = { "pass", "drop", NULL };
	int idx = arg_match(value, verdicts);

	if (idx < 0) {
		rw_err("malformed '%s' is not one of pass, drop", value);
		return -1;
	}
	*drop = idx == 1;
	return 0;
}

static int parse_dev(const char *value, const char **ifname)
{
	if (!arg_ifname_valid(value)) {
		rw_err("'%s' is not a valid interface name (1-15 bytes, not . or .., "
		       "no '/', ':' or spaces)", value);
		return -1;
	}
	*ifname = value;
	return 0;
}

/*
 * Parses, validates and compiles a policy file. Every error goes to stderr,
 * one line each naming file and line; NULL then, and nothing was touched.
 */
static struct policy_image *policy_load(const char *path)
{
	struct policy_image *img;
	struct policy p = { 0 };
	char errors[16384];

	if (policy_parse_file(path, &p, errors, sizeof(errors))) {
		char *line, *save = NULL;

		for (line = strtok_r(errors, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			rw_err("%s", line);
		return NULL;
	}
	img = policy_image_new(&p);
	policy_free(&p);
	return img;
}

static struct policy_image *policy_load_builtin(uint64_t rate, uint64_t burst)
{
	struct policy p;

	policy_builtin(&p, rate, burst);
	return policy_image_new(&p);
}

enum kw { KW_DEV, KW_MODE, KW_RATE, KW_BURST, KW_PREFIX4, KW_PREFIX6, KW_ENTRIES,
	  KW_MALFORMED, KW_NEW_RATE, KW_NEW_BURST, KW_POLICY, KW_CGROUP };

static int cmd_attach(struct arg_cursor *cur)
{
	static const char *const kws[] = { "dev", "mode", "rate", "burst", "prefix4",
					   "prefix6", "entries", "malformed", "new-rate",
					   "new-burst", "policy", "cgroup", NULL };
	enum rw_attach_mode mode = RW_MODE_NATIVE;
	const char *ifname = NULL, *value, *policy_file = NULL, *cgroup = NULL;
	bool has_rate = false, has_burst = false;
	struct policy_image *img;
	struct limit_opts o;
	uint64_t v;
	int err;

	if (wants_help(cur)) {
		usage_attach(stdout);
		return 0;
	}
	limit_opts_default(&o);
	while (cur->argc > 0) {
		int kw = take_keyword(cur, "attach", kws);

		if (kw < 0 || arg_take_value(cur, kws[kw], &value))
			return -1;
		switch (kw) {
		case KW_DEV:
			if (parse_dev(value, &ifname))
				return -1;
			break;
		case KW_MODE:
			if (parse_mode(value, &mode))
				return -1;
			break;
		case KW_RATE:
			if (arg_parse_u64("rate", value, 1, RW_RATE_MAX, &o.rate))
				return -1;
			has_rate = true;
			break;
		case KW_BURST:
			if (arg_parse_u64("burst", value, 1, RW_BURST_MAX, &o.burst))
				return -1;
			has_burst = true;
			break;
		case KW_POLICY:
			policy_file = value;
			break;
		case KW_CGROUP:
			cgroup = value;
			break;
		case KW_PREFIX4:
			if (arg_parse_u64("prefix4", value, 0, 32, &v))
				return -1;
			o.prefix4 = v;
			break;
		case KW_PREFIX6:
			if (arg_parse_u64("prefix6", value, 0, 128, &v))
				return -1;
			o.prefix6 = v;
			break;
		case KW_ENTRIES:
			if (arg_parse_u64("entries", value, RW_MAX_ENTRIES_MIN, RW_MAX_ENTRIES_MAX, &v))
				return -1;
			o.entries = v;
			break;
		case KW_MALFORMED:
			if (parse_malformed(value, &o.malformed_drop))
				return -1;
			break;
		case KW_NEW_RATE:
			if (arg_parse_u64("new-rate", value, 1, RW_RATE_MAX, &o.new_rate))
				return -1;
			break;
		case KW_NEW_BURST:
			if (arg_parse_u64("new-burst", value, 1, RW_BURST_MAX, &o.new_burst))
				return -1;
			break;
		}
	}
	if (!ifname) {
		rw_err("attach needs 'dev IFACE'");
		return -1;
	}
	if (policy_file && (has_rate || has_burst)) {
		rw_err("'%s' belongs to the built-in policy; with 'policy %s' set the default "
		       "class's source packets in the file", has_rate ? "rate" : "burst",
		       policy_file);
		return -1;
	}
	if (privileges_check("attach"))
		return -1;
	img = policy_file ? policy_load(policy_file) : policy_load_builtin(o.rate, o.burst);
	if (!img)
		return -1;
	if (cgroup && img->cgroup[0] && strcmp(cgroup, img->cgroup) != 0) {
		struct conn_cgroup a = { 0 }, b = { 0 };

		/* Two spellings of one directory agree; anything else is refused. */
		if (conns_cgroup_resolve(cgroup, &a) || conns_cgroup_resolve(img->cgroup, &b) ||
		    a.id != b.id) {
			if (a.id && b.id)
				rw_err("cgroup %s conflicts with the policy's connections.cgroup %s; "
				       "give one", cgroup, img->cgroup);
			policy_image_delete(img);
			return -1;
		}
	}
	if (cgroup)
		snprintf(img->cgroup, sizeof(img->cgroup), "%s", cgroup);
	err = loader_attach(ifname, mode, &o, img);
	policy_image_delete(img);
	return err ? -1 : 0;
}

/* Parses exactly `dev IFACE`, for commands that take nothing else. */
static int parse_only_dev(struct arg_cursor *cur, const char *command, const char **ifname)
{
	static const char *const kws[] = { "dev", NULL };
	const char *value;

	while (cur->argc > 0) {
		if (take_keyword(cur, command, kws) < 0 || arg_take_value(cur, "dev", &value) ||
		    parse_dev(value, ifname))
			return -1;
	}
	return 0;
}

static int cmd_detach(struct arg_cursor *cur)
{
	const char *ifname = NULL;

	if (wants_help(cur)) {
		usage_detach(stdout);
		return 0;
	}
	if (parse_only_dev(cur, "detach", &ifname))
		return -1;
	if (!ifname) {
		rw_err("detach needs 'dev IFACE'");
		return -1;
	}
	if (privileges_check("detach"))
		return -1;
	return loader_detach(ifname) ? -1 : 0;
}

static int cmd_status(struct arg_cursor *cur)
{
	const char *ifname = NULL;

	if (wants_help(cur)) {
		usage_status(stdout);
		return 0;
	}
	if (parse_only_dev(cur, "status", &ifname))
		return -1;
	if (privileges_check("status"))
		return -1;
	return status_show(ifname, output) ? -1 : 0;
}

/* Order matches the keyword table of cmd_set. */
enum set_kw { SET_DEV, SET_RATE, SET_BURST, SET_MALFORMED, SET_NEW_RATE, SET_NEW_BURST,
	      SET_SHED };

static int parse_on_off(const char *keyword, const char *value, bool *on)
{
	static const char *const words[] = { "on", "off", NULL };
	int idx = arg_match(value, words);

	if (idx < 0) {
		rw_err("%s '%s' is not one of on, off", keyword, value);
		return -1;
	}
	*on = idx == 0;
	return 0;
}

static int cmd_set(struct arg_cursor *cur)
{
	static const char *const kws[] = { "dev", "rate", "burst", "malformed", "new-rate",
					   "new-burst", "shed", NULL };
	struct live_change chg = { 0 };
	const char *ifname = NULL, *value;

	if (wants_help(cur)) {
		usage_set(stdout);
		return 0;
	}
	while (cur->argc > 0) {
		int kw = take_keyword(cur, "set", kws);

		if (kw < 0 || arg_take_value(cur, kws[kw], &value))
			return -1;
		switch (kw) {
		case SET_DEV:
			if (parse_dev(value, &ifname))
				return -1;
			break;
		case SET_RATE:
			if (arg_parse_u64("rate", value, 1, RW_RATE_MAX, &chg.rate))
				return -1;
			chg.has_rate = true;
			break;
		case SET_BURST:
			if (arg_parse_u64("burst", value, 1, RW_BURST_MAX, &chg.burst))
				return -1;
			chg.has_burst = true;
			break;
		case SET_MALFORMED:
			if (parse_malformed(value, &chg.malformed_drop))
				return -1;
			chg.has_malformed = true;
			break;
		case SET_NEW_RATE:
			if (arg_parse_u64("new-rate", value, 1, RW_RATE_MAX, &chg.new_rate))
				return -1;
			chg.has_new_rate = true;
			break;
		case SET_NEW_BURST:
			if (arg_parse_u64("new-burst", value, 1, RW_BURST_MAX, &chg.new_burst))
				return -1;
			chg.has_new_burst = true;
			break;
		case SET_SHED:
			if (parse_on_off("shed", value, &chg.shed))
				return -1;
			chg.has_shed = true;
			break;
		}
	}
	if (!ifname) {
		rw_err("set needs 'dev IFACE'");
		return -1;
	}
	if (!chg.has_rate && !chg.has_burst && !chg.has_malformed && !chg.has_new_rate &&
	    !chg.has_new_burst && !chg.has_shed) {
		rw_err("set needs at least one of rate, burst, malformed, new-rate, new-burst, "
		       "shed");
		return -1;
	}
	if (privileges_check("set"))
		return -1;
	return loader_set(ifname, &chg) ? -1 : 0;
}

static int cmd_policy_check(struct arg_cursor *cur)
{
	struct policy_image *img;
	char hash[65];

	if (wants_help(cur)) {
		usage_policy(stdout);
		return 0;
	}
	if (cur->argc != 1) {
		rw_err("policy check needs exactly one FILE");
		return -1;
	}
	img = policy_load(cur->argv[0]);
	if (!img)
		return -1;
	policy_hash_hex(img->policy.hash, hash);
	if (output == OUTPUT_TEXT) {
		printf("%s: valid; policy %s: %u classes, %u tenants, %zu prefixes\n",
		       cur->argv[0], hash, img->policy.n_classes, img->policy.n_tenants,
		       img->n_cidrs);
	} else {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "file", json_object_new_string(cur->argv[0]));
		json_object_object_add(o, "valid", json_object_new_boolean(1));
		json_object_object_add(o, "hash", json_object_new_string(hash));
		json_object_object_add(o, "classes", json_object_new_uint64(img->policy.n_classes));
		json_object_object_add(o, "tenants", json_object_new_uint64(img->policy.n_tenants));
		json_object_object_add(o, "prefixes", json_object_new_uint64(img->n_cidrs));
		output_json(o, output);
		json_object_put(o);
	}
	policy_image_delete(img);
	return 0;
}

static int cmd_policy_apply(struct arg_cursor *cur)
{
	static const char *const kws[] = { "dev", NULL };
	const char *ifname = NULL, *file = NULL, *value;
	struct policy_image *img;
	int err;

	if (wants_help(cur)) {
		usage_policy(stdout);
		return 0;
	}
	while (cur->argc > 0) {
		/* `dev IFACE` by keyword; the one other word is the file. */
		if (arg_match(cur->argv[0], kws) < 0) {
			if (file) {
				rw_err("policy apply takes one FILE; '%s' is one too many",
				       cur->argv[0]);
				return -1;
			}
			file = cur->argv[0];
			cur->argc--;
			cur->argv++;
			continue;
		}
		if (take_keyword(cur, "policy apply", kws) < 0 ||
		    arg_take_value(cur, "dev", &value) || parse_dev(value, &ifname))
			return -1;
	}
	if (!ifname || !file) {
		rw_err("policy apply needs 'dev IFACE' and a FILE");
		return -1;
	}
	if (privileges_check("policy apply"))
		return -1;
	img = policy_load(file);
	if (!img) {
		rw_err("the live policy of %s is unchanged", ifname);
		return -1;
	}
	err = loader_policy_apply(ifname, img);
	policy_image_delete(img);
	return err ? -1 : 0;
}

static int cmd_policy(struct arg_cursor *cur)
{
	static const char *const kws[] = { "check", "apply", "help", NULL };
	int kw;

	if (cur->argc == 0 || wants_help(cur)) {
		usage_policy(cur->argc ? stdout : stderr);
		return cur->argc ? 0 : -1;
	}
	kw = take_keyword(cur, "policy", kws);
	if (kw == 0)
		return cmd_policy_check(cur);
	if (kw == 1)
		return cmd_policy_apply(cur);
	if (kw == 2) {
		usage_policy(stdout);
		return 0;
	}
	return -1;
}

/* Global options may appear before or after the command; they are pulled out. */
static int strip_options(int *argc, char **argv)
{
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-j") == 0 || strcmp(a, "--json") == 0) {
			if (output == OUTPUT_TEXT)
				output = OUTPUT_JSON;
		} else if (strcmp(a, "-p") == 0 || strcmp(a, "--pretty") == 0) {
			output = OUTPUT_JSON_PRETTY;
		} else if (arg_is_option(a) && strcmp(a, "-h") && strcmp(a, "--help")) {
			rw_err("unknown option '%s' (see 'ratewall help')", a);
			return -1;
		} else {
			argv[out++] = argv[i];
		}
	}
	*argc = out;
	return 0;
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's warnings repeat what our own error line says; keep its debug off. */
	if (level == LIBBPF_WARN && getenv("RATEWALL_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const commands[] = { "attach", "detach", "set", "status", "help",
						"version", "policy", NULL };
	struct arg_cursor cur;
	int cmd;

	libbpf_set_print(silent_print);
	if (strip_options(&argc, argv))
		return 1;
	cur.argc = argc - 1;
	cur.argv = argv + 1;
	if (cur.argc == 0) {
		usage(stderr);
		return 1;
	}
	if (wants_help(&cur)) {
		usage(stdout);
		return 0;
	}
	cmd = take_keyword(&cur, "ratewall", commands);
	switch (cmd) {
	case 0:
		return cmd_attach(&cur) ? 1 : 0;
	case 1:
		return cmd_detach(&cur) ? 1 : 0;
	case 2:
		return cmd_set(&cur) ? 1 : 0;
	case 3:
		return cmd_status(&cur) ? 1 : 0;
	case 4:
		usage(stdout);
		return 0;
	case 5:
		printf("ratewall %s\n", RW_VERSION);
		return 0;
	case 6:
		return cmd_policy(&cur) ? 1 : 0;
	default:
		return 1;
	}
}
