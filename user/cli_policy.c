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
	const char *ifname = NULL, *file;
	struct policy_image *img;
	int rc, err;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	rc = cli_parse_dev_and_word(cur, "policy apply", "FILE", &ifname, &file);
	if (rc)
		return rc;
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
	return cli_changed(err);
}

/* {dev, hash, generation, live_edits, yaml}: the text of the slot in force. */
static json_object *live_policy_json(const struct attachment *a, const void *ctx)
{
	struct rw_policy active;
	json_object *o;
	char hash[65];
	uint32_t slot;
	char *text;
	int err;

	(void)ctx;
	err = policy_read_active(&a->maps, &slot, &active);
	text = err ? NULL : policy_text_read(&a->maps, slot, active.text_len);
	if (!text) {
		rw_err("cannot read the live policy of %s: %s", a->ifname,
		       strerror(err ? -err : errno));
		return NULL;
	}
	policy_hash_hex(active.hash, hash);
	o = json_object_new_object();
	json_object_object_add(o, "dev", json_object_new_string(a->ifname));
	json_object_object_add(o, "hash", json_object_new_string(hash));
	json_object_object_add(o, "generation", json_object_new_uint64(active.generation));
	json_object_object_add(o, "live_edits", json_object_new_uint64(active.live_edits));
	json_object_object_add(o, "yaml", json_object_new_string(text));
	free(text);
	return o;
}

static void live_policy_text(json_object *o)
{
	uint64_t edits = json_object_get_uint64(json_object_object_get(o, "live_edits"));

	printf("# live policy of %s: generation %llu, %llu command-line change%s since the "
	       "last apply\n# hash %s\n%s",
	       json_object_get_string(json_object_object_get(o, "dev")),
	       (unsigned long long)json_object_get_uint64(json_object_object_get(o, "generation")),
	       (unsigned long long)edits, edits == 1 ? "" : "s",
	       json_object_get_string(json_object_object_get(o, "hash")),
	       json_object_get_string(json_object_object_get(o, "yaml")));
}

static int policy_show(struct arg_cursor *cur)
{
	const char *ifname = NULL;
	int rc;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	rc = cli_parse_only_dev(cur, "policy show", &ifname);
	if (rc)
		return rc;
	return cli_show("policy show", ifname, live_policy_json, live_policy_text, NULL);
}

int cli_policy(struct arg_cursor *cur)
{
	static const char *const cmds[] = { "check", "apply", "show", NULL };
	static int (*const run[])(struct arg_cursor *) = { policy_check, policy_apply,
							   policy_show };

	return cli_dispatch(cur, "policy", cmds, run, usage);
}
