// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Writes a policy model as YAML with libyaml's event emitter, so that
 * libyaml decides when a value needs quotes (an IPv6 prefix such as ::/0,
 * a cgroup path with odd characters) and the parser, libyaml too, always
 * reads back the same text.
 *
 * Layout: block mappings and block sequences, except that a bucket is a
 * flow mapping `{rate: 200/s, burst: 400}` and a class's ports a flow
 * sequence `[tcp/443, udp/443]`, as README writes them. CIDR lists are
 * one per line: they can be long, and a diff of two policies then shows
 * the prefix that changed.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "policy_control.h"
#include "policy_quota.h"
#include "policy_emit.h"
#include "policy_values.h"

/* The growing output of the emitter. */
struct out_buf {
	char *data;
	size_t len, cap;
};

struct emit_ctx {
	yaml_emitter_t emitter;
	struct out_buf out;
	bool ok; /* false after the first failure: later calls do nothing */
};

/* libyaml's write handler: 1 on success, 0 makes the emitter fail. */
static int write_out(void *data, unsigned char *buffer, size_t size)
{
	struct out_buf *o = data;

	if (o->len + size + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		char *grown;

		while (o->len + size + 1 > cap)
			cap *= 2;
		grown = realloc(o->data, cap);
		if (!grown)
			return 0;
		o->data = grown;
		o->cap = cap;
	}
	memcpy(o->data + o->len, buffer, size);
	o->len += size;
	o->data[o->len] = '\0';
	return 1;
}

/* Emits an event whose initializer returned `made`; the emitter owns it then. */
static void emit(struct emit_ctx *c, yaml_event_t *ev, int made)
{
	if (!c->ok) {
		if (made)
			yaml_event_delete(ev);
		return;
	}
	if (!made || !yaml_emitter_emit(&c->emitter, ev))
		c->ok = false;
}

static void styled_scalar(struct emit_ctx *c, const char *text, yaml_scalar_style_t style)
{
	yaml_event_t ev;

	if (!c->ok)
		return;
	emit(c, &ev,
	     yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text),
					  1, 1, style));
}

/* A plain-tagged scalar: libyaml picks plain style when it reads back as
 * the same text and quotes it otherwise. */
static void scalar(struct emit_ctx *c, const char *text)
{
	styled_scalar(c, text, YAML_ANY_SCALAR_STYLE);
}

/*
 * A class or tenant name. Names are [a-z][a-z0-9_-]*, so the only ones
 * another YAML reader would take for something else than a string are the
 * YAML 1.1 booleans and null: those are quoted, for tools that read the
 * policy text (our parser takes every scalar as text either way).
 */
static void name_scalar(struct emit_ctx *c, const char *name)
{
	static const char *const special[] = { "null", "true", "false", "yes", "no", "on",
					       "off", "y", "n", NULL };
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;

	for (size_t i = 0; special[i]; i++)
		if (!strcmp(name, special[i]))
			style = YAML_SINGLE_QUOTED_SCALAR_STYLE;
	styled_scalar(c, name, style);
}

/* Always quoted: an id like 123 or off is text, whatever another YAML
 * reader would make of it bare. */
static void quoted_scalar(struct emit_ctx *c, const char *text)
{
	styled_scalar(c, text, YAML_SINGLE_QUOTED_SCALAR_STYLE);
}

static void scalar_u64(struct emit_ctx *c, uint64_t n)
{
	char text[24];

	snprintf(text, sizeof(text), "%" PRIu64, n);
	scalar(c, text);
}

static void map_start(struct emit_ctx *c, bool flow)
{
	yaml_event_t ev;

	if (!c->ok)
		return;
	emit(c, &ev,
	     yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
						 flow ? YAML_FLOW_MAPPING_STYLE :
							YAML_BLOCK_MAPPING_STYLE));
}

static void map_end(struct emit_ctx *c)
{
	yaml_event_t ev;

	if (c->ok)
		emit(c, &ev, yaml_mapping_end_event_initialize(&ev));
}

static void seq_start(struct emit_ctx *c, bool flow)
{
	yaml_event_t ev;

	if (!c->ok)
		return;
	emit(c, &ev,
	     yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
						  flow ? YAML_FLOW_SEQUENCE_STYLE :
							 YAML_BLOCK_SEQUENCE_STYLE));
}

static void seq_end(struct emit_ctx *c)
{
	yaml_event_t ev;

	if (c->ok)
		emit(c, &ev, yaml_sequence_end_event_initialize(&ev));
}

static void key_text(struct emit_ctx *c, const char *key, const char *value)
{
	scalar(c, key);
	scalar(c, value);
}

static void key_u64(struct emit_ctx *c, const char *key, uint64_t value)
{
	scalar(c, key);
	scalar_u64(c, value);
}

/*
 * "COUNT/UNIT" for a rate of count per period_ns. The parser makes only
 * the three periods of its units, and each is written back in its own
 * unit, so 5400/m stays 5400/m (same words, same hash). Any other period
 * (a hand-made model) is written in the first unit that holds it exactly,
 * else per hour rounded down: the parser then refuses a rate that became
 * 0 rather than the text silently granting more.
 */
static void format_rate(const struct policy_limit *l, char *buf, size_t len)
{
	static const struct {
		uint64_t seconds;
		const char *unit;
	} units[] = { { 1, "s" }, { 60, "m" }, { 3600, "h" } };
	uint64_t period = l->period_ns ? l->period_ns : RW_NS_PER_SEC;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (period == units[i].seconds * RW_NS_PER_SEC) {
			snprintf(buf, len, "%" PRIu64 "/%s", l->count, units[i].unit);
			return;
		}
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		unsigned __int128 scaled =
			(unsigned __int128)l->count * units[i].seconds * RW_NS_PER_SEC;

		if (scaled % period == 0 && scaled / period <= UINT64_MAX) {
			snprintf(buf, len, "%" PRIu64 "/%s", (uint64_t)(scaled / period),
				 units[i].unit);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64 "/h",
		 (uint64_t)((unsigned __int128)l->count * 3600 * RW_NS_PER_SEC / period));
}

/* `key: {rate: R, burst: B}`, nothing when the bucket is absent. */
static void limit(struct emit_ctx *c, const char *key, const struct policy_limit *l)
{
	char rate[48];

	if (!l->count)
		return;
	format_rate(l, rate, sizeof(rate));
	scalar(c, key);
	map_start(c, true);
	key_text(c, "rate", rate);
	key_u64(c, "burst", l->burst);
	if (l->shared)
		key_text(c, "scope", "global");
	map_end(c);
}

static bool has_buckets(const struct policy_buckets *b)
{
	return b->packets.count || b->syn.count;
}

/* The `packets:` and `syn:` keys of the mapping being written. */
static void buckets(struct emit_ctx *c, const struct policy_buckets *b)
{
	limit(c, "packets", &b->packets);
	limit(c, "syn", &b->syn);
}

/* A class's `source:` or `global:`, left out when it limits nothing. */
static void scope(struct emit_ctx *c, const char *key, const struct policy_buckets *b)
{
	if (!has_buckets(b) && !b->connections)
		return;
	scalar(c, key);
	map_start(c, false);
	buckets(c, b);
	if (b->connections)
		key_u64(c, "connections", b->connections);
	map_end(c);
}

static void mode(struct emit_ctx *c, enum rw_class_mode m)
{
	static const char *const names[RW_CLASS_MODE_MAX] = {
		[RW_CLASS_ENFORCE] = "enforce",
		[RW_CLASS_OBSERVE] = "observe",
		[RW_CLASS_SHED] = "shed",
	};

	/* Written even when it is the default, enforce: a reader of the live
	 * policy should not need to know the default. Out of range it goes
	 * out as a number, for the parser to name. */
	scalar(c, "mode");
	if ((unsigned int)m < RW_CLASS_MODE_MAX && names[m])
		scalar(c, names[m]);
	else
		scalar_u64(c, (uint64_t)m);
}

/* The default class is the top-level `default:` key: no name, no ports. */
static void default_class(struct emit_ctx *c, const struct policy_class *cl)
{
	scalar(c, "default");
	map_start(c, false);
	mode(c, cl->mode);
	scope(c, "source", &cl->source);
	scope(c, "global", &cl->global);
	map_end(c);
}

/* A decimal with at most `places` digits after the point, trailing zeros
 * dropped: what the parser reads back unchanged. */
static void format_decimal(double v, int places, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "%.*f", places, v);
	if (!strchr(buf, '.'))
		return;
	n = strlen(buf);
	while (buf[n - 1] == '0')
		buf[--n] = 0;
	if (buf[n - 1] == '.')
		buf[--n] = 0;
}

/* Fractions as percentages, durations in ms. */
static void key_percent(struct emit_ctx *c, const char *key, double fraction)
{
	char text[48];

	format_decimal(fraction * 100.0, POLICY_PERCENT_PLACES, text, sizeof(text) - 1);
	strcat(text, "%");
	key_text(c, key, text);
}

static void key_ms(struct emit_ctx *c, const char *key, double ms)
{
	char text[32];

	snprintf(text, sizeof(text), "%.0fms", ms);
	key_text(c, key, text);
}

static void key_number(struct emit_ctx *c, const char *key, double v)
{
	char text[48];

	format_decimal(v, POLICY_FACTOR_PLACES, text, sizeof(text));
	key_text(c, key, text);
}

static void class_item(struct emit_ctx *c, const struct policy_class *cl)
{
	char text[32];

	map_start(c, false);
	scalar(c, "name");
	name_scalar(c, cl->name);
	/* an empty list, which the parser refuses, rather than no key: the
	 * error then points at the ports */
	scalar(c, "ports");
	seq_start(c, true);
	for (size_t i = 0; i < cl->n_ports; i++) {
		policy_format_ports(&cl->ports[i], text, sizeof(text));
		scalar(c, text);
	}
	seq_end(c);
	mode(c, cl->mode);
	scope(c, "source", &cl->source);
	scope(c, "global", &cl->global);
	if (cl->adaptive.adaptive) {
		scalar(c, "adaptive");
		map_start(c, true);
		key_percent(c, "floor", cl->adaptive.floor);
		key_percent(c, "ceiling", cl->adaptive.ceiling);
		if (cl->adaptive.shed)
			key_text(c, "shed", "true");
		map_end(c);
	}
	map_end(c);
}

/* `key:` and one CIDR a line; nothing for an empty list unless `always`. */
static void cidrs(struct emit_ctx *c, const char *key, const struct policy_cidr *list, size_t n,
		  bool always)
{
	char text[64];

	if (!n && !always)
		return;
	scalar(c, key);
	seq_start(c, n == 0); /* an empty block sequence cannot be written: [] */
	for (size_t i = 0; i < n; i++) {
		policy_format_cidr(&list[i], text, sizeof(text));
		scalar(c, text);
	}
	seq_end(c);
}

static void tenant(struct emit_ctx *c, const struct policy *p, const struct policy_tenant *t)
{
	bool any = false;

	map_start(c, false);
	scalar(c, "name");
	name_scalar(c, t->name);
	cidrs(c, "cidrs", t->cidrs, t->n_cidrs, true);
	buckets(c, &t->all);
	/* per class, in class id order; only ids that have a class have a name */
	for (size_t id = 0; id < p->n_classes && id < RW_MAX_CLASSES; id++) {
		const struct policy_buckets *b = &t->per_class[id];

		if (!has_buckets(b))
			continue;
		if (!any) {
			scalar(c, "classes");
			map_start(c, false);
			any = true;
		}
		name_scalar(c, p->classes[id].name);
		map_start(c, false);
		buckets(c, b);
		map_end(c);
	}
	if (any)
		map_end(c);
	if (t->mesh_node_id[0]) {
		scalar(c, "mesh_node_id");
		quoted_scalar(c, t->mesh_node_id);
	}
	map_end(c);
}

static void events(struct emit_ctx *c, const struct policy *p)
{
	char interval[32];

	if (!p->event_interval_ms && !p->events_off && p->client_id == POLICY_CLIENT_ADDRESS)
		return;
	scalar(c, "events");
	map_start(c, false);
	if (p->events_off) {
		scalar(c, "interval");
		quoted_scalar(c, "off");
	} else if (p->event_interval_ms) {
		policy_format_interval(p->event_interval_ms, interval, sizeof(interval));
		key_text(c, "interval", interval);
	}
	if (p->client_id == POLICY_CLIENT_HASHED) {
		key_text(c, "client_id", "hashed");
		key_text(c, "client_key", p->client_key);
	}
	map_end(c);
}

/* The control section with every knob resolved, defaults included. */
static void control(struct emit_ctx *c, const struct policy *p)
{
	const struct policy_control *pc = &p->control;
	const struct control_policy *law = &pc->law;

	if (!pc->present)
		return;
	scalar(c, "control");
	map_start(c, false);
	key_text(c, "controller", controller_kind_name(law->kind));
	key_ms(c, "interval", law->interval_ms);
	if (law->objective_ms > 0)
		key_ms(c, "objective", law->objective_ms);
	if (law->shed_latency_ms > 0)
		key_ms(c, "shed_latency", law->shed_latency_ms);
	else if (pc->shed_latency_set || law->objective_ms > 0)
		key_text(c, "shed_latency", "off");
	if (pc->health_url[0]) {
		scalar(c, "health");
		map_start(c, false);
		key_text(c, "url", pc->health_url);
		key_ms(c, "timeout", pc->health_timeout_ms);
		key_u64(c, "fail_after", law->fail_after);
		key_u64(c, "recover_after", law->recover_after);
		map_end(c);
	}
	if (pc->metrics_url[0]) {
		scalar(c, "metrics");
		map_start(c, false);
		key_text(c, "url", pc->metrics_url);
		key_ms(c, "timeout", pc->metrics_timeout_ms);
		if (pc->latency_metric[0]) {
			key_text(c, "latency", pc->latency_metric);
			key_number(c, "quantile", pc->quantile);
		}
		if (pc->requests_metric[0])
			key_text(c, "requests", pc->requests_metric);
		map_end(c);
	}
	key_percent(c, "error_ratio", law->error_ratio);
	if (law->cpu_high > 0)
		key_percent(c, "cpu_high", law->cpu_high);
	else
		key_text(c, "cpu_high", "off");
	key_ms(c, "cpu_for", pc->cpu_for_ms);
	if (pc->netns[0])
		key_text(c, "netns", pc->netns);
	scalar(c, "step");
	map_start(c, true);
	key_ms(c, "fast", law->step.fast_ms);
	key_ms(c, "slow", law->step.slow_ms);
	key_number(c, "up", law->step.up);
	key_number(c, "down", law->step.down);
	key_number(c, "error_cut", law->step.error_cut);
	key_ms(c, "latency_every", law->step.latency_every_ms);
	key_ms(c, "errors_every", law->step.errors_every_ms);
	map_end(c);
	map_end(c);
}

/* The quota section with every setting resolved, defaults included. */
static void quota(struct emit_ctx *c, const struct policy *p)
{
	const struct policy_quota *q = &p->quota;

	if (!q->present)
		return;
	scalar(c, "quota");
	map_start(c, false);
	if (q->n_redis == 1) {
		key_text(c, "redis", q->redis[0]);
	} else {
		scalar(c, "redis");
		seq_start(c, false);
		for (size_t i = 0; i < q->n_redis; i++)
			scalar(c, q->redis[i]);
		seq_end(c);
	}
	if (q->username[0])
		key_text(c, "username", q->username);
	if (q->password_file[0])
		key_text(c, "password_file", q->password_file);
	scalar(c, "prefix");
	quoted_scalar(c, q->prefix);
	scalar(c, "fleet");
	quoted_scalar(c, q->fleet);
	key_ms(c, "sync", q->sync_ms);
	key_ms(c, "timeout", q->timeout_ms);
	key_ms(c, "lease", q->lease_ms);
	key_percent(c, "safe_share", q->safe_share);
	map_end(c);
}

static void connections(struct emit_ctx *c, const struct policy *p)
{
	if (!p->conn_table && !p->cgroup[0])
		return;
	scalar(c, "connections");
	map_start(c, false);
	if (p->conn_table)
		key_u64(c, "table", p->conn_table);
	if (p->cgroup[0])
		key_text(c, "cgroup", p->cgroup);
	map_end(c);
}

/* The whole document, top-level keys in the README's order. */
static void document(struct emit_ctx *c, const struct policy *p)
{
	yaml_event_t ev;

	emit(c, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
	/* implicit start and end: no `---` or `...` around the one document */
	emit(c, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
	map_start(c, false);
	key_text(c, "version", "1");
	default_class(c, &p->classes[0]);
	if (p->n_classes > 1) {
		scalar(c, "classes");
		seq_start(c, false);
		for (size_t id = 1; id < p->n_classes && id < RW_MAX_CLASSES; id++)
			class_item(c, &p->classes[id]);
		seq_end(c);
	}
	if (p->n_tenants) {
		scalar(c, "tenants");
		seq_start(c, false);
		for (size_t i = 0; i < p->n_tenants; i++)
			tenant(c, p, &p->tenants[i]);
		seq_end(c);
	}
	cidrs(c, "allow", p->allow, p->n_allow, false);
	cidrs(c, "deny", p->deny, p->n_deny, false);
	connections(c, p);
	events(c, p);
	control(c, p);
	quota(c, p);
	map_end(c);
	emit(c, &ev, yaml_document_end_event_initialize(&ev, 1));
	emit(c, &ev, yaml_stream_end_event_initialize(&ev));
}

char *policy_emit_yaml(const struct policy *p)
{
	struct emit_ctx c = { .ok = true };

	if (!yaml_emitter_initialize(&c.emitter))
		return NULL;
	yaml_emitter_set_output(&c.emitter, write_out, &c.out);
	/* never fold a long value (a cgroup path) over lines; keep UTF-8 as is */
	yaml_emitter_set_width(&c.emitter, -1);
	yaml_emitter_set_unicode(&c.emitter, 1);
	yaml_emitter_set_indent(&c.emitter, 2);
	yaml_emitter_set_break(&c.emitter, YAML_LN_BREAK);
	document(&c, p);
	if (c.ok && !yaml_emitter_flush(&c.emitter))
		c.ok = false;
	yaml_emitter_delete(&c.emitter);
	if (!c.ok || !c.out.data) {
		free(c.out.data);
		return NULL;
	}
	return c.out.data;
}
