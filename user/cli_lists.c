// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* `ratewall allow` and `ratewall deny`: the lists of never-limited and
 * always-refused source prefixes, shown and changed live. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_objects.h"
#include "cli_policy_view.h"
#include "log.h"
#include "policy_cidrs.h"

static void usage_list(FILE *f, const char *list, const char *what)
{
	fprintf(f,
		"Usage: ratewall [-j|-p] %s show [dev IFACE]\n"
		"       ratewall %s add [dev IFACE] CIDR\n"
		"       ratewall %s del [dev IFACE] CIDR\n"
		"  Sources in the %s list %s. The longest matching prefix of\n"
		"  the allow and deny lists decides; a change applies at the next packet and\n"
		"  'policy show' reports it.\n"
		"Example: ratewall %s add 198.18.99.0/24\n",
		list, list, list, list, what, list);
}

static void usage_allow(FILE *f)
{
	usage_list(f, "allow", "are never limited (reason allow)");
}

static void usage_deny(FILE *f)
{
	usage_list(f, "deny", "are always refused (reason deny)");
}

struct list_change {
	const char *ifname;
	const char *list; /* "allow" or "deny" */
	bool add;
	struct policy_cidr cidr;
};

static int edit_list(struct policy *p, void *ctx)
{
	const struct list_change *chg = ctx;
	bool allow = strcmp(chg->list, "allow") == 0;
	struct policy_cidr **cidrs = allow ? &p->allow : &p->deny;
	size_t *n = allow ? &p->n_allow : &p->n_deny;
	long at = policy_cidr_find(*cidrs, *n, &chg->cidr);

	if (chg->add && at >= 0) {
		rw_err("%s is in the %s list of %s already", cli_cidr_text(&chg->cidr), chg->list,
		       chg->ifname);
		return -EEXIST;
	}
	if (!chg->add && at < 0) {
		rw_err("%s is not in the %s list of %s", cli_cidr_text(&chg->cidr), chg->list,
		       chg->ifname);
		return -ENOENT;
	}
	if (chg->add)
		return policy_cidr_append(cidrs, n, &chg->cidr);
	policy_cidr_remove(*cidrs, n, (size_t)at);
	return 0;
}

static int list_change(struct arg_cursor *cur, const char *list, bool add, void (*usage)(FILE *f))
{
	struct list_change chg = { .list = list, .add = add };
	const char *ifname = NULL, *cidr;
	char where[16];
	int rc;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	snprintf(where, sizeof(where), "%s %s", list, add ? "add" : "del");
	rc = cli_parse_dev_and_word(cur, where, "CIDR", &ifname, &cidr);
	if (rc)
		return rc;
	if (!cidr)
		return cli_usage_error("%s needs a CIDR", where);
	if (cli_parse_cidr(cidr, &chg.cidr))
		return CLI_USAGE;
	return cli_change(where, ifname, &chg.ifname, edit_list, &chg);
}

static int allow_show(struct arg_cursor *cur)
{
	return policy_view_show(cur, "allow show", POLICY_VIEW_ALLOW, usage_allow);
}

static int allow_add(struct arg_cursor *cur)
{
	return list_change(cur, "allow", true, usage_allow);
}

static int allow_del(struct arg_cursor *cur)
{
	return list_change(cur, "allow", false, usage_allow);
}

static int deny_show(struct arg_cursor *cur)
{
	return policy_view_show(cur, "deny show", POLICY_VIEW_DENY, usage_deny);
}

static int deny_add(struct arg_cursor *cur)
{
	return list_change(cur, "deny", true, usage_deny);
}

static int deny_del(struct arg_cursor *cur)
{
	return list_change(cur, "deny", false, usage_deny);
}

int cli_allow(struct arg_cursor *cur)
{
	static const char *const cmds[] = { "show", "add", "del", NULL };
	static int (*const run[])(struct arg_cursor *) = { allow_show, allow_add, allow_del };

	return cli_dispatch(cur, "allow", cmds, run, usage_allow);
}

int cli_deny(struct arg_cursor *cur)
{
	static const char *const cmds[] = { "show", "add", "del", NULL };
	static int (*const run[])(struct arg_cursor *) = { deny_show, deny_add, deny_del };

	return cli_dispatch(cur, "deny", cmds, run, usage_deny);
}
