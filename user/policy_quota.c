// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Parsing the `quota:` section, and naming the policy's shared buckets.
 * Every bad value is refused at its line; defaults are resolved here so
 * that `policy show` writes what is in force.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "policy_quota.h"
#include "policy_values.h"

#define SYNC_MIN_MS 10
#define SYNC_MAX_MS 10000
#define LEASE_MAX_MS 60000

bool policy_quota_parse_url(const char *text, struct quota_server *out, char *msg, size_t len)
{
	const char *host, *colon, *end;
	char *stop;
	unsigned long port = 6379;
	size_t host_len;

	memset(out, 0, sizeof(*out));
	if (!strncmp(text, "unix://", 7)) {
		if (text[7] != '/' || strlen(text + 7) >= sizeof(out->unix_path)) {
			snprintf(msg, len, "a unix socket is written unix:///PATH, with an absolute "
					   "path under %zu bytes", sizeof(out->unix_path));
			return false;
		}
		snprintf(out->unix_path, sizeof(out->unix_path), "%s", text + 7);
		return true;
	}
	if (!strncmp(text, "rediss://", 9)) {
		snprintf(msg, len, "TLS is not available: this build's hiredis (%d.%d.%d, Debian's) has "
				   "no TLS; reach a TLS-only Redis through a local tunnel (README \"Several "
				   "gateways, one quota\")", HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
		return false;
	}
	if (strncmp(text, "redis://", 8)) {
		snprintf(msg, len, "a Redis address is written redis://HOST:PORT or unix:///PATH");
		return false;
	}
	host = text + 8;
	if (strchr(host, '@')) {
		snprintf(msg, len, "credentials do not go in the address (policy show prints it): use "
				   "username: and password_file:");
		return false;
	}
	if (*host == '[') {
		end = strchr(host, ']');
		if (!end) {
			snprintf(msg, len, "an IPv6 address is written in brackets, like redis://[2001:db8::1]:6379");
			return false;
		}
		host++;
		host_len = (size_t)(end - host);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] && !colon) {
			snprintf(msg, len, "unexpected text after the address");
			return false;
		}
	} else {
		colon = strchr(host, ':');
		host_len = colon ? (size_t)(colon - host) : strlen(host);
	}
	if (!host_len || host_len >= sizeof(out->host)) {
		snprintf(msg, len, "the address needs a host, like redis://198.18.0.1:6379");
		return false;
	}
	for (size_t i = 0; i < host_len; i++)
		if (!isalnum((unsigned char)host[i]) && !strchr(".-:_", host[i])) {
			snprintf(msg, len, "the host holds a character hosts do not have");
			return false;
		}
	if (colon) {
		errno = 0;
		port = strtoul(colon + 1, &stop, 10);
		if (!isdigit((unsigned char)colon[1]) || *stop || errno || port < 1 || port > 65535) {
			snprintf(msg, len, "the port must be a number from 1 to 65535");
			return false;
		}
	}
	memcpy(out->host, host, host_len);
	out->port = (uint16_t)port;
	return true;
}

static void parse_redis(struct parse_ctx *c, const yaml_node_t *node, struct policy_quota *q)
{
	char msg[POLICY_MSG_MAX], q_text[POLICY_MSG_MAX / 2];
	yaml_node_item_t *items = NULL, *top = NULL;
	struct quota_server server;

	if (node->type == YAML_SEQUENCE_NODE) {
		items = node->data.sequence.items.start;
		top = node->data.sequence.items.top;
		if (items == top)
			policy_error(c->e, policy_node_line(node), "quota redis must list at least one server");
		if (top - items > POLICY_QUOTA_SERVERS)
			policy_error(c->e, policy_node_line(node), "quota redis lists %d servers, at most %d",
				     (int)(top - items), POLICY_QUOTA_SERVERS);
	}
	for (size_t i = 0; items ? items + i < top && i < POLICY_QUOTA_SERVERS : i < 1; i++) {
		const yaml_node_t *item = items ? policy_node_at(c, items[i]) : node;
		const char *text = policy_node_scalar(c, item, "a Redis address");

		if (!text)
			continue;
		policy_quote(text, q_text, sizeof(q_text));
		if (strlen(text) >= POLICY_QUOTA_URL_MAX)
			policy_error(c->e, policy_node_line(item), "Redis address %s is too long", q_text);
		else if (!policy_quota_parse_url(text, &server, msg, sizeof(msg)))
			policy_error(c->e, policy_node_line(item), "Redis address %s: %s", q_text, msg);
		else
			snprintf(q->redis[q->n_redis++], POLICY_QUOTA_URL_MAX, "%s", text);
	}
}

/* A short word for keys and AUTH: printable, no spaces, no braces (the hash tag's). */
static void parse_word(struct parse_ctx *c, const yaml_node_t *node, const char *what,
		       bool may_be_empty, char *out, size_t len)
{
	const char *text = policy_node_scalar(c, node, what);
	char q[POLICY_MSG_MAX / 2];
	bool ok;

	if (!text)
		return;
	ok = strlen(text) < len && (may_be_empty || text[0]);
	for (const char *p = text; ok && *p; p++)
		ok = isgraph((unsigned char)*p) && *p != '{' && *p != '}';
	policy_quote(text, q, sizeof(q));
	if (!ok)
		policy_error(c->e, policy_node_line(node),
			     "%s %s must be 1 to %zu printable characters without spaces or braces", what,
			     q, len - 1);
	else
		snprintf(out, len, "%s", text);
}

void policy_parse_quota(struct parse_ctx *c, const yaml_node_t *node)
{
	static const char *const keys[] = { "redis", "username", "password_file", "prefix",
					    "fleet", "sync", "timeout", "lease", "safe_share", NULL };
	struct policy_quota *q = &c->p->quota;
	yaml_node_t *v[9];

	q->line = policy_node_line(node);
	if (!policy_node_mapping(c, node, "quota", keys, v))
		return;
	q->present = true;
	snprintf(q->prefix, sizeof(q->prefix), "%s", POLICY_QUOTA_PREFIX);
	snprintf(q->fleet, sizeof(q->fleet), "%s", POLICY_QUOTA_FLEET);
	q->sync_ms = POLICY_QUOTA_SYNC_MS;
	q->timeout_ms = POLICY_QUOTA_TIMEOUT_MS;
	q->safe_share = POLICY_QUOTA_SAFE_SHARE;
	if (!v[0])
		policy_error(c->e, q->line,
			     "quota needs redis: the store the fleet shares, like redis: redis://198.18.0.1:6379");
	else
		parse_redis(c, v[0], q);
	if (v[1])
		parse_word(c, v[1], "quota username", false, q->username, sizeof(q->username));
	if (v[2])
		policy_node_path(c, v[2], "quota password_file", " to a file holding the password",
				 q->password_file, sizeof(q->password_file));
	if (v[3])
		parse_word(c, v[3], "quota prefix", true, q->prefix, sizeof(q->prefix));
	if (v[4])
		parse_word(c, v[4], "quota fleet", false, q->fleet, sizeof(q->fleet));
	if (v[5])
		policy_node_duration(c, v[5], "quota sync", SYNC_MIN_MS, SYNC_MAX_MS, &q->sync_ms);
	if (v[6])
		policy_node_duration(c, v[6], "quota timeout", 1, SYNC_MAX_MS, &q->timeout_ms);
	q->lease_ms = q->sync_ms * 3 > POLICY_QUOTA_LEASE_MS ? q->sync_ms * 3 : POLICY_QUOTA_LEASE_MS;
	if (v[7])
		policy_node_duration(c, v[7], "quota lease", 1, LEASE_MAX_MS, &q->lease_ms);
	if (v[8])
		policy_node_percent(c, v[8], "quota safe_share", 0.01, 100, &q->safe_share);
	/* a sync must end before the next is due, and a lease outlive one missed sync */
	if (q->timeout_ms >= q->sync_ms)
		policy_error(c->e, v[6] ? policy_node_line(v[6]) : q->line,
			     "quota timeout %ums must be shorter than the sync interval %ums",
			     q->timeout_ms, q->sync_ms);
	if (q->lease_ms < 2 * q->sync_ms)
		policy_error(c->e, v[7] ? policy_node_line(v[7]) : q->line,
			     "quota lease %ums must be at least two sync intervals (%ums)", q->lease_ms,
			     2 * q->sync_ms);
}

/* Appends one bucket when it is shared. */
static void add_bucket(struct policy_quota_bucket *out, size_t max, size_t *n,
		       const struct policy_limit *l, int tenant, int class_id, bool syn,
		       const char *owner, const char *class_name)
{
	if (!l->count || !l->shared)
		return;
	if (*n < max) {
		struct policy_quota_bucket *b = &out[*n];

		b->limit = l;
		b->tenant = tenant;
		b->class_id = class_id;
		b->syn = syn;
		if (tenant < 0)
			snprintf(b->name, sizeof(b->name), "class/%s/%s", owner, syn ? "syn" : "packets");
		else if (class_id < 0)
			snprintf(b->name, sizeof(b->name), "tenant/%s/%s", owner, syn ? "syn" : "packets");
		else
			snprintf(b->name, sizeof(b->name), "tenant/%s/%s/%s", owner, class_name,
				 syn ? "syn" : "packets");
	}
	(*n)++;
}

size_t policy_quota_buckets(const struct policy *p, struct policy_quota_bucket *out, size_t max)
{
	size_t n = 0;

	for (size_t id = 0; id < p->n_classes; id++) {
		const struct policy_class *cl = &p->classes[id];

		add_bucket(out, max, &n, &cl->global.packets, -1, (int)id, false, cl->name, NULL);
		add_bucket(out, max, &n, &cl->global.syn, -1, (int)id, true, cl->name, NULL);
	}
	for (size_t t = 0; t < p->n_tenants; t++) {
		const struct policy_tenant *pt = &p->tenants[t];

		add_bucket(out, max, &n, &pt->all.packets, (int)t, -1, false, pt->name, NULL);
		add_bucket(out, max, &n, &pt->all.syn, (int)t, -1, true, pt->name, NULL);
		for (size_t id = 0; id < p->n_classes; id++) {
			add_bucket(out, max, &n, &pt->per_class[id].packets, (int)t, (int)id, false,
				   pt->name, p->classes[id].name);
			add_bucket(out, max, &n, &pt->per_class[id].syn, (int)t, (int)id, true,
				   pt->name, p->classes[id].name);
		}
	}
	return n;
}

void policy_check_quota(const struct policy *p, struct policy_errors *e)
{
	struct policy_quota_bucket first;
	size_t n = policy_quota_buckets(p, &first, 1);

	if (!n)
		return;
	if (!p->quota.present)
		policy_error(e, first.limit->line,
			     "%s has scope: global, but the policy has no quota: section naming "
			     "the store the gateways share it through",
			     first.name);
	if (n > RW_MAX_QUOTAS - 1)
		policy_error(e, p->quota.line ? p->quota.line : first.limit->line,
			     "%zu buckets have scope: global, at most %d can", n, RW_MAX_QUOTAS - 1);
	/* the loop scales a class's written rates; a fleet's share is not one */
	for (size_t id = 0; id < p->n_classes; id++) {
		const struct policy_class *cl = &p->classes[id];

		if (cl->adaptive.adaptive && (cl->global.packets.shared || cl->global.syn.shared))
			policy_error(e, cl->adaptive_line,
				     "class \"%s\" is adaptive and its global: bucket has scope: "
				     "global: the control loop cannot scale the fleet's share; keep the "
				     "bucket local or the class not adaptive",
				     cl->name);
	}
}
