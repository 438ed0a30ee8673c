// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "daemon_opts.h"
#include "log.h"
#include "metrics_http.h"

void daemon_usage(FILE *f)
{
	fprintf(f,
		"Usage: ratewall daemon [dev IFACE] [policy FILE] [mode native|skb]\n"
		"                       [metrics ADDR:PORT|none] [events FILE|-|none]\n"
		"                       [instance-id ID] [detach-on-exit]\n"
		"       ratewall daemon help\n"
		"\n"
		"Runs in the foreground beside the limiter of IFACE, attaching it first\n"
		"when nothing is attached (with FILE, or the built-in policy; 'mode' as in\n"
		"link attach). With FILE and an attachment, FILE is applied.\n"
		"  metrics ADDR:PORT  Prometheus /metrics and /healthz (default %s)\n"
		"  events FILE|-      one JSON line per refusal event, appended to FILE\n"
		"                     (reopened on SIGHUP) or written to stdout (default -)\n"
		"  instance-id ID     gateway_instance_id of the events (default: host name)\n"
		"  detach-on-exit     detach the limiter when the daemon stops; without it\n"
		"                     the limiter keeps running, counters and all\n"
		"SIGTERM or SIGINT stop it; SIGHUP reopens the events file.\n",
		DAEMON_DEFAULT_METRICS);
}

enum { KW_DEV, KW_POLICY, KW_MODE, KW_METRICS, KW_EVENTS, KW_INSTANCE, KW_DETACH };

static int parse_instance(const char *value, char *out)
{
	size_t n = strlen(value);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)value[i] < 0x21 || value[i] == 0x7f)
			n = 0;
	if (!n || n >= DAEMON_INSTANCE_MAX) {
		rw_err("instance-id '%s' must be 1 to %d printable characters without spaces", value,
		       DAEMON_INSTANCE_MAX - 1);
		return -1;
	}
	strcpy(out, value);
	return 0;
}

int daemon_opts_parse(struct arg_cursor *cur, struct daemon_opts *o)
{
	static const char *const kws[] = { "dev",	  "policy",	"mode",		  "metrics",
					   "events",	  "instance-id", "detach-on-exit", NULL };
	static const char *const modes[] = { "native", "skb", NULL };
	struct sockaddr_storage addr;
	unsigned int addr_len;
	const char *value;
	char msg[200];
	int kw, m;

	memset(o, 0, sizeof(*o));
	o->metrics = DAEMON_DEFAULT_METRICS;
	o->events = "-";
	while (cur->argc > 0) {
		kw = cli_keyword(cur, "daemon", kws);
		if (kw < 0)
			return CLI_USAGE;
		if (kw == KW_DETACH) {
			o->detach_on_exit = true;
			continue;
		}
		if (arg_take_value(cur, kws[kw], &value))
			return CLI_USAGE;
		switch (kw) {
		case KW_DEV:
			if (cli_parse_dev(value, &o->ifname))
				return CLI_USAGE;
			break;
		case KW_POLICY:
			o->policy_file = value;
			break;
		case KW_MODE:
			m = cli_parse_choice("mode", value, modes);
			if (m < 0)
				return CLI_USAGE;
			o->mode = m == 1 ? RW_MODE_SKB : RW_MODE_NATIVE;
			break;
		case KW_METRICS:
			if (!strcmp(value, "none")) {
				o->metrics = NULL;
			} else if (metrics_listen_parse(value, &addr, &addr_len, msg, sizeof(msg))) {
				return cli_usage_error("%s", msg);
			} else {
				o->metrics = value;
			}
			break;
		case KW_EVENTS:
			o->events = strcmp(value, "none") ? value : NULL;
			break;
		case KW_INSTANCE:
			if (parse_instance(value, o->instance_id))
				return CLI_USAGE;
			break;
		}
	}
	o->ifname = o->ifname ? o->ifname : cli.dev;
	if (!o->ifname)
		return cli_usage_error("daemon needs 'dev IFACE' (or -d IFACE)");
	if (!o->instance_id[0] && gethostname(o->instance_id, sizeof(o->instance_id) - 1)) {
		rw_err("cannot read the host name for instance-id: give 'instance-id ID'");
		return CLI_FAIL;
	}
	return CLI_OK;
}
