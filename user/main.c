// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * ratewall command line: `ratewall [OPTIONS] OBJECT { COMMAND | help }`,
 * objects and keywords matched by unique prefix as bpftool does. Exit
 * codes: 0 done, 1 runtime error, 2 usage error (see cli.h).
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "cli.h"
#include "cli_objects.h"
#include "version.h"
#include "log.h"


static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ratewall [OPTIONS] OBJECT { COMMAND | help }\n"
		"       ratewall help | version\n"
		"Objects and their commands:\n"
		"  link    attach | detach | show | set     the limiter on an interface\n"
		"  class   show | set                       route classes and their limits\n"
		"  tenant  show | add | del                 tenants by source prefix\n"
		"  allow   show | add | del                 sources never limited\n"
		"  deny    show | add | del                 sources always refused\n"
		"  client  show | explain | top             one source's state; heaviest sources\n"
		"  stats   show | watch                     verdict counters and rates\n"
		"  policy  check | apply | show             the policy file and the live policy\n"
		"  quota   show [dev IFACE]                 buckets shared with other gateways\n"
		"  daemon  [dev IFACE] [KEYWORD VALUE]...   metrics endpoint and refusal events\n"
		"Options:\n"
		"  -j, --json        JSON output (stable fields, see the man page)\n"
		"  -p, --pretty      pretty-printed JSON output\n"
		"  -d, --dev IFACE   the interface, when more than one is attached\n"
		"  -h, --help        this text\n"
		"  -V, --version     the version\n"
		"Objects, commands and keywords may be shortened to any unique prefix;\n"
		"'ratewall OBJECT help' describes one object. Exit codes: 0 done,\n"
		"1 runtime error, 2 usage error; on an error nothing was changed.\n");
}

/* Global options may appear anywhere before the words they apply to; they are pulled out. */
static int strip_options(int *argc, char **argv)
{
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-j") == 0 || strcmp(a, "--json") == 0) {
			if (cli.output == OUTPUT_TEXT)
				cli.output = OUTPUT_JSON;
		} else if (strcmp(a, "-p") == 0 || strcmp(a, "--pretty") == 0) {
			cli.output = OUTPUT_JSON_PRETTY;
		} else if (strcmp(a, "-d") == 0 || strcmp(a, "--dev") == 0) {
			if (i + 1 >= *argc)
				return cli_usage_error("'%s' needs an interface name", a);
			if (cli_parse_dev(argv[++i], &cli.dev))
				return CLI_USAGE;
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			argv[out++] = "version";
		} else if (arg_is_option(a) && strcmp(a, "-h") && strcmp(a, "--help")) {
			return cli_usage_error("unknown option '%s' (see 'ratewall help')", a);
		} else {
			argv[out++] = argv[i];
		}
	}
	*argc = out;
	return CLI_OK;
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's warnings repeat what our own error line says; keep its debug off. */
	if (level == LIBBPF_WARN && getenv("RATEWALL_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

static int cmd_help(struct arg_cursor *cur)
{
	(void)cur;
	usage(stdout);
	return CLI_OK;
}

static int cmd_version(struct arg_cursor *cur)
{
	(void)cur;
	printf("ratewall %s\n", RW_VERSION);
	return CLI_OK;
}

int main(int argc, char **argv)
{
	static const char *const objects[] = { "link",	 "class",  "tenant", "allow",
					       "deny",	 "client", "stats",  "policy",
					       "quota",  "daemon", "help",   "version", NULL };
	static int (*const run[])(struct arg_cursor *) = { cli_link,   cli_class, cli_tenant,
							   cli_allow,  cli_deny,  cli_client,
							   cli_stats,  cli_policy, cli_quota, cli_daemon,
							   cmd_help,   cmd_version };
	struct arg_cursor cur;
	int rc;

	libbpf_set_print(silent_print);
	/* Rates like 5/m are 0.0833333/s, not 0.083333299999999999. */
	json_c_set_serialization_double_format("%.10g", JSON_C_OPTION_GLOBAL);
	rc = strip_options(&argc, argv);
	if (rc)
		return rc;
	rw_notes_to_stderr = cli.output != OUTPUT_TEXT;
	cur.argc = argc - 1;
	cur.argv = argv + 1;
	return cli_dispatch(&cur, "ratewall", objects, run, usage);
}
