// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* `ratewall policy`: check a file, apply it live, show the live policy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "attachment.h"
#include "cli.h"
#include "cli_objects.h"
#include "loader.h"
#include "log.h"
#include "policy_apply.h"
#include "policy_load.h"
#include "privileges.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: ratewall [-j|-p] policy check FILE\n"
		   "       ratewall policy apply [dev IFACE] FILE\n"
		   "       ratewall [-j|-p] policy show [dev IFACE]\n"
		   "  check  validates FILE whole and prints its hash; changes nothing\n"
		   "  apply  validates FILE, then replaces the live policy at once: every\n"
		   "         packet is judged wholly by the old or wholly by the new one.\n"
		   "         A file with any error changes nothing.\n"
		   "  show   the live policy as YAML that 'policy check' accepts back, with\n"
		   "         every command-line change since the last apply\n");
}

static int policy_check(struct arg_cursor *cur)
{
	struct policy_image *img;
	char hash[65];

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	if (cur->argc != 1)
		return cli_usage_error("policy check needs exactly one FILE");
	img = policy_load(cur->argv[0]);
	if (!img)
		return CLI_FAIL;
	policy_hash_hex(img->policy.hash, hash);
	if (cli.output == OUTPUT_TEXT) {
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
		cli_print_json(o);
		json_object_put(o);
	}
	policy_image_delete(img);
	return CLI_OK;
}

static int policy_apply(struct arg_cursor *cur)
{
	static const char *const kws[] = { "dev", NULL };
	const char *ifname = NULL, *file = NULL, *value;
	struct policy_image *img;
	int rc, err;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	while (cur->argc > 0) {
		/* `dev IFACE` by keyword; the one other word is the file. */
		if (arg_match(cur->argv[0], kws) < 0) {
			if (file)
				return cli_usage_error("policy apply takes one FILE; '%s' is one "
						       "too many", cur->argv[0]);
			file = cur->argv[0];
			cur->argc--;
			cur->argv++;
			continue;
		}
		if (cli_keyword(cur, "policy apply", kws) < 0 || arg_take_value(cur, "dev", &value) ||
		    cli_parse_dev(value, &ifname))
			return CLI_USAGE;
	}
	if (!file)
		return cli_usage_error("policy apply needs a FILE");
	if (privileges_check("policy apply"))
		return CLI_FAIL;
	rc = cli_pick_dev(ifname, &ifname);
	if (rc)
		return rc;
	img = policy_load(file);
	if (!img) {
		rw_err("the live policy of %s is unchanged", ifname);
		return CLI_FAIL;
	}
	err = loader_policy_apply(ifname, img);
	policy_image_delete(img);
	return err ? CLI_FAIL : CLI_OK;
}

static int policy_show(struct arg_cursor *cur)
{
	const char *ifname = NULL;
	struct rw_policy active;
	struct attachment a;
	char hash[65];
	uint32_t slot;
	int rc, lock, err;
	char *text;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	rc = cli_parse_only_dev(cur, "policy show", &ifname);
	if (!rc && privileges_check("policy show"))
		rc = CLI_FAIL;
	if (!rc)
		rc = cli_open(ifname, &a, &lock);
	if (rc)
		return rc;
	err = policy_read_active(&a.maps, &slot, &active);
	text = err ? NULL : policy_text_read(&a.maps, slot, active.text_len);
	if (!text) {
		rw_err("cannot read the live policy of %s: %s", a.ifname,
		       strerror(err ? -err : errno));
		cli_close(&a, lock);
		return CLI_FAIL;
	}
	policy_hash_hex(active.hash, hash);
	if (cli.output == OUTPUT_TEXT) {
		printf("# live policy of %s: generation %llu, %u command-line change%s since the "
		       "last apply\n# hash %s\n%s", a.ifname, (unsigned long long)active.generation,
		       active.live_edits, active.live_edits == 1 ? "" : "s", hash, text);
	} else {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "dev", json_object_new_string(a.ifname));
		json_object_object_add(o, "hash", json_object_new_string(hash));
		json_object_object_add(o, "generation", json_object_new_uint64(active.generation));
		json_object_object_add(o, "live_edits", json_object_new_uint64(active.live_edits));
		json_object_object_add(o, "yaml", json_object_new_string(text));
		cli_print_json(o);
		json_object_put(o);
	}
	free(text);
	cli_close(&a, lock);
	return CLI_OK;
}

int cli_policy(struct arg_cursor *cur)
{
	static const char *const cmds[] = { "check", "apply", "show", NULL };
	static int (*const run[])(struct arg_cursor *) = { policy_check, policy_apply,
							   policy_show };

	return cli_dispatch(cur, "policy", cmds, run, usage);
}
