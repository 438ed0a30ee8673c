// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <string.h>
#include <json-c/json.h>

#include "attachment.h"
#include "cli.h"
#include "cli_buckets.h"
#include "cli_policy_view.h"
#include "loader.h"
#include "log.h"
#include "policy_compile.h"
#include "policy_show.h"
#include "privileges.h"

/* A bucket of the model as every command's JSON gives one. */
static json_object *limit_json(const struct policy_limit *l)
{
	return limit_word_json(policy_limit_word(l));
}

static json_object *cidrs_json(const struct policy_cidr *cidrs, size_t n)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(cli_cidr_text(&cidrs[i])));
	return arr;
}

static json_object *tenants_json(const struct policy *p, const char *name)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < p->n_tenants; i++) {
		const struct policy_tenant *t = &p->tenants[i];
		json_object *o, *per;

		if (name && strcmp(name, t->name) != 0)
			continue;
		o = json_object_new_object();
		per = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_uint64(i + 1));
		json_object_object_add(o, "name", json_object_new_string(t->name));
		json_object_object_add(o, "cidrs", cidrs_json(t->cidrs, t->n_cidrs));
		json_object_object_add(o, "packets", limit_json(&t->all.packets));
		json_object_object_add(o, "syn", limit_json(&t->all.syn));
		for (size_t c = 0; c < p->n_classes; c++) {
			const struct policy_buckets *b = &t->per_class[c];
			json_object *pc;

			if (!b->packets.count && !b->syn.count)
				continue;
			pc = json_object_new_object();
			json_object_object_add(pc, "packets", limit_json(&b->packets));
			json_object_object_add(pc, "syn", limit_json(&b->syn));
			json_object_object_add(per, p->classes[c].name, pc);
		}
		json_object_object_add(o, "classes", per);
		json_object_array_add(arr, o);
	}
	return arr;
}

static void print_limits(const struct policy_buckets *b)
{
	char pk[48], sy[48];

	policy_limit_format(&b->packets, pk, sizeof(pk));
	policy_limit_format(&b->syn, sy, sizeof(sy));
	printf("packets %-24s syn %s\n", pk, sy);
}

static void print_tenants(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_tenants; i++) {
		const struct policy_tenant *t = &p->tenants[i];

		if (name && strcmp(name, t->name) != 0)
			continue;
		printf("  tenant %s (id %zu):", t->name, i + 1);
		for (size_t k = 0; k < t->n_cidrs; k++)
			printf("%s %s", k ? "," : "", cli_cidr_text(&t->cidrs[k]));
		printf("\n    all classes   ");
		print_limits(&t->all);
		for (size_t c = 0; c < p->n_classes; c++) {
			if (!t->per_class[c].packets.count && !t->per_class[c].syn.count)
				continue;
			printf("    in %-10s ", p->classes[c].name);
			print_limits(&t->per_class[c]);
		}
	}
}

static int show_model(const struct attachment *a, const struct policy *p, enum policy_view view,
		      const char *name)
{
	static const char *const list_names[] = { "tenants", "allow", "deny" };
	const struct policy_cidr *cidrs = view == POLICY_VIEW_ALLOW ? p->allow : p->deny;
	size_t n = view == POLICY_VIEW_ALLOW ? p->n_allow : p->n_deny;
	json_object *root;

	if (view == POLICY_VIEW_TENANTS && name) {
		bool found = false;

		for (size_t i = 0; i < p->n_tenants; i++)
			found |= strcmp(p->tenants[i].name, name) == 0;
		if (!found) {
			rw_err("no tenant '%s' in the live policy of %s", name, a->ifname);
			return CLI_FAIL;
		}
	}
	if (cli.output == OUTPUT_TEXT) {
		printf("%s: %s\n", a->ifname, list_names[view]);
		if (view == POLICY_VIEW_TENANTS)
			print_tenants(p, name);
		else
			for (size_t i = 0; i < n; i++)
				printf("  %s\n", cli_cidr_text(&cidrs[i]));
		return CLI_OK;
	}
	root = json_object_new_object();
	json_object_object_add(root, "dev", json_object_new_string(a->ifname));
	json_object_object_add(root, list_names[view],
			       view == POLICY_VIEW_TENANTS ? tenants_json(p, name) : cidrs_json(cidrs, n));
	cli_print_json(root);
	json_object_put(root);
	return CLI_OK;
}

int policy_view_show(struct arg_cursor *cur, const char *where, enum policy_view view,
		     void (*usage)(FILE *f))
{
	const char *ifname = NULL, *name = NULL;
	struct policy p = { 0 };
	struct rw_policy active;
	struct attachment a;
	int rc, lock;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	rc = view == POLICY_VIEW_TENANTS
		     ? cli_parse_dev_and_word(cur, where, "NAME", &ifname, &name)
		     : cli_parse_only_dev(cur, where, &ifname);
	if (rc)
		return rc;
	if (privileges_check(where))
		return CLI_FAIL;
	rc = cli_open(ifname, &a, &lock);
	if (rc)
		return rc;
	if (live_policy_model(&a.maps, a.ifname, &p, &active))
		rc = CLI_FAIL;
	else
		rc = show_model(&a, &p, view, name);
	policy_free(&p);
	cli_close(&a, lock);
	return rc;
}
