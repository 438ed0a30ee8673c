// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* `ratewall class`: the route classes' live limits, and changing them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "attachment.h"
#include "cli.h"
#include "cli_buckets.h"
#include "cli_objects.h"
#include "conns.h"
#include "log.h"
#include "policy_show.h"
#include "policy_values.h"
#include "privileges.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ratewall [-j|-p] class show [dev IFACE] [NAME]\n"
		"       ratewall class set [dev IFACE] NAME [source|global] [rate R|none] [burst N]\n"
		"                          [syn-rate R|none] [syn-burst N] [conn-cap N|none]\n"
		"                          [mode enforce|observe|shed]\n"
		"  show  every class (or NAME): mode, ports, per-source and class-wide buckets,\n"
		"        connection caps and open connections, as the kernel has them\n"
		"  set   changes one class of the live policy; every packet sees it at once and\n"
		"        'policy show' reports it. Bucket keywords apply to the per-source\n"
		"        buckets until 'global' switches to the class-wide ones ('source'\n"
		"        switches back).\n"
		"    rate, syn-rate  packets or new TCP connections (SYN without ACK), with a\n"
		"                    unit: N/s, N/m or N/h; 'none' removes the bucket\n"
		"    burst, syn-burst  how many at once, 1..%llu (a new bucket without one gets\n"
		"                    one second's worth)\n"
		"    conn-cap        open TCP connections, 1..%u, or none\n"
		"    mode            enforce, observe (count would-be drops, drop nothing) or\n"
		"                    shed (refuse new connections, let established ones drain)\n"
		"Example: ratewall class set web rate 20/s burst 40 global conn-cap 500\n",
		(unsigned long long)RW_BURST_MAX, RW_CONN_CAP_MAX);
}

/* {"dev", "classes": [...]}: the live policy's classes with their open
 * connections; only `name` when given. NULL after an error line. */
static json_object *classes_json(const struct attachment *a, const char *name)
{
	struct live_policy *lp = calloc(1, sizeof(*lp));
	uint64_t open[RW_MAX_CLASSES];
	json_object *all, *classes, *root, *list;
	int err = lp ? live_policy_read(&a->maps, lp) : -ENOMEM;

	if (!err)
		err = conns_by_class(a->conns.class_conns_fd, open);
	if (err) {
		rw_err("cannot read the live policy of %s: %s", a->ifname, strerror(-err));
		free(lp);
		return NULL;
	}
	all = json_object_new_object();
	live_policy_to_json(lp, all);
	free(lp);
	classes = json_object_object_get(all, "classes");
	list = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(classes); i++) {
		json_object *c = json_object_array_get_idx(classes, i);
		const char *cname = json_object_get_string(json_object_object_get(c, "name"));
		uint64_t id = json_object_get_uint64(json_object_object_get(c, "id"));

		if (name && strcmp(name, cname) != 0)
			continue;
		json_object_object_add(c, "open_connections",
				       json_object_new_uint64(open[id % RW_MAX_CLASSES]));
		json_object_array_add(list, json_object_get(c));
	}
	json_object_put(all);
	if (name && json_object_array_length(list) == 0) {
		rw_err("no class '%s' in the live policy of %s", name, a->ifname);
		json_object_put(list);
		return NULL;
	}
	root = json_object_new_object();
	json_object_object_add(root, "dev", json_object_new_string(a->ifname));
	json_object_object_add(root, "classes", list);
	return root;
}

/* "20/s burst 40" or "-" from a {"rate", "burst"} object (null: no bucket). */
static void bucket_text(json_object *b, char *buf, size_t len)
{
	char rate[32];

	if (!b) {
		snprintf(buf, len, "-");
		return;
	}
	rate_format(json_object_get_double(json_object_object_get(b, "rate")), rate, sizeof(rate));
	snprintf(buf, len, "%s burst %llu", rate,
		 (unsigned long long)json_object_get_uint64(json_object_object_get(b, "burst")));
}

static void cap_text(json_object *cap, char *buf, size_t len)
{
	if (cap)
		snprintf(buf, len, "%llu", (unsigned long long)json_object_get_uint64(cap));
	else
		snprintf(buf, len, "-");
}

static void classes_print(json_object *root)
{
	json_object *list = json_object_object_get(root, "classes");

	printf("%s:\n", json_object_get_string(json_object_object_get(root, "dev")));
	printf("  %-16s %-8s %-22s %-22s %-8s %-22s %-22s %-8s %8s  %s\n", "class", "mode",
	       "source packets", "source syn", "src cap", "class packets", "class syn",
	       "cls cap", "open", "ports");
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *c = json_object_array_get_idx(list, i);
		json_object *src = json_object_object_get(c, "source");
		json_object *glb = json_object_object_get(c, "global");
		json_object *ports = json_object_object_get(c, "ports");
		char sp[48], ss[48], sc[16], gp[48], gs[48], gc[16], pt[256] = "";

		bucket_text(json_object_object_get(src, "packets"), sp, sizeof(sp));
		bucket_text(json_object_object_get(src, "syn"), ss, sizeof(ss));
		cap_text(json_object_object_get(src, "connections"), sc, sizeof(sc));
		bucket_text(json_object_object_get(glb, "packets"), gp, sizeof(gp));
		bucket_text(json_object_object_get(glb, "syn"), gs, sizeof(gs));
		cap_text(json_object_object_get(glb, "connections"), gc, sizeof(gc));
		for (size_t k = 0; k < json_object_array_length(ports); k++) {
			size_t used = strlen(pt);

			snprintf(pt + used, sizeof(pt) - used, "%s%s", k ? "," : "",
				 json_object_get_string(json_object_array_get_idx(ports, k)));
		}
		printf("  %-16s %-8s %-22s %-22s %-8s %-22s %-22s %-8s %8llu  %s\n",
		       json_object_get_string(json_object_object_get(c, "name")),
		       json_object_get_string(json_object_object_get(c, "mode")), sp, ss, sc, gp,
		       gs, gc,
		       (unsigned long long)json_object_get_uint64(
			       json_object_object_get(c, "open_connections")),
		       json_object_get_uint64(json_object_object_get(c, "id")) ? pt : "(all others)");
	}
}

static json_object *build_classes(const struct attachment *a, const void *name)
{
	return classes_json(a, name);
}

static int class_show(struct arg_cursor *cur)
{
	const char *ifname = NULL, *name;
	int rc;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	rc = cli_parse_dev_and_word(cur, "class show", "NAME", &ifname, &name);
	if (rc)
		return rc;
	return cli_show("class show", ifname, build_classes, classes_print, name);
}

struct class_change {
	const char *name;
	const char *ifname;
	struct buckets_change scope[2]; /* source, global */
	bool set_mode;
	enum rw_class_mode mode;
};

static int edit_class(struct policy *p, void *ctx)
{
	const struct class_change *chg = ctx;
	int id = policy_class_id(p, chg->name);
	struct policy_class *cl;
	char what[96];

	if (id < 0) {
		char names[RW_MAX_CLASSES * (RW_NAME_MAX + 2)] = "";

		for (size_t i = 0; i < p->n_classes; i++) {
			strcat(names, i ? ", " : "");
			strcat(names, p->classes[i].name);
		}
		rw_err("no class '%s' in the live policy of %s (it has: %s)", chg->name, chg->ifname,
		       names);
		return -ENOENT;
	}
	cl = &p->classes[id];
	snprintf(what, sizeof(what), "class %s, per source", cl->name);
	if (buckets_apply(&chg->scope[0], &cl->source, what))
		return -EINVAL;
	snprintf(what, sizeof(what), "class %s, class-wide", cl->name);
	if (buckets_apply(&chg->scope[1], &cl->global, what))
		return -EINVAL;
	if (chg->set_mode)
		cl->mode = chg->mode;
	return 0;
}

enum set_kw { SET_DEV, SET_SOURCE, SET_GLOBAL, SET_MODE, SET_RATE, SET_BURST, SET_SYN_RATE,
	      SET_SYN_BURST, SET_CONN_CAP };

static int class_set(struct arg_cursor *cur)
{
	static const char *const kws[] = { "dev",	"source",    "global",	  "mode",
					   "rate",	"burst",     "syn-rate",  "syn-burst",
					   "conn-cap",	NULL };
	/* In enum rw_class_mode order. */
	static const char *const modes[] = { "enforce", "observe", "shed", NULL };
	struct class_change chg = { 0 };
	const char *ifname = NULL, *value;
	int scope = 0, idx;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	/* `dev IFACE` may come first; the next word is the class, whatever it spells. */
	if (cur->argc >= 2 && strcmp(cur->argv[0], "dev") == 0) {
		if (cli_parse_dev(cur->argv[1], &ifname))
			return CLI_USAGE;
		cur->argc -= 2;
		cur->argv += 2;
	}
	if (cur->argc == 0)
		return cli_usage_error("class set needs a class NAME (see 'ratewall class help')");
	chg.name = cur->argv[0];
	cur->argc--;
	cur->argv++;
	while (cur->argc > 0) {
		int kw = cli_keyword(cur, "class set", kws);

		if (kw < 0)
			return CLI_USAGE;
		switch (kw) {
		case SET_DEV:
			if (arg_take_value(cur, "dev", &value) || cli_parse_dev(value, &ifname))
				return CLI_USAGE;
			break;
		case SET_SOURCE:
		case SET_GLOBAL:
			scope = kw == SET_GLOBAL;
			break;
		case SET_MODE:
			if (arg_take_value(cur, "mode", &value))
				return CLI_USAGE;
			idx = cli_parse_choice("mode", value, modes);
			if (idx < 0)
				return CLI_USAGE;
			chg.mode = (enum rw_class_mode)idx;
			chg.set_mode = true;
			break;
		default:
			if (buckets_parse(cur, (enum bucket_kw)(kw - SET_RATE), &chg.scope[scope]))
				return CLI_USAGE;
		}
	}
	if (buckets_conflict(&chg.scope[0]) || buckets_conflict(&chg.scope[1]))
		return CLI_USAGE;
	if (!chg.scope[0].any && !chg.scope[1].any && !chg.set_mode)
		return cli_usage_error("class set %s changes nothing: give rate, burst, syn-rate, "
				       "syn-burst, conn-cap or mode", chg.name);
	return cli_change("class set", ifname, &chg.ifname, edit_class, &chg);
}

int cli_class(struct arg_cursor *cur)
{
	static const char *const cmds[] = { "show", "set", NULL };
	static int (*const run[])(struct arg_cursor *) = { class_show, class_set };

	return cli_dispatch(cur, "class", cmds, run, usage);
}
