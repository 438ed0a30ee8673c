/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The objects of `ratewall OBJECT COMMAND ...`; each returns an enum cli_status. */
#ifndef RW_CLI_OBJECTS_H
#define RW_CLI_OBJECTS_H

#include "args.h"

int cli_link(struct arg_cursor *cur);
int cli_class(struct arg_cursor *cur);
int cli_tenant(struct arg_cursor *cur);
int cli_allow(struct arg_cursor *cur);
int cli_deny(struct arg_cursor *cur);
int cli_client(struct arg_cursor *cur);
int cli_stats(struct arg_cursor *cur);
int cli_policy(struct arg_cursor *cur);
int cli_quota(struct arg_cursor *cur);
int cli_daemon(struct arg_cursor *cur);

#endif
