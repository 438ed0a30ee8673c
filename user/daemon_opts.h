/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The command line of `ratewall daemon`, parsed and checked before anything runs. */
#ifndef RW_DAEMON_OPTS_H
#define RW_DAEMON_OPTS_H

#include <stdbool.h>
#include "args.h"
#include "ratewall.h"

#define DAEMON_DEFAULT_METRICS "127.0.0.1:9464"
#define DAEMON_INSTANCE_MAX 256

struct daemon_opts {
	const char *ifname;
	const char *policy_file;     /* NULL: keep the live policy (or the built-in one) */
	enum rw_attach_mode mode;    /* when the daemon attaches */
	const char *metrics;         /* ADDR:PORT, NULL: none */
	const char *events;          /* a file, "-" for stdout, NULL: none */
	char instance_id[DAEMON_INSTANCE_MAX]; /* gateway_instance_id: given, or the host name */
	bool detach_on_exit;
};

/* An enum cli_status; CLI_USAGE after one line naming the bad word.
 * Asking for help is the caller's to check first (cli_wants_help). */
int daemon_opts_parse(struct arg_cursor *cur, struct daemon_opts *o);

/* The help text. */
void daemon_usage(FILE *f);

#endif
