// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <dirent.h>
#include <stdlib.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <json-c/json.h>

#include "conns_show.h"
#include "counters_show.h"
#include "log.h"
#include "loader.h"
#include "pins.h"
#include "policy_show.h"
#include "status.h"

struct attachment_view {
	struct rw_config cfg;
	struct bpf_link_info link;
	struct counter_table counters;
	struct live_policy policy;
	struct conns_view conns;
};

static int read_view(const struct attachment *a, struct attachment_view *v)
{
	__u32 len = sizeof(v->link), zero = 0;
	int err;

	memset(v, 0, sizeof(*v));
	if (bpf_map_lookup_elem(a->maps.config_fd, &zero, &v->cfg))
		return -errno;
	if (bpf_obj_get_info_by_fd(a->link_fd, &v->link, &len))
		return -errno;
	err = live_policy_read(&a->maps, &v->policy);
	if (!err)
		err = counters_read(a->maps.counters_fd, &v->counters);
	if (!err)
		err = conns_view_read(&a->conns, a->sockops_link_fd, v->cfg.cgroup_id, &v->conns);
	return err;
}

/* The default class's per-source packet bucket, echoed as the top-level rate/burst. */
static uint64_t default_source_word(const struct attachment_view *v)
{
	return v->policy.policy.classes[0].src_pkt;
}

/*
 * A link whose interface went away stays pinned but no longer runs; one
 * whose interface moved to another network namespace runs there.
 */
static const char *link_state(const struct attachment *a, const struct attachment_view *v)
{
	if (!v->link.xdp.ifindex)
		return "defunct";
	return a->moved ? "moved" : "attached";
}

static json_object *view_to_json(const struct attachment *a, const struct attachment_view *v)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "dev", json_object_new_string(a->ifname));
	json_object_object_add(o, "pinned_as", json_object_new_string(a->pin_name));
	json_object_object_add(o, "ifindex", json_object_new_int64(v->cfg.ifindex));
	json_object_object_add(o, "state", json_object_new_string(link_state(a, v)));
	json_object_object_add(o, "pin_dir", json_object_new_string(a->dir));
	json_object_object_add(o, "mode",
			       json_object_new_string(attach_mode_name(v->cfg.attach_mode)));
	json_object_object_add(o, "prog_id", json_object_new_int64(v->link.prog_id));
	json_object_object_add(o, "link_id", json_object_new_int64(v->link.id));
	json_object_object_add(o, "rate",
			       default_source_word(v)
				       ? json_object_new_double(
						 limit_word_rate_display(default_source_word(v)))
				       : NULL);
	json_object_object_add(o, "burst",
			       json_object_new_uint64(rw_limit_burst(default_source_word(v))));
	json_object_object_add(o, "shed", json_object_new_boolean(v->cfg.shed_all));
	json_object_object_add(o, "new_rate", json_object_new_uint64(v->cfg.new_rate));
	json_object_object_add(o, "new_burst", json_object_new_uint64(v->cfg.new_burst));
	json_object_object_add(o, "prefix4", json_object_new_int64(v->cfg.prefix4));
	json_object_object_add(o, "prefix6", json_object_new_int64(v->cfg.prefix6));
	json_object_object_add(o, "entries", json_object_new_int64(v->cfg.max_entries));
	json_object_object_add(o, "malformed",
			       json_object_new_string(v->cfg.malformed_drop ? "drop" : "pass"));
	live_policy_to_json(&v->policy, o);
	json_object_object_add(o, "connections",
			       conns_view_to_json(&v->conns, &v->cfg, &v->policy.policy));

	counters_to_json(o, &v->counters, NULL, 0, &v->policy.policy);
	return o;
}

static void print_text(const struct attachment *a, const struct attachment_view *v)
{
	printf("%s: %s, mode %s, prog %u, link %u", a->ifname, link_state(a, v),
	       attach_mode_name(v->cfg.attach_mode), v->link.prog_id, v->link.id);
	if (a->moved)
		printf(" (its interface moved to another network namespace; detach it)");
	else if (strcmp(a->ifname, a->pin_name) != 0)
		printf(" (attached as %s, renamed since)", a->pin_name);
	printf("\n");
	printf("  prefix4 /%u  prefix6 /%u  entries %u  malformed %s  shed %s\n",
	       v->cfg.prefix4, v->cfg.prefix6, v->cfg.max_entries,
	       v->cfg.malformed_drop ? "drop" : "pass", v->cfg.shed_all ? "on (every class)" : "off");
	printf("  new sources %" PRIu64 "/s  burst %" PRIu64 "\n", (uint64_t)v->cfg.new_rate,
	       (uint64_t)v->cfg.new_burst);
	live_policy_print(stdout, &v->policy);
	conns_view_print(stdout, &v->conns, &v->cfg, &v->policy.policy);
	printf("  pins %s\n", a->dir);
	{
		json_object *counters = json_object_new_object();

		counters_to_json(counters, &v->counters, NULL, 0, &v->policy.policy);
		counters_print(stdout, json_object_object_get(counters, "counters"), false);
		json_object_put(counters);
	}
}

static int show_one(const struct attachment *a, enum output_format fmt, json_object *arr)
{
	struct attachment_view *v = calloc(1, sizeof(*v));
	int err = v ? read_view(a, v) : -ENOMEM;

	if (err) {
		rw_err("cannot read the state of %s: %s", a->ifname, strerror(-err));
		free(v);
		return err;
	}
	if (fmt == OUTPUT_TEXT)
		print_text(a, v);
	else
		json_object_array_add(arr, view_to_json(a, v));
	free(v);
	return 0;
}

/*
 * Pins with a piece missing are a state to report, not a reason to stop.
 * ATT_INCOMPLETE: what is left shows they are this namespace's, so detach
 * may clear them; otherwise (unproven, another version's) they are only
 * listed, for an operator to judge.
 */
static void show_incomplete(const char *name, const char *dir, enum attachment_status st,
			    enum output_format fmt, json_object *arr)
{
	const char *state = st == ATT_UNPROVEN	    ? "unproven" :
			    st == ATT_OTHER_VERSION ? "other_version" :
						      "incomplete";
	json_object *o;

	if (fmt == OUTPUT_TEXT) {
		if (st == ATT_UNPROVEN)
			printf("%s: unproven pins at %s: no config or link pin tells which "
			       "network namespace they belong to; ratewall leaves them alone\n",
			       name, dir);
		else if (st == ATT_OTHER_VERSION)
			printf("%s: pins at %s made by another ratewall version; ratewall leaves "
			       "them alone\n", name, dir);
		else
			printf("%s: incomplete pins at %s; run 'ratewall link detach dev %s' to clear "
			       "them\n", name, dir, name);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "dev", json_object_new_string(name));
	json_object_object_add(o, "pinned_as", json_object_new_string(name));
	json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "pin_dir", json_object_new_string(dir));
	json_object_array_add(arr, o);
}

/* Every attachment directory of this namespace, in name order. */
static int show_all(enum output_format fmt, json_object *arr)
{
	struct dirent **names;
	char ns_dir[PATH_MAX], dir[PATH_MAX];
	int n, err = 0, shown = 0;

	if (pins_ns_dir_here(ns_dir, sizeof(ns_dir)))
		return -EINVAL;
	n = scandir(ns_dir, &names, NULL, alphasort);
	if (n < 0) {
		if (errno != ENOENT) {
			err = -errno;
			rw_err("cannot list %s: %s", ns_dir, strerror(-err));
			return err;
		}
		n = 0;
	}
	for (int i = 0; i < n; i++) {
		char name[IF_NAMESIZE];
		struct attachment a;

		/* Only interfaces' directories decode: not ".", ".." or netns:COOKIE. */
		if (pins_name_decode(name, sizeof(name), names[i]->d_name) == 0 &&
		    pins_path(dir, sizeof(dir), ns_dir, names[i]->d_name) == 0) {
			int st = attachment_open_dir(dir, name, &a);

			switch (st) {
			case ATT_OK:
				if (show_one(&a, fmt, arr))
					err = -EIO;
				attachment_close(&a);
				shown++;
				break;
			case ATT_FOREIGN:
				break; /* another namespace's, seen through a shared path */
			default:
				show_incomplete(name, dir, st, fmt, arr);
				shown++;
			}
		}
		free(names[i]);
	}
	if (n > 0)
		free(names);
	if (!shown && fmt == OUTPUT_TEXT)
		printf("nothing attached in this network namespace\n");
	return err;
}

void output_json(json_object *o, enum output_format fmt)
{
	/* bucket names and paths keep their slashes as written */
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE |
							       (fmt == OUTPUT_JSON_PRETTY
								? JSON_C_TO_STRING_PRETTY
								: JSON_C_TO_STRING_PLAIN)));
}

int status_show(const char *ifname, enum output_format fmt)
{
	json_object *root = NULL, *arr = NULL;
	struct attachment a;
	int lock, err;

	if (fmt != OUTPUT_TEXT) {
		root = json_object_new_object();
		arr = json_object_new_array();
		json_object_object_add(root, "attachments", arr);
	}
	/* Shared: a listing never sees an attach or detach half done. */
	lock = pins_lock(false);
	if (lock < 0) {
		err = lock;
	} else if (ifname) {
		err = attachment_open(ifname, &a);
		if (!err) {
			err = show_one(&a, fmt, arr);
			attachment_close(&a);
		}
	} else if (pins_bpffs_mounted()) {
		err = show_all(fmt, arr);
	} else {
		/* No bpffs means nothing can be attached: an empty answer, not an error. */
		if (fmt == OUTPUT_TEXT)
			printf("nothing attached in this network namespace (no bpffs at %s)\n",
			       RW_BPFFS);
		err = 0;
	}
	pins_unlock(lock);
	if (root) {
		if (!err)
			output_json(root, fmt);
		json_object_put(root);
	}
	return err;
}
