// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* `ratewall tenant`: tenants by source prefix, shown and changed live. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "attachment.h"
#include "cli.h"
#include "cli_buckets.h"
#include "cli_objects.h"
#include "cli_policy_view.h"
#include "log.h"
#include "policy_cidrs.h"
#include "policy_values.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ratewall [-j|-p] tenant show [dev IFACE] [NAME]\n"
		"       ratewall tenant add [dev IFACE] CIDR name NAME [rate R|none] [burst N]\n"
		"                           [syn-rate R|none] [syn-burst N] [in CLASS ...]\n"
		"       ratewall tenant del [dev IFACE] { CIDR | name NAME }\n"
		"  show  every tenant (or NAME): its prefixes and buckets\n"
		"  add   adds CIDR to tenant NAME, making the tenant when it is new; bucket\n"
		"        keywords set the buckets all its sources share across classes, or,\n"
		"        after 'in CLASS', those it has in that class. Rates take a unit (N/s,\n"
		"        N/m, N/h); a new bucket without a burst gets one second's worth.\n"
		"  del   removes CIDR from its tenant (the tenant goes with its last prefix),\n"
		"        or tenant NAME whole\n"
		"Example: ratewall tenant add 198.18.64.0/24 name ci rate 500/s in web syn-rate 20/s\n");
}

static int tenant_show(struct arg_cursor *cur)
{
	return policy_view_show(cur, "tenant show", POLICY_VIEW_TENANTS, usage);
}

struct tenant_change {
	const char *ifname;
	const char *name;
	struct policy_cidr cidr;
	bool has_cidr;
	struct buckets_change all;
	const char *in_class[RW_MAX_CLASSES];
	struct buckets_change in[RW_MAX_CLASSES];
	size_t n_in;
};

static struct policy_tenant *tenant_named(struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_tenants; i++)
		if (strcmp(p->tenants[i].name, name) == 0)
			return &p->tenants[i];
	return NULL;
}

static int edit_add(struct policy *p, void *ctx)
{
	const struct tenant_change *chg = ctx;
	struct policy_tenant *t = tenant_named(p, chg->name);
	char what[96];

	if (!t) {
		struct policy_tenant *more;

		if (p->n_tenants >= RW_MAX_TENANTS - 1) {
			rw_err("the live policy of %s has %d tenants already, the most it can hold",
			       chg->ifname, RW_MAX_TENANTS - 1);
			return -ENOSPC;
		}
		more = realloc(p->tenants, (p->n_tenants + 1) * sizeof(*more));
		if (!more)
			return -ENOMEM;
		p->tenants = more;
		t = &p->tenants[p->n_tenants++];
		memset(t, 0, sizeof(*t));
		snprintf(t->name, sizeof(t->name), "%s", chg->name);
	}
	if (policy_cidr_find(t->cidrs, t->n_cidrs, &chg->cidr) >= 0) {
		rw_err("tenant %s has %s already", t->name, cli_cidr_text(&chg->cidr));
		return -EEXIST;
	}
	if (policy_cidr_append(&t->cidrs, &t->n_cidrs, &chg->cidr))
		return -ENOMEM;
	snprintf(what, sizeof(what), "tenant %s", t->name);
	if (buckets_apply(&chg->all, &t->all, what))
		return -EINVAL;
	for (size_t i = 0; i < chg->n_in; i++) {
		int id = policy_class_id(p, chg->in_class[i]);

		if (id < 0) {
			rw_err("no class '%s' in the live policy of %s", chg->in_class[i], chg->ifname);
			return -ENOENT;
		}
		snprintf(what, sizeof(what), "tenant %s in class %s", t->name, chg->in_class[i]);
		if (buckets_apply(&chg->in[i], &t->per_class[id], what))
			return -EINVAL;
	}
	return 0;
}

static void remove_tenant(struct policy *p, size_t i)
{
	free(p->tenants[i].cidrs);
	memmove(&p->tenants[i], &p->tenants[i + 1], (p->n_tenants - i - 1) * sizeof(p->tenants[0]));
	p->n_tenants--;
}

static int edit_del(struct policy *p, void *ctx)
{
	const struct tenant_change *chg = ctx;

	for (size_t i = 0; i < p->n_tenants; i++) {
		struct policy_tenant *t = &p->tenants[i];
		long at = chg->has_cidr ? policy_cidr_find(t->cidrs, t->n_cidrs, &chg->cidr) : -1;

		if (chg->has_cidr ? at < 0 : strcmp(t->name, chg->name) != 0)
			continue;
		if (chg->has_cidr && t->n_cidrs > 1) {
			policy_cidr_remove(t->cidrs, &t->n_cidrs, (size_t)at);
			return 0;
		}
		if (chg->has_cidr)
			rw_note("%s: tenant %s had no other prefix and is removed", chg->ifname,
				t->name);
		remove_tenant(p, i);
		return 0;
	}
	if (chg->has_cidr)
		rw_err("no tenant of %s has the prefix %s", chg->ifname, cli_cidr_text(&chg->cidr));
	else
		rw_err("no tenant '%s' in the live policy of %s", chg->name, chg->ifname);
	return -ENOENT;
}

enum add_kw { ADD_DEV, ADD_NAME, ADD_IN, ADD_RATE, ADD_BURST, ADD_SYN_RATE, ADD_SYN_BURST };

static int tenant_add(struct arg_cursor *cur)
{
	static const char *const kws[] = { "dev", "name", "in", "rate", "burst", "syn-rate",
					   "syn-burst", NULL };
	struct tenant_change *chg;
	struct buckets_change *scope;
	const char *ifname = NULL, *value;
	char msg[POLICY_MSG_MAX];
	int rc = CLI_USAGE;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	chg = calloc(1, sizeof(*chg));
	if (!chg) {
		rw_err("out of memory");
		return CLI_FAIL;
	}
	scope = &chg->all;
	while (cur->argc > 0) {
		int kw;

		if (!chg->has_cidr && strchr(cur->argv[0], '/')) {
			if (cli_parse_cidr(cur->argv[0], &chg->cidr))
				goto out;
			chg->has_cidr = true;
			cur->argc--;
			cur->argv++;
			continue;
		}
		kw = cli_keyword(cur, "tenant add", kws);
		if (kw < 0)
			goto out;
		switch (kw) {
		case ADD_DEV:
			if (arg_take_value(cur, "dev", &value) || cli_parse_dev(value, &ifname))
				goto out;
			break;
		case ADD_NAME:
			if (arg_take_value(cur, "name", &value))
				goto out;
			if (!policy_parse_name("tenant", value, msg, sizeof(msg))) {
				rw_err("%s", msg);
				goto out;
			}
			chg->name = value;
			break;
		case ADD_IN:
			if (arg_take_value(cur, "in", &value))
				goto out;
			if (chg->n_in == RW_MAX_CLASSES) {
				cli_usage_error("tenant add names more classes than a policy has");
				goto out;
			}
			chg->in_class[chg->n_in] = value;
			scope = &chg->in[chg->n_in++];
			break;
		default:
			if (buckets_parse(cur, (enum bucket_kw)(kw - ADD_RATE), scope))
				goto out;
		}
	}
	if (buckets_conflict(&chg->all))
		goto out;
	for (size_t i = 0; i < chg->n_in; i++)
		if (buckets_conflict(&chg->in[i]))
			goto out;
	if (!chg->has_cidr || !chg->name) {
		cli_usage_error("tenant add needs a CIDR and 'name NAME'");
		goto out;
	}
	rc = cli_change("tenant add", ifname, &chg->ifname, edit_add, chg);
out:
	free(chg);
	return rc;
}

static int tenant_del(struct arg_cursor *cur)
{
	static const char *const kws[] = { "dev", "name", NULL };
	struct tenant_change *chg;
	const char *ifname = NULL, *value;
	int rc = CLI_USAGE;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	chg = calloc(1, sizeof(*chg));
	if (!chg) {
		rw_err("out of memory");
		return CLI_FAIL;
	}
	while (cur->argc > 0) {
		int kw;

		if (strchr(cur->argv[0], '/')) {
			if (chg->has_cidr || cli_parse_cidr(cur->argv[0], &chg->cidr)) {
				if (chg->has_cidr)
					cli_usage_error("tenant del takes one CIDR");
				goto out;
			}
			chg->has_cidr = true;
			cur->argc--;
			cur->argv++;
			continue;
		}
		kw = cli_keyword(cur, "tenant del", kws);
		if (kw < 0 || arg_take_value(cur, kws[kw], &value))
			goto out;
		if (kw == 0 && cli_parse_dev(value, &ifname))
			goto out;
		if (kw == 1)
			chg->name = value;
	}
	if (chg->has_cidr == (chg->name != NULL)) {
		cli_usage_error("tenant del needs one CIDR or 'name NAME'");
		goto out;
	}
	rc = cli_change("tenant del", ifname, &chg->ifname, edit_del, chg);
out:
	free(chg);
	return rc;
}

int cli_tenant(struct arg_cursor *cur)
{
	static const char *const cmds[] = { "show", "add", "del", NULL };
	static int (*const run[])(struct arg_cursor *) = { tenant_show, tenant_add, tenant_del };

	return cli_dispatch(cur, "tenant", cmds, run, usage);
}
