// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Reads a policy file with libyaml's document API and checks it against
 * the schema (README "Policy file"). The walk goes on after an error so
 * that one run reports everything wrong, up to POLICY_MAX_ERRORS.
 *
 * Anchors and aliases are refused: an alias makes one node appear in two
 * places (or inside itself), which the walk would follow forever or twice,
 * and a policy is short enough to write out.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "limits.h"
#include "policy.h"
#include "policy_checks.h"
#include "policy_control.h"
#include "policy_quota.h"
#include "policy_errors.h"
#include "policy_values.h"

int policy_node_line(const yaml_node_t *node)
{
	return (int)node->start_mark.line + 1;
}

yaml_node_t *policy_node_at(struct parse_ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

/* How a node looks, for "must be X, not Y" messages. */
static void describe(const yaml_node_t *node, char *buf, size_t len)
{
	if (node->type == YAML_MAPPING_NODE)
		snprintf(buf, len, "a mapping");
	else if (node->type == YAML_SEQUENCE_NODE)
		snprintf(buf, len, "a sequence");
	else if (!node->data.scalar.length && node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		snprintf(buf, len, "an empty value");
	else
		policy_quote((const char *)node->data.scalar.value, buf, len);
}

bool policy_node_expect(struct parse_ctx *c, const yaml_node_t *node, yaml_node_type_t type,
			const char *what)
{
	static const char *const kind[] = {
		[YAML_SCALAR_NODE] = "a single value",
		[YAML_SEQUENCE_NODE] = "a sequence",
		[YAML_MAPPING_NODE] = "a mapping",
	};
	char seen[POLICY_MSG_MAX / 2];

	if (node->type == type)
		return true;
	describe(node, seen, sizeof(seen));
	policy_error(c->e, policy_node_line(node), "%s must be %s, not %s", what, kind[type], seen);
	return false;
}

/* The text of a scalar, or NULL (reported) when it is not one or hides a NUL. */
const char *policy_node_scalar(struct parse_ctx *c, const yaml_node_t *node, const char *what)
{
	if (!policy_node_expect(c, node, YAML_SCALAR_NODE, what))
		return NULL;
	if (strlen((const char *)node->data.scalar.value) != node->data.scalar.length) {
		policy_error(c->e, policy_node_line(node), "%s holds a NUL byte", what);
		return NULL;
	}
	return (const char *)node->data.scalar.value;
}

/*
 * Checks the keys of a mapping against `keys` (NULL-terminated) and sets
 * values[i] to the value of keys[i], or NULL when absent. Returns false
 * when node is not a mapping.
 */
bool policy_node_mapping(struct parse_ctx *c, const yaml_node_t *node, const char *what,
			 const char *const keys[], yaml_node_t *values[])
{
	int key_lines[16] = { 0 };
	size_t n_keys = 0;

	while (keys[n_keys])
		values[n_keys++] = NULL;
	if (!policy_node_expect(c, node, YAML_MAPPING_NODE, what))
		return false;
	for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top && !policy_errors_stopped(c->e); pair++) {
		yaml_node_t *key = policy_node_at(c, pair->key);
		const char *text = policy_node_scalar(c, key, "a key");
		char q[POLICY_MSG_MAX / 2], valid[POLICY_MSG_MAX / 2] = "";
		size_t i, used = 0;

		if (!text)
			continue;
		for (i = 0; i < n_keys && strcmp(keys[i], text); i++)
			;
		policy_quote(text, q, sizeof(q));
		if (i < n_keys && values[i]) {
			policy_error(c->e, policy_node_line(key), "duplicate key %s (first at line %d)", q,
				     key_lines[i]);
		} else if (i < n_keys) {
			values[i] = policy_node_at(c, pair->value);
			key_lines[i] = policy_node_line(key);
		} else {
			for (size_t k = 0; k < n_keys; k++)
				used += (size_t)snprintf(valid + used, sizeof(valid) - used, "%s%s",
							 k ? ", " : "", keys[k]);
			policy_error(c->e, policy_node_line(key), "unknown key %s in %s; valid keys: %s", q,
				     what, valid);
		}
	}
	return true;
}

bool policy_node_path(struct parse_ctx *c, const yaml_node_t *node, const char *what,
		      const char *hint, char *out, size_t len)
{
	const char *text = policy_node_scalar(c, node, what);
	char q[POLICY_MSG_MAX / 2];

	if (!text)
		return false;
	policy_quote(text, q, sizeof(q));
	if (text[0] != '/')
		policy_error(c->e, policy_node_line(node), "%s %s must be an absolute path%s", what, q,
			     hint);
	else if (strlen(text) >= len)
		policy_error(c->e, policy_node_line(node), "%s path %s is too long", what, q);
	else
		snprintf(out, len, "%s", text);
	return true;
}

/* `scope: local|global`; only buckets that all sources share may be global. */
static bool parse_limit_scope(struct parse_ctx *c, const yaml_node_t *node, bool shareable)
{
	const char *text = policy_node_scalar(c, node, "scope");
	char q[POLICY_MSG_MAX / 2];

	if (!text || !strcmp(text, "local"))
		return false;
	policy_quote(text, q, sizeof(q));
	if (strcmp(text, "global"))
		policy_error(c->e, policy_node_line(node), "scope %s must be local or global", q);
	else if (!shareable)
		policy_error(c->e, policy_node_line(node),
			     "scope: global is for buckets every source shares (a class's global: "
			     "buckets, a tenant's); per-source buckets stay on each gateway");
	else
		return true;
	return false;
}

static void parse_limit(struct parse_ctx *c, const yaml_node_t *node, const char *what,
			bool shareable, struct policy_limit *out)
{
	static const char *const keys[] = { "rate", "burst", "scope", NULL };
	yaml_node_t *v[3];
	char msg[POLICY_MSG_MAX];
	struct policy_limit limit = { .line = policy_node_line(node) };
	const char *text;
	bool ok = true;

	if (!policy_node_mapping(c, node, what, keys, v))
		return;
	if (!v[0]) {
		policy_error(c->e, policy_node_line(node), "%s needs a rate, like { rate: 200/s }", what);
		ok = false;
	} else if (!(text = policy_node_scalar(c, v[0], "rate"))) {
		ok = false;
	} else if (!policy_parse_rate(text, &limit.count, &limit.period_ns, msg, sizeof(msg))) {
		policy_error(c->e, policy_node_line(v[0]), "%s", msg);
		ok = false;
	}
	if (v[1] && (text = policy_node_scalar(c, v[1], "burst")) &&
	    !policy_parse_burst(text, &limit.burst, msg, sizeof(msg)))
		policy_error(c->e, policy_node_line(v[1]), "%s", msg);
	if (!ok || (v[1] && !limit.burst))
		return;
	if (v[2])
		limit.shared = parse_limit_scope(c, v[2], shareable);
	if (!limit.burst)
		limit.burst = policy_default_burst(limit.count, limit.period_ns);
	if (gcra_interval_ticks_per(limit.count, limit.period_ns) > RW_WINDOW_MAX / limit.burst) {
		policy_error(c->e, limit.line,
			     "burst %llu at rate %s takes more than 208 days to refill; lower the "
			     "burst or raise the rate",
			     (unsigned long long)limit.burst, (char *)v[0]->data.scalar.value);
		return;
	}
	*out = limit;
}

/* The optional `packets` and `syn` buckets of one scope, already looked up by the caller. */
static void parse_buckets(struct parse_ctx *c, const yaml_node_t *packets, const yaml_node_t *syn,
			  bool shareable, struct policy_buckets *out)
{
	if (packets)
		parse_limit(c, packets, "the packets bucket", shareable, &out->packets);
	if (syn)
		parse_limit(c, syn, "the syn bucket", shareable, &out->syn);
}

/* A whole-number setting; 0 in *out when it does not parse. */
static void parse_count(struct parse_ctx *c, const yaml_node_t *node, const char *what,
			uint64_t min, uint64_t max, uint64_t *out)
{
	char msg[POLICY_MSG_MAX];
	const char *text = policy_node_scalar(c, node, what);

	*out = 0;
	if (text && !policy_parse_count(what, text, min, max, out, msg, sizeof(msg)))
		policy_error(c->e, policy_node_line(node), "%s", msg);
}

/* A class's `source:` or `global:` scope: its buckets and its connection cap. */
static void parse_scope(struct parse_ctx *c, const yaml_node_t *node, const char *what,
			struct policy_buckets *out)
{
	static const char *const keys[] = { "packets", "syn", "connections", NULL };
	yaml_node_t *v[3];
	uint64_t cap;

	if (!policy_node_mapping(c, node, what, keys, v))
		return;
	parse_buckets(c, v[0], v[1], !strcmp(what, "global"), out);
	if (v[2]) {
		parse_count(c, v[2], "connections", 1, RW_CONN_CAP_MAX, &cap);
		out->connections = (uint32_t)cap;
		out->connections_line = policy_node_line(v[2]);
	}
}

/* `connections: { table: N, cgroup: PATH }`: where and how much sockops counts. */
static void parse_connections(struct parse_ctx *c, const yaml_node_t *node)
{
	static const char *const keys[] = { "table", "cgroup", NULL };
	struct policy *p = c->p;
	yaml_node_t *v[2];
	uint64_t n;

	if (!policy_node_mapping(c, node, "connections", keys, v))
		return;
	if (v[0]) {
		parse_count(c, v[0], "connection table size", RW_CONN_ENTRIES_MIN,
			    RW_CONN_ENTRIES_MAX, &n);
		p->conn_table = (uint32_t)n;
		p->conn_table_line = policy_node_line(v[0]);
	}
	if (v[1] && policy_node_path(c, v[1], "cgroup", " to a cgroup v2 directory", p->cgroup,
				     sizeof(p->cgroup)))
		p->cgroup_line = policy_node_line(v[1]);
}

/* `events: { interval: 1s, client_id: address|hashed, client_key: PATH }` */
static void parse_events(struct parse_ctx *c, const yaml_node_t *node)
{
	static const char *const keys[] = { "interval", "client_id", "client_key", NULL };
	struct policy *p = c->p;
	yaml_node_t *v[3];
	char msg[POLICY_MSG_MAX], q[POLICY_MSG_MAX / 2];
	const char *text;

	if (!policy_node_mapping(c, node, "events", keys, v))
		return;
	if (v[0] && (text = policy_node_scalar(c, v[0], "interval"))) {
		if (!strcmp(text, "off"))
			p->events_off = true;
		else if (!policy_parse_interval(text, &p->event_interval_ms, msg, sizeof(msg)))
			policy_error(c->e, policy_node_line(v[0]), "%s", msg);
	}
	if (v[1] && (text = policy_node_scalar(c, v[1], "client_id"))) {
		if (!strcmp(text, "hashed")) {
			p->client_id = POLICY_CLIENT_HASHED;
		} else if (strcmp(text, "address")) {
			policy_quote(text, q, sizeof(q));
			policy_error(c->e, policy_node_line(v[1]), "client_id %s must be address or hashed", q);
		}
	}
	if (v[2])
		policy_node_path(c, v[2], "client_key", "", p->client_key, sizeof(p->client_key));
	/* a hashed id without a key would be a plain hash anyone can reverse */
	if (p->client_id == POLICY_CLIENT_HASHED && !v[2])
		policy_error(c->e, policy_node_line(v[1]),
			     "client_id hashed needs client_key: the file of the hash's secret key");
	else if (p->client_id != POLICY_CLIENT_HASHED && v[2])
		policy_error(c->e, policy_node_line(v[2]), "client_key is only used with client_id: hashed");
}

static void parse_mode(struct parse_ctx *c, const yaml_node_t *node, enum rw_class_mode *mode)
{
	const char *text = policy_node_scalar(c, node, "mode");
	char msg[POLICY_MSG_MAX];

	if (text && !policy_parse_mode(text, mode, msg, sizeof(msg)))
		policy_error(c->e, policy_node_line(node), "%s", msg);
}

static void parse_ports(struct parse_ctx *c, const yaml_node_t *node, int class_id)
{
	struct policy_class *cl = &c->p->classes[class_id];
	char msg[POLICY_MSG_MAX];
	size_t n;

	if (!policy_node_expect(c, node, YAML_SEQUENCE_NODE, "ports"))
		return;
	n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	if (n == 0) {
		policy_error(c->e, policy_node_line(node),
			     "ports must list at least one port, like [tcp/443]");
		return;
	}
	cl->ports = calloc(n, sizeof(*cl->ports));
	if (!cl->ports) {
		c->e->out_of_memory = true;
		return;
	}
	for (size_t i = 0; i < n && !policy_errors_stopped(c->e); i++) {
		yaml_node_t *item = policy_node_at(c, node->data.sequence.items.start[i]);
		struct policy_ports *ports = &cl->ports[cl->n_ports];
		const char *text = policy_node_scalar(c, item, "a port");

		if (!text)
			continue;
		if (!policy_parse_ports(text, ports, msg, sizeof(msg))) {
			policy_error(c->e, policy_node_line(item), "%s", msg);
			continue;
		}
		ports->line = policy_node_line(item);
		cl->n_ports++;
	}
}

static void parse_class(struct parse_ctx *c, const yaml_node_t *node, int class_id)
{
	static const char *const keys[] = { "name", "ports", "mode", "source", "global", "adaptive", NULL };
	struct policy_class *cl = &c->p->classes[class_id];
	yaml_node_t *v[6];
	char msg[POLICY_MSG_MAX], label[64];
	const char *name;

	cl->line = policy_node_line(node);
	if (!policy_node_mapping(c, node, "a class", keys, v))
		return;
	if (!v[0]) {
		policy_error(c->e, cl->line, "a class needs a name");
	} else if ((name = policy_node_scalar(c, v[0], "name"))) {
		/* keep even a bad name that fits: references to it then add no errors */
		if (strlen(name) < RW_NAME_MAX)
			strcpy(cl->name, name);
		if (!policy_parse_name("class", name, msg, sizeof(msg))) {
			policy_error(c->e, policy_node_line(v[0]), "%s", msg);
		} else if (!strcmp(name, "default")) {
			policy_error(c->e, policy_node_line(v[0]),
				     "class name \"default\" is taken by the default class; set it under the top-level default: key");
		} else {
			for (int id = 1; id < class_id; id++)
				if (!strcmp(c->p->classes[id].name, name))
					policy_error(c->e, policy_node_line(v[0]),
						     "class name \"%s\" is used twice (first at line %d)", name,
						     c->p->classes[id].line);
		}
	}
	policy_class_label(cl, label, sizeof(label));
	if (!v[1])
		policy_error(c->e, cl->line, "%s needs ports, like ports: [tcp/443]", label);
	else
		parse_ports(c, v[1], class_id);
	if (v[2])
		parse_mode(c, v[2], &cl->mode);
	if (v[3])
		parse_scope(c, v[3], "source", &cl->source);
	if (v[4])
		parse_scope(c, v[4], "global", &cl->global);
	if (v[5])
		policy_parse_adaptive(c, v[5], class_id);
}

static void parse_default(struct parse_ctx *c, const yaml_node_t *node)
{
	static const char *const keys[] = { "mode", "source", "global", NULL };
	struct policy_class *cl = &c->p->classes[0];
	yaml_node_t *v[3];

	cl->line = policy_node_line(node);
	if (!policy_node_mapping(c, node, "default", keys, v))
		return;
	if (v[0])
		parse_mode(c, v[0], &cl->mode);
	if (v[1])
		parse_scope(c, v[1], "source", &cl->source);
	if (v[2])
		parse_scope(c, v[2], "global", &cl->global);
}

static void parse_classes(struct parse_ctx *c, const yaml_node_t *node)
{
	if (!policy_node_expect(c, node, YAML_SEQUENCE_NODE, "classes"))
		return;
	for (yaml_node_item_t *item = node->data.sequence.items.start;
	     item < node->data.sequence.items.top && !policy_errors_stopped(c->e); item++) {
		yaml_node_t *class_node = policy_node_at(c, *item);

		if (c->p->n_classes == RW_MAX_CLASSES) {
			policy_error(c->e, policy_node_line(class_node),
				     "too many classes: at most %d besides the default class",
				     RW_MAX_CLASSES - 1);
			return;
		}
		parse_class(c, class_node, (int)c->p->n_classes++);
	}
}

/* Parses a sequence of CIDRs into a fresh array; `what` names the list. */
static void parse_cidrs(struct parse_ctx *c, const yaml_node_t *node, const char *what,
			struct policy_cidr **out, size_t *n_out)
{
	char msg[POLICY_MSG_MAX];
	size_t n;

	if (!policy_node_expect(c, node, YAML_SEQUENCE_NODE, what))
		return;
	n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out) {
		c->e->out_of_memory = true;
		return;
	}
	for (size_t i = 0; i < n && !policy_errors_stopped(c->e); i++) {
		yaml_node_t *item = policy_node_at(c, node->data.sequence.items.start[i]);
		struct policy_cidr *cidr = &(*out)[*n_out];
		const char *text = policy_node_scalar(c, item, "a CIDR");

		if (!text)
			continue;
		if (!policy_parse_cidr(text, cidr, msg, sizeof(msg))) {
			policy_error(c->e, policy_node_line(item), "%s", msg);
			continue;
		}
		cidr->line = policy_node_line(item);
		(*n_out)++;
	}
}

static void parse_tenant_classes(struct parse_ctx *c, const yaml_node_t *node,
				 struct policy_tenant *t)
{
	static const char *const keys[] = { "packets", "syn", NULL };
	int first_line[RW_MAX_CLASSES] = { 0 };
	char label[64];

	if (!policy_node_expect(c, node, YAML_MAPPING_NODE, "classes of a tenant"))
		return;
	for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top && !policy_errors_stopped(c->e); pair++) {
		yaml_node_t *key = policy_node_at(c, pair->key), *v[2];
		const char *name = policy_node_scalar(c, key, "a class name");
		char q[POLICY_MSG_MAX / 2];
		int id;

		if (!name)
			continue;
		id = policy_class_id(c->p, name);
		policy_quote(name, q, sizeof(q));
		if (id < 0) {
			policy_tenant_label(t, label, sizeof(label));
			policy_error(c->e, policy_node_line(key), "%s names class %s, which does not exist",
				     label, q);
		} else if (first_line[id]) {
			policy_error(c->e, policy_node_line(key), "duplicate key %s (first at line %d)", q,
				     first_line[id]);
		} else {
			first_line[id] = policy_node_line(key);
			if (policy_node_mapping(c, policy_node_at(c, pair->value), "a tenant's class", keys, v))
				parse_buckets(c, v[0], v[1], true, &t->per_class[id]);
		}
	}
}

static void parse_tenant(struct parse_ctx *c, const yaml_node_t *node, size_t index)
{
	static const char *const keys[] = { "name",    "cidrs",        "packets", "syn",
					    "classes", "mesh_node_id", NULL };
	struct policy_tenant *t = &c->p->tenants[index];
	yaml_node_t *v[6];
	char msg[POLICY_MSG_MAX], label[64];
	const char *name;

	t->line = policy_node_line(node);
	if (!policy_node_mapping(c, node, "a tenant", keys, v))
		return;
	if (!v[0]) {
		policy_error(c->e, t->line, "a tenant needs a name");
	} else if ((name = policy_node_scalar(c, v[0], "name"))) {
		if (strlen(name) < RW_NAME_MAX)
			strcpy(t->name, name);
		if (!policy_parse_name("tenant", name, msg, sizeof(msg)))
			policy_error(c->e, policy_node_line(v[0]), "%s", msg);
		else
			for (size_t i = 0; i < index; i++)
				if (!strcmp(c->p->tenants[i].name, name))
					policy_error(c->e, policy_node_line(v[0]),
						     "tenant name \"%s\" is used twice (first at line %d)", name,
						     c->p->tenants[i].line);
	}
	policy_tenant_label(t, label, sizeof(label));
	if (!v[1]) {
		policy_error(c->e, t->line, "%s needs cidrs, like cidrs: [198.18.10.0/24]", label);
	} else {
		parse_cidrs(c, v[1], "cidrs", &t->cidrs, &t->n_cidrs);
		if (v[1]->type == YAML_SEQUENCE_NODE &&
		    v[1]->data.sequence.items.top == v[1]->data.sequence.items.start)
			policy_error(c->e, policy_node_line(v[1]), "cidrs must list at least one CIDR");
	}
	parse_buckets(c, v[2], v[3], true, &t->all);
	if (v[4])
		parse_tenant_classes(c, v[4], t);
	if (v[5] && (name = policy_node_scalar(c, v[5], "mesh_node_id"))) {
		if (policy_parse_mesh_id(name, msg, sizeof(msg)))
			strcpy(t->mesh_node_id, name);
		else
			policy_error(c->e, policy_node_line(v[5]), "%s", msg);
	}
}

static void parse_tenants(struct parse_ctx *c, const yaml_node_t *node)
{
	yaml_node_item_t *items;
	size_t n;

	if (!policy_node_expect(c, node, YAML_SEQUENCE_NODE, "tenants"))
		return;
	items = node->data.sequence.items.start;
	n = (size_t)(node->data.sequence.items.top - items);
	if (n > RW_MAX_TENANTS - 1) {
		/* ids are 1..RW_MAX_TENANTS-1: the first tenant over is number RW_MAX_TENANTS */
		policy_error(c->e, policy_node_line(policy_node_at(c, items[RW_MAX_TENANTS - 1])),
			     "too many tenants: at most %d", RW_MAX_TENANTS - 1);
		n = RW_MAX_TENANTS - 1;
	}
	c->p->tenants = calloc(n ? n : 1, sizeof(*c->p->tenants));
	if (!c->p->tenants) {
		c->e->out_of_memory = true;
		return;
	}
	c->p->n_tenants = n;
	for (size_t i = 0; i < n && !policy_errors_stopped(c->e); i++)
		parse_tenant(c, policy_node_at(c, items[i]), i);
}

static void parse_version(struct parse_ctx *c, const yaml_node_t *node)
{
	const char *text = policy_node_scalar(c, node, "version");
	char q[POLICY_MSG_MAX / 2];

	if (text && strcmp(text, "1")) {
		policy_quote(text, q, sizeof(q));
		policy_error(c->e, policy_node_line(node),
			     "version %s is not supported; the only version is 1", q);
	}
}

/* Top-level sections in a fixed order: tenants refer to classes whatever the file's order. */
static void parse_policy(struct parse_ctx *c, const yaml_node_t *root)
{
	static const char *const keys[] = { "version", "default", "classes", "tenants",
					    "allow",   "deny",    "connections", "events", "control",
					    "quota",   NULL };
	struct policy *p = c->p;
	yaml_node_t *v[10];
	char seen[POLICY_MSG_MAX / 2];

	if (root->type != YAML_MAPPING_NODE) {
		describe(root, seen, sizeof(seen));
		policy_error(c->e, 1,
			     "a policy must be a mapping with keys like classes: and tenants:, not %s",
			     seen);
		return;
	}
	policy_node_mapping(c, root, "the policy", keys, v);
	strcpy(p->classes[0].name, "default");
	p->n_classes = 1;
	if (v[0])
		parse_version(c, v[0]);
	if (v[1])
		parse_default(c, v[1]);
	if (v[2])
		parse_classes(c, v[2]);
	if (v[3])
		parse_tenants(c, v[3]);
	if (v[4])
		parse_cidrs(c, v[4], "allow", &p->allow, &p->n_allow);
	if (v[5])
		parse_cidrs(c, v[5], "deny", &p->deny, &p->n_deny);
	if (v[6])
		parse_connections(c, v[6]);
	if (v[7])
		parse_events(c, v[7]);
	if (v[8])
		policy_parse_control(c, v[8]);
	if (v[9])
		policy_parse_quota(c, v[9]);
	/* bad entries were not stored, so these see only what parsed */
	if (!policy_errors_stopped(c->e)) {
		policy_check_ports(p, c->e);
		policy_check_cidrs(p, c->e);
		policy_check_control(p, c->e);
		policy_check_quota(p, c->e);
	}
}

/* libyaml's own words for what it could not read, at the line it points to. */
static void report_yaml_error(struct parse_ctx *c, const yaml_parser_t *parser, const char *text,
			      size_t len)
{
	int line = (int)parser->problem_mark.line + 1;

	if (parser->error == YAML_MEMORY_ERROR) {
		c->e->out_of_memory = true;
		return;
	}
	if (parser->error == YAML_READER_ERROR) {
		/* the reader gives a byte offset, not a mark */
		line = 1;
		for (size_t i = 0; i < parser->problem_offset && i < len; i++)
			line += text[i] == '\n';
		policy_error(c->e, line, "YAML cannot read the text: %s", parser->problem);
		return;
	}
	if (parser->context)
		policy_error(c->e, line, "YAML syntax error: %s %s (from line %d)", parser->problem,
			     parser->context, (int)parser->context_mark.line + 1);
	else
		policy_error(c->e, line, "YAML syntax error: %s", parser->problem);
}

static void check_single_document(struct parse_ctx *c, yaml_parser_t *parser, const char *text,
				  size_t len)
{
	yaml_document_t extra;

	if (!yaml_parser_load(parser, &extra)) {
		report_yaml_error(c, parser, text, len);
		return;
	}
	if (yaml_document_get_root_node(&extra))
		policy_error(c->e, (int)extra.start_mark.line + 1,
			     "a second YAML document starts here; a policy is one document");
	yaml_document_delete(&extra);
}

/* An alias shows up as a node with two parents (or the root with one); see the top of the file. */
static bool check_no_aliases(struct parse_ctx *c)
{
	yaml_document_t *doc = c->doc;
	size_t n = (size_t)(doc->nodes.top - doc->nodes.start);
	uint8_t *parents = calloc(n + 1, 1);
	bool ok = true;

	if (!parents) {
		c->e->out_of_memory = true;
		return false;
	}
	for (yaml_node_t *node = doc->nodes.start; node < doc->nodes.top; node++) {
		if (node->type == YAML_SEQUENCE_NODE) {
			for (yaml_node_item_t *i = node->data.sequence.items.start;
			     i < node->data.sequence.items.top; i++)
				parents[*i] += parents[*i] < 2;
		} else if (node->type == YAML_MAPPING_NODE) {
			for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
			     pair < node->data.mapping.pairs.top; pair++) {
				parents[pair->key] += parents[pair->key] < 2;
				parents[pair->value] += parents[pair->value] < 2;
			}
		}
	}
	/* node 1 is the root */
	for (size_t id = 1; id <= n; id++) {
		if (parents[id] > (id == 1 ? 0 : 1)) {
			policy_error(c->e, policy_node_line(policy_node_at(c, (int)id)),
				     "this value is used again through an alias; anchors and aliases are not supported, write it out");
			ok = false;
		}
	}
	free(parents);
	return ok;
}

int policy_parse_string(const char *name, const char *text, size_t len, struct policy *out,
			char *err, size_t errlen)
{
	struct policy p = { 0 };
	struct policy_errors errors = { .name = name };
	struct parse_ctx c = { .p = &p, .e = &errors };
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	if (!text)
		text = "";
	if (!yaml_parser_initialize(&parser)) {
		errors.out_of_memory = true;
	} else {
		yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
		if (!yaml_parser_load(&parser, &doc)) {
			report_yaml_error(&c, &parser, text, len);
		} else {
			c.doc = &doc;
			root = yaml_document_get_root_node(&doc);
			if (!root) {
				policy_error(&errors, 1,
					     "the policy is empty; it must be a mapping with keys like classes: and tenants:");
			} else {
				check_single_document(&c, &parser, text, len);
				if (check_no_aliases(&c))
					parse_policy(&c, root);
			}
			yaml_document_delete(&doc);
		}
		yaml_parser_delete(&parser);
	}
	if (policy_errors_any(&errors)) {
		rc = errors.out_of_memory ? -ENOMEM : -EINVAL;
		policy_errors_write(&errors, err, errlen);
		policy_free(&p);
	} else {
		*out = p;
	}
	policy_errors_free(&errors);
	return rc;
}

int policy_parse_file(const char *path, struct policy *out, char *err, size_t errlen)
{
	size_t len = 0, cap = 0, got;
	char *text = NULL, *grown;
	FILE *f;
	int rc;

	memset(out, 0, sizeof(*out));
	f = fopen(path, "re");
	if (!f)
		goto unreadable;
	errno = 0;
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			grown = realloc(text, cap);
			if (!grown) {
				errno = ENOMEM;
				goto unreadable;
			}
			text = grown;
		}
		got = fread(text + len, 1, cap - len, f);
		len += got;
	} while (got > 0);
	if (ferror(f))
		goto unreadable;
	fclose(f);
	rc = policy_parse_string(path, text, len, out, err, errlen);
	free(text);
	return rc;

unreadable:
	rc = errno ? -errno : -EIO;
	if (f)
		fclose(f);
	free(text);
	if (err && errlen)
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
	return rc;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (int id = 0; id < RW_MAX_CLASSES; id++)
		free(p->classes[id].ports);
	for (size_t t = 0; t < p->n_tenants; t++)
		free(p->tenants[t].cidrs);
	free(p->tenants);
	free(p->allow);
	free(p->deny);
	memset(p, 0, sizeof(*p));
}

int policy_class_id(const struct policy *p, const char *name)
{
	for (size_t id = 0; id < p->n_classes; id++)
		if (!strcmp(p->classes[id].name, name))
			return (int)id;
	return -1;
}
