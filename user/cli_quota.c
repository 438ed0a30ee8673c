// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* `ratewall quota`: the buckets this gateway shares with its fleet. */
#include <string.h>

#include "attachment.h"
#include "cli.h"
#include "cli_objects.h"
#include "log.h"
#include "pins.h"
#include "privileges.h"
#include "quota_show.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ratewall [-j|-p] quota show [dev IFACE]\n"
		"  show   each bucket with scope: global: the fleet's rate, the rate in force\n"
		"         here (this gateway's share while its lease holds, else the safe\n"
		"         share), the gateways last counted, and the time spent degraded\n"
		"Example: ratewall -j quota show dev eth0\n");
}

static int quota_show(struct arg_cursor *cur)
{
	static const char *const kws[] = { "dev", NULL };
	const char *ifname = NULL, *value;
	struct quota_view v;
	struct attachment a;
	json_object *buckets;
	int rc, lock, err;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	while (cur->argc > 0) {
		int kw = cli_keyword(cur, "quota show", kws);

		if (kw < 0 || arg_take_value(cur, kws[kw], &value) || cli_parse_dev(value, &ifname))
			return CLI_USAGE;
	}
	if (privileges_check("quota show"))
		return CLI_FAIL;
	rc = cli_open(ifname, &a, &lock);
	if (rc)
		return rc;
	err = quota_view_read(&a.maps, &v);
	pins_unlock(lock);
	if (err) {
		rw_err("cannot read the shared buckets of %s: %s", a.ifname, strerror(-err));
		attachment_close(&a);
		return CLI_FAIL;
	}
	buckets = quota_show_json(&v);
	if (cli.output == OUTPUT_TEXT) {
		quota_show_print(stdout, a.ifname, buckets);
	} else {
		json_object *root = json_object_new_object();

		json_object_object_add(root, "dev", json_object_new_string(a.ifname));
		json_object_object_add(root, "buckets", buckets);
		cli_print_json(root);
		buckets = root;
	}
	json_object_put(buckets);
	attachment_close(&a);
	return CLI_OK;
}

int cli_quota(struct arg_cursor *cur)
{
	static const char *const cmds[] = { "show", NULL };
	static int (*const run[])(struct arg_cursor *) = { quota_show };

	return cli_dispatch(cur, "quota", cmds, run, usage);
}
