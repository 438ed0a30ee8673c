// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "policy_show.h"
#include "policy_values.h"

static const char *const mode_names[RW_CLASS_MODE_MAX] = {
	[RW_CLASS_ENFORCE] = "enforce",
	[RW_CLASS_OBSERVE] = "observe",
	[RW_CLASS_SHED] = "shed",
};

const char *class_mode_name(unsigned int mode)
{
	return mode < RW_CLASS_MODE_MAX ? mode_names[mode] : "unknown";
}

const char *live_class_name(const struct rw_policy *p, uint32_t id, char *buf, size_t len)
{
	if (id < p->n_classes && id < RW_MAX_CLASSES && p->class_names[id][0])
		return p->class_names[id];
	snprintf(buf, len, "class%u", id);
	return buf;
}

int live_policy_read_limits(const struct policy_maps *m, struct live_policy *lp)
{
	int err = policy_read_active(m, &lp->slot, &lp->policy);

	if (err)
		return err;
	memset(lp->tenants, 0, sizeof(lp->tenants));
	for (uint32_t t = 1; t <= lp->policy.n_tenants && t < RW_MAX_TENANTS; t++) {
		uint32_t idx = rw_tenant_index(lp->slot, t);

		if (bpf_map_lookup_elem(m->tenants_fd, &idx, &lp->tenants[t]))
			return -errno;
	}
	return 0;
}

int live_policy_read(const struct policy_maps *m, struct live_policy *lp)
{
	int err = live_policy_read_limits(m, lp);

	for (uint32_t proto = 0; !err && proto < RW_PROTO_MAX; proto++)
		for (uint32_t i = 0; i < RW_PORT_ENTRIES_PER_PROTO; i++) {
			uint32_t idx = rw_port_index(lp->slot, proto, i * RW_PORTS_PER_ENTRY);

			if (bpf_map_lookup_elem(m->ports_fd, &idx, &lp->ports[proto][i]))
				return -errno;
		}
	return err;
}

/*
 * Intervals are rounded up to whole ticks, so 5400/m reads back as
 * 89.9999998/s: a rate within a millionth of a whole number is that
 * number, others keep six significant digits.
 */
static bool near_whole(double v)
{
	return fabs(v - round(v)) <= v * 1e-6;
}

static double rate_display(double rate)
{
	double scale;

	if (near_whole(rate))
		return round(rate);
	if (rate <= 0)
		return 0;
	scale = pow(10, 5 - floor(log10(rate)));
	return round(rate * scale) / scale;
}

double limit_word_rate_display(uint64_t word)
{
	return rate_display(limit_word_rate(word));
}

void rate_format(double rate, char *buf, size_t len)
{
	/* A slow rate reads best per minute or hour, as it was likely written. */
	if (near_whole(rate))
		snprintf(buf, len, "%.0f/s", round(rate));
	else if (near_whole(rate * 60))
		snprintf(buf, len, "%.0f/m", round(rate * 60));
	else if (near_whole(rate * 3600))
		snprintf(buf, len, "%.0f/h", round(rate * 3600));
	else
		snprintf(buf, len, "%g/s", rate_display(rate));
}

double limit_word_rate(uint64_t word)
{
	uint64_t interval = rw_limit_interval(word);

	return interval ? (double)(RW_NS_PER_SEC << RW_TICK_SHIFT) / (double)interval : 0;
}

void limit_word_format(uint64_t word, char *buf, size_t len)
{
	char rate[32];

	if (!word) {
		snprintf(buf, len, "-");
		return;
	}
	rate_format(limit_word_rate(word), rate, sizeof(rate));
	snprintf(buf, len, "%s burst %" PRIu64, rate, (uint64_t)rw_limit_burst(word));
}

/* Calls fn for each run of ports of one class: "tcp/443", "tcp/8000-8099". */
static void class_port_runs(const struct live_policy *lp, uint32_t class_id,
			    void (*fn)(void *ctx, const char *run), void *ctx)
{
	for (uint32_t proto = 0; proto < RW_PROTO_MAX; proto++) {
		uint32_t first = 0;
		bool open = false;

		for (uint32_t port = 0; port <= 65536; port++) {
			bool mine = port < 65536 &&
				    lp->ports[proto][port / RW_PORTS_PER_ENTRY]
						    .class_id[port % RW_PORTS_PER_ENTRY] == class_id;
			struct policy_ports range = { .proto = proto };
			char run[32];

			if (mine && !open) {
				first = port;
				open = true;
			} else if (!mine && open) {
				range.first = (uint16_t)first;
				range.last = (uint16_t)(port - 1);
				policy_format_ports(&range, run, sizeof(run));
				fn(ctx, run);
				open = false;
			}
		}
	}
}

struct port_text {
	char buf[256];
	size_t runs;
};

static void add_run_text(void *ctx, const char *run)
{
	struct port_text *t = ctx;
	size_t used = strlen(t->buf);

	if (t->runs++ < 6)
		snprintf(t->buf + used, sizeof(t->buf) - used, "%s%s", used ? "," : "", run);
	else if (t->runs == 7)
		snprintf(t->buf + used, sizeof(t->buf) - used, ",...");
}

static void add_run_json(void *ctx, const char *run)
{
	json_object_array_add(ctx, json_object_new_string(run));
}

static void print_time(FILE *f, uint64_t ns)
{
	time_t secs = (time_t)(ns / RW_NS_PER_SEC);
	struct tm tm;
	char buf[32];

	gmtime_r(&secs, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fputs(buf, f);
}

void live_policy_print(FILE *f, const struct live_policy *lp)
{
	const struct rw_policy *p = &lp->policy;
	char hash[65], a[48], b[48], c[48], d[48];

	policy_hash_hex(p->hash, hash);
	fprintf(f, "  policy %.16s generation %" PRIu64 ", applied ", hash,
		(uint64_t)p->generation);
	print_time(f, p->applied_at_ns);
	if (p->live_edits)
		fprintf(f, ", %u live change%s since", p->live_edits, p->live_edits == 1 ? "" : "s");
	fprintf(f, "; %u prefixes\n", p->n_cidrs);
	fprintf(f, "  %-16s %-8s %-22s %-22s %-22s %-22s %s\n", "class", "mode", "source packets",
		"source syn", "class packets", "class syn", "ports");
	for (uint32_t id = 0; id < p->n_classes && id < RW_MAX_CLASSES; id++) {
		const struct rw_class_limits *cl = &p->classes[id];
		struct port_text ports = { .buf = "" };

		if (id == 0)
			snprintf(ports.buf, sizeof(ports.buf), "(all others)");
		else
			class_port_runs(lp, id, add_run_text, &ports);
		limit_word_format(cl->src_pkt, a, sizeof(a));
		limit_word_format(cl->src_syn, b, sizeof(b));
		limit_word_format(cl->class_pkt, c, sizeof(c));
		limit_word_format(cl->class_syn, d, sizeof(d));
		fprintf(f, "  %-16s %-8s %-22s %-22s %-22s %-22s %s\n", p->class_names[id],
			class_mode_name(cl->mode), a, b, c, d, ports.buf);
	}
	for (uint32_t t = 1; t <= p->n_tenants && t < RW_MAX_TENANTS; t++) {
		const struct rw_tenant_limits *tl = &lp->tenants[t];

		limit_word_format(tl->pkt, a, sizeof(a));
		limit_word_format(tl->syn, b, sizeof(b));
		fprintf(f, "  tenant %-16s packets %-22s syn %s\n", tl->name, a, b);
		for (uint32_t id = 0; id < p->n_classes && id < RW_MAX_CLASSES; id++) {
			if (!tl->class_pkt[id] && !tl->class_syn[id])
				continue;
			limit_word_format(tl->class_pkt[id], a, sizeof(a));
			limit_word_format(tl->class_syn[id], b, sizeof(b));
			fprintf(f, "    in %-16s packets %-22s syn %s\n", p->class_names[id], a, b);
		}
	}
}

json_object *limit_word_json(uint64_t word)
{
	json_object *o;

	if (!word)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "rate", json_object_new_double(rate_display(limit_word_rate(word))));
	json_object_object_add(o, "burst", json_object_new_uint64(rw_limit_burst(word)));
	return o;
}

static json_object *pair_json(uint64_t pkt, uint64_t syn)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "packets", limit_word_json(pkt));
	json_object_object_add(o, "syn", limit_word_json(syn));
	return o;
}

/* A class scope: its buckets and its open-connection cap (null: none). */
static json_object *scope_json(uint64_t pkt, uint64_t syn, uint32_t conn_cap)
{
	json_object *o = pair_json(pkt, syn);

	json_object_object_add(o, "connections",
			       conn_cap ? json_object_new_uint64(conn_cap) : NULL);
	return o;
}

void live_policy_to_json(const struct live_policy *lp, json_object *o)
{
	const struct rw_policy *p = &lp->policy;
	json_object *pol = json_object_new_object();
	json_object *classes = json_object_new_array();
	json_object *tenants = json_object_new_array();
	char hash[65];

	policy_hash_hex(p->hash, hash);
	json_object_object_add(pol, "hash", json_object_new_string(hash));
	json_object_object_add(pol, "generation", json_object_new_uint64(p->generation));
	json_object_object_add(pol, "applied_at_ns", json_object_new_uint64(p->applied_at_ns));
	json_object_object_add(pol, "live_edits", json_object_new_uint64(p->live_edits));
	json_object_object_add(pol, "prefixes", json_object_new_uint64(p->n_cidrs));
	json_object_object_add(o, "policy", pol);

	for (uint32_t id = 0; id < p->n_classes && id < RW_MAX_CLASSES; id++) {
		const struct rw_class_limits *cl = &p->classes[id];
		json_object *c = json_object_new_object();
		json_object *ports = json_object_new_array();

		json_object_object_add(c, "id", json_object_new_uint64(id));
		json_object_object_add(c, "name", json_object_new_string(p->class_names[id]));
		json_object_object_add(c, "mode", json_object_new_string(class_mode_name(cl->mode)));
		if (id)
			class_port_runs(lp, id, add_run_json, ports);
		json_object_object_add(c, "ports", ports);
		json_object_object_add(c, "source",
				       scope_json(cl->src_pkt, cl->src_syn, cl->src_conn));
		json_object_object_add(c, "global",
				       scope_json(cl->class_pkt, cl->class_syn, cl->class_conn));
		json_object_array_add(classes, c);
	}
	json_object_object_add(o, "classes", classes);

	for (uint32_t t = 1; t <= p->n_tenants && t < RW_MAX_TENANTS; t++) {
		const struct rw_tenant_limits *tl = &lp->tenants[t];
		json_object *e = json_object_new_object();
		json_object *per = json_object_new_object();

		json_object_object_add(e, "id", json_object_new_uint64(t));
		json_object_object_add(e, "name", json_object_new_string(tl->name));
		json_object_object_add(e, "packets", limit_word_json(tl->pkt));
		json_object_object_add(e, "syn", limit_word_json(tl->syn));
		for (uint32_t id = 0; id < p->n_classes && id < RW_MAX_CLASSES; id++)
			if (tl->class_pkt[id] || tl->class_syn[id])
				json_object_object_add(per, p->class_names[id],
						       pair_json(tl->class_pkt[id], tl->class_syn[id]));
		json_object_object_add(e, "classes", per);
		json_object_array_add(tenants, e);
	}
	json_object_object_add(o, "tenants", tenants);
}
