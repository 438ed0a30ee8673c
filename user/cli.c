// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "attachment.h"
#include "cli.h"
#include "log.h"
#include "pins.h"
#include "policy_values.h"
#include "privileges.h"
#include "loader.h"

struct cli cli = { .output = OUTPUT_TEXT };

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("ratewall: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_USAGE;
}

bool cli_wants_help(const struct arg_cursor *cur)
{
	return cur->argc > 0 &&
	       (strcmp(cur->argv[0], "help") == 0 || strcmp(cur->argv[0], "--help") == 0 ||
		strcmp(cur->argv[0], "-h") == 0);
}

int cli_keyword(struct arg_cursor *cur, const char *where, const char *const *keywords)
{
	const char *word = cur->argc > 0 ? cur->argv[0] : NULL;
	int idx;

	if (!word) {
		cli_usage_error("'%s' needs more (see 'ratewall %s help')", where, where);
		return -1;
	}
	idx = arg_match(word, keywords);
	if (idx == -2) {
		if (strcmp(where, "ratewall") == 0)
			cli_usage_error("'%s' is ambiguous (see 'ratewall help')", word);
		else
			cli_usage_error("'%s' is ambiguous for '%s' (see 'ratewall %s help')", word,
					where, where);
		return -1;
	}
	if (idx < 0) {
		if (strcmp(where, "ratewall") == 0)
			cli_usage_error("unknown object '%s' (see 'ratewall help')", word);
		else
			cli_usage_error("unknown keyword '%s' for '%s' (see 'ratewall %s help')", word,
					where, where);
		return -1;
	}
	cur->argc--;
	cur->argv++;
	return idx;
}

int cli_parse_dev(const char *value, const char **ifname)
{
	if (!arg_ifname_valid(value)) {
		rw_err("'%s' is not a valid interface name (1-15 bytes, not . or .., "
		       "no '/', ':' or spaces)", value);
		return -1;
	}
	*ifname = value;
	return 0;
}

int cli_parse_rate(const char *keyword, const char *value, struct policy_limit *out)
{
	char msg[POLICY_MSG_MAX];
	uint64_t count, period;

	if (!policy_parse_rate(value, &count, &period, msg, sizeof(msg))) {
		/* The message names the value as "rate ...": name the keyword instead. */
		if (strncmp(msg, "rate ", 5) == 0)
			rw_err("%s %s", keyword, msg + 5);
		else
			rw_err("%s: %s", keyword, msg);
		return -1;
	}
	out->count = count;
	out->period_ns = period;
	return 0;
}

int cli_parse_burst(const char *keyword, const char *value, uint64_t *out)
{
	return arg_parse_u64(keyword, value, 1, RW_BURST_MAX, out);
}

int cli_parse_choice(const char *keyword, const char *value, const char *const *words)
{
	int idx = arg_match(value, words);
	char list[128] = "";

	if (idx >= 0)
		return idx;
	for (int i = 0; words[i]; i++) {
		size_t used = strlen(list);

		snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", words[i]);
	}
	rw_err("%s '%s' is not one of %s", keyword, value, list);
	return -1;
}

int cli_parse_on_off(const char *keyword, const char *value, bool *on)
{
	static const char *const words[] = { "on", "off", NULL };
	int idx = cli_parse_choice(keyword, value, words);

	*on = idx == 0;
	return idx < 0 ? -1 : 0;
}

int cli_parse_cidr(const char *value, struct policy_cidr *out)
{
	char msg[POLICY_MSG_MAX];

	if (!policy_parse_cidr(value, out, msg, sizeof(msg))) {
		rw_err("%s", msg);
		return -1;
	}
	return 0;
}

const char *cli_cidr_text(const struct policy_cidr *c)
{
	static char buf[64];

	policy_format_cidr(c, buf, sizeof(buf));
	return buf;
}

int cli_parse_addr(const char *value, uint8_t *family, uint32_t addr[4])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, value, addr) == 1) {
		*family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, value, addr) == 1) {
		*family = 6;
		return 0;
	}
	rw_err("'%s' is not an IPv4 or IPv6 address", value);
	return -1;
}

/* Names of this namespace's whole attachments, in name order; -errno on failure. */
static int attached_names(char names[][IF_NAMESIZE], int max, int *count)
{
	char ns_dir[PATH_MAX], dir[PATH_MAX];
	struct dirent **ents;
	int n;

	*count = 0;
	if (!pins_bpffs_mounted())
		return 0;
	if (pins_ns_dir_here(ns_dir, sizeof(ns_dir)))
		return -EINVAL;
	n = scandir(ns_dir, &ents, NULL, alphasort);
	if (n < 0)
		return errno == ENOENT ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		char name[IF_NAMESIZE];
		struct attachment a;

		if (pins_name_decode(name, sizeof(name), ents[i]->d_name) == 0 &&
		    pins_path(dir, sizeof(dir), ns_dir, ents[i]->d_name) == 0 &&
		    attachment_open_dir(dir, name, &a) == ATT_OK) {
			if (*count < max)
				snprintf(names[*count], IF_NAMESIZE, "%s", a.ifname);
			(*count)++;
			attachment_close(&a);
		}
		free(ents[i]);
	}
	free(ents);
	return 0;
}

/* Parses `[dev IFACE]`, the only argument of commands that take nothing else. */
int cli_parse_only_dev(struct arg_cursor *cur, const char *where, const char **ifname)
{
	static const char *const kws[] = { "dev", NULL };
	const char *value;

	while (cur->argc > 0) {
		if (cli_keyword(cur, where, kws) < 0 || arg_take_value(cur, "dev", &value) ||
		    cli_parse_dev(value, ifname))
			return CLI_USAGE;
	}
	return CLI_OK;
}

int cli_parse_dev_and_word(struct arg_cursor *cur, const char *where, const char *what,
			   const char **ifname, const char **word)
{
	static const char *const kws[] = { "dev", NULL };
	const char *value;

	*word = NULL;
	while (cur->argc > 0) {
		if (arg_match(cur->argv[0], kws) < 0) {
			if (*word)
				return cli_usage_error("%s takes one %s; '%s' is one too many", where,
						       what, cur->argv[0]);
			*word = cur->argv[0];
			cur->argc--;
			cur->argv++;
			continue;
		}
		if (cli_keyword(cur, where, kws) < 0 || arg_take_value(cur, "dev", &value) ||
		    cli_parse_dev(value, ifname))
			return CLI_USAGE;
	}
	return CLI_OK;
}

int cli_pick_dev(const char *given, const char **ifname)
{
	static char names[8][IF_NAMESIZE];
	char list[8 * (IF_NAMESIZE + 2)] = "";
	int count, err;

	if (given || cli.dev) {
		*ifname = given ? given : cli.dev;
		return CLI_OK;
	}
	err = attached_names(names, 8, &count);
	if (err) {
		rw_err("cannot list the attachments of this network namespace: %s",
		       strerror(-err));
		return CLI_FAIL;
	}
	if (count == 0) {
		rw_err("nothing attached in this network namespace (see 'ratewall link attach')");
		return CLI_FAIL;
	}
	if (count == 1) {
		*ifname = names[0];
		return CLI_OK;
	}
	for (int i = 0; i < count && i < 8; i++) {
		strcat(list, i ? ", " : "");
		strcat(list, names[i]);
	}
	return cli_usage_error("%d interfaces are attached (%s%s): name one with 'dev IFACE' or "
			       "-d IFACE", count, list, count > 8 ? ", ..." : "");
}

void cli_print_json(json_object *o)
{
	output_json(o, cli.output);
}

int cli_changed(int err)
{
	if (err)
		return CLI_FAIL;
	if (cli.output != OUTPUT_TEXT)
		printf("null\n");
	return CLI_OK;
}

int cli_help(void (*usage)(FILE *f), const struct arg_cursor *cur)
{
	if (cur->argc == 0) {
		usage(stderr);
		return CLI_USAGE;
	}
	usage(stdout);
	return CLI_OK;
}

int cli_change(const char *where, const char *given, const char **ifname_slot,
	       int (*edit)(struct policy *p, void *ctx), void *ctx)
{
	const char *ifname;
	int rc;

	if (privileges_check(where))
		return CLI_FAIL;
	rc = cli_pick_dev(given, &ifname);
	if (rc)
		return rc;
	*ifname_slot = ifname;
	return cli_changed(loader_policy_edit(ifname, edit, ctx));
}

int cli_show(const char *where, const char *given,
	     json_object *(*build)(const struct attachment *a, const void *ctx),
	     void (*print)(json_object *root), const void *ctx)
{
	struct attachment a;
	json_object *root;
	int rc, lock;

	if (privileges_check(where))
		return CLI_FAIL;
	rc = cli_open(given, &a, &lock);
	if (rc)
		return rc;
	root = build(&a, ctx);
	cli_close(&a, lock);
	if (!root)
		return CLI_FAIL;
	if (cli.output == OUTPUT_TEXT)
		print(root);
	else
		cli_print_json(root);
	json_object_put(root);
	return CLI_OK;
}

int cli_open(const char *given, struct attachment *a, int *lock)
{
	const char *ifname;
	int rc = cli_pick_dev(given, &ifname);

	if (rc)
		return rc;
	*lock = pins_lock(false);
	if (*lock < 0)
		return CLI_FAIL;
	if (attachment_open(ifname, a)) {
		pins_unlock(*lock);
		return CLI_FAIL;
	}
	return CLI_OK;
}

void cli_close(struct attachment *a, int lock)
{
	attachment_close(a);
	pins_unlock(lock);
}

int cli_dispatch(struct arg_cursor *cur, const char *object, const char *const *commands,
		 int (*const *run)(struct arg_cursor *cur), void (*usage)(FILE *f))
{
	int cmd;

	if (cur->argc == 0 || cli_wants_help(cur))
		return cli_help(usage, cur);
	cmd = cli_keyword(cur, object, commands);
	return cmd < 0 ? CLI_USAGE : run[cmd](cur);
}
