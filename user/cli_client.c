// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* `ratewall client`: one source's live state, what the program would do
 * with its next packet, and the heaviest sources. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <json-c/json.h>

#include "attachment.h"
#include "cli.h"
#include "clocks.h"
#include "cli_objects.h"
#include "conns.h"
#include "conns_show.h"
#include "counters.h"
#include "explain.h"
#include "log.h"
#include "policy_show.h"
#include "talkers.h"

#define TOP_DEFAULT 10
#define TOP_MAX 1000

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ratewall [-j|-p] client show [dev IFACE] ADDR\n"
		"       ratewall [-j|-p] client explain [dev IFACE] ADDR [port P] [tcp|udp] [syn]\n"
		"       ratewall [-j|-p] client top [dev IFACE] [by drops|conns|packets] [count N]\n"
		"  show     ADDR's source key in each class, the tokens left in its buckets,\n"
		"           its open connections, its tenant and list, and its talker counts\n"
		"  explain  which checks a packet from ADDR would pass and which would refuse it,\n"
		"           in the program's order, and retry_after_ms: the time until every\n"
		"           check admits it (none when a deny list, shed or a connection cap\n"
		"           refuses). 'port P' (0..65535) picks the class (tcp unless 'udp');\n"
		"           'syn' makes it a new TCP connection. Reads only: it spends no token.\n"
		"  top      the heaviest sources (default by drops, %d of them, at most %d), from\n"
		"           the program's heavy-source slots (counts since a source took its\n"
		"           slot) or, by conns, from the open-connection table\n"
		"Example: ratewall client explain 198.18.0.10 port 443 syn\n",
		TOP_DEFAULT, TOP_MAX);
}

static const char *list_name(enum rw_list list)
{
	return list == RW_LIST_ALLOW ? "allow" : list == RW_LIST_DENY ? "deny" : NULL;
}

/* What every client command names: the interface and one address. */
struct client_args {
	const char *ifname;
	const char *addr_text;
	uint8_t family;
	uint32_t addr[4];
};

static int take_addr(struct arg_cursor *cur, struct client_args *ca, const char *where)
{
	if (ca->addr_text)
		return cli_usage_error("%s takes one address; '%s' is one too many", where,
				       cur->argv[0]);
	if (cli_parse_addr(cur->argv[0], &ca->family, ca->addr))
		return CLI_USAGE;
	ca->addr_text = cur->argv[0];
	cur->argc--;
	cur->argv++;
	return CLI_OK;
}

static bool looks_like_addr(const char *word)
{
	return strchr(word, '.') || strchr(word, ':');
}

/* --- show ------------------------------------------------------------ */

static json_object *bucket_state_json(uint64_t tat, uint64_t limit, uint64_t now)
{
	json_object *o = limit_word_json(limit);

	if (o)
		json_object_object_add(o, "tokens",
				       json_object_new_uint64(bucket_tokens(tat, limit, now)));
	return o;
}

static json_object *client_show_json(const struct attachment *a, const struct client_args *ca)
{
	struct explain_maps m;
	struct explain_result r;
	struct explain_packet pkt = { .family = ca->family, .proto = RW_PROTO_MAX };
	struct rw_policy pol;
	struct rw_config cfg;
	struct talker *talkers = NULL;
	size_t n_talkers = 0;
	uint64_t now_ns = monotonic_ns(), now = now_ns << RW_TICK_SHIFT;
	uint64_t packets = 0, drops = 0;
	bool talker = false;
	uint32_t zero = 0, slot;
	json_object *root, *classes;
	char name[RW_NAME_MAX], key_text[64];
	int err;

	memcpy(pkt.addr, ca->addr, sizeof(pkt.addr));
	explain_maps_of(a, &m);
	err = explain(&m, &pkt, now_ns, &r);
	if (!err && bpf_map_lookup_elem(a->maps.config_fd, &zero, &cfg))
		err = -errno;
	if (!err)
		err = policy_read_active(&a->maps, &slot, &pol);
	if (!err)
		err = talkers_read(a->talkers_fd, TALKERS_BY_PACKETS, &talkers, &n_talkers);
	if (err) {
		rw_err("cannot read the state of %s: %s", a->ifname, strerror(-err));
		return NULL;
	}
	root = json_object_new_object();
	classes = json_object_new_array();
	json_object_object_add(root, "dev", json_object_new_string(a->ifname));
	json_object_object_add(root, "address", json_object_new_string(ca->addr_text));
	json_object_object_add(root, "tenant",
			       r.tenant_id ? json_object_new_string(r.tenant_name) : NULL);
	json_object_object_add(root, "list", list_name(r.list) ? json_object_new_string(list_name(r.list)) : NULL);
	for (uint32_t id = 0; id < pol.n_classes && id < RW_MAX_CLASSES; id++) {
		const struct rw_class_limits *cl = &pol.classes[id];
		struct rw_src_state st = { 0 };
		struct rw_conn_entry e;
		struct rw_src_key key;
		uint64_t open = 0;
		bool tracked;
		json_object *c;

		explain_source_key(&cfg, ca->family, ca->addr, id, &key);
		tracked = bpf_map_lookup_elem(a->sources_fd, &key, &st) == 0;
		if (bpf_map_lookup_elem(a->conns.conns_fd, &key, &e) == 0 && !rw_conn_gone(e.word) &&
		    rw_src_key_equal(&e.key, &key))
			open = rw_conn_open(e.word);
		for (size_t i = 0; i < n_talkers; i++)
			if (rw_src_key_equal(&talkers[i].key, &key)) {
				talker = true;
				packets += talkers[i].packets;
				drops += talkers[i].drops;
			}
		c = json_object_new_object();
		conn_source_format(&key, cfg.prefix4, cfg.prefix6, key_text, sizeof(key_text));
		json_object_object_add(c, "class",
				       json_object_new_string(live_class_name(&pol, id, name, sizeof(name))));
		json_object_object_add(c, "key", json_object_new_string(key_text));
		json_object_object_add(c, "tracked", json_object_new_boolean(tracked));
		/* An entry not made yet is a full bucket. */
		json_object_object_add(c, "packets", bucket_state_json(st.pkt_tat, cl->src_pkt, now));
		json_object_object_add(c, "syn", bucket_state_json(st.syn_tat, cl->src_syn, now));
		json_object_object_add(c, "open_connections", json_object_new_uint64(open));
		json_object_object_add(c, "connection_cap",
				       cl->src_conn ? json_object_new_uint64(cl->src_conn) : NULL);
		json_object_array_add(classes, c);
	}
	free(talkers);
	json_object_object_add(root, "classes", classes);
	if (talker) {
		json_object *t = json_object_new_object();

		json_object_object_add(t, "packets", json_object_new_uint64(packets));
		json_object_object_add(t, "drops", json_object_new_uint64(drops));
		json_object_object_add(root, "talker", t);
	} else {
		json_object_object_add(root, "talker", NULL);
	}
	return root;
}

static void bucket_state_text(json_object *b, char *buf, size_t len)
{
	if (!b) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf, len, "%" PRIu64 "/%" PRIu64 " tokens",
		 json_object_get_uint64(json_object_object_get(b, "tokens")),
		 json_object_get_uint64(json_object_object_get(b, "burst")));
}

static void client_show_print(json_object *root)
{
	json_object *classes = json_object_object_get(root, "classes");
	json_object *tenant = json_object_object_get(root, "tenant");
	json_object *list = json_object_object_get(root, "list");
	json_object *talker = json_object_object_get(root, "talker");

	printf("%s on %s: tenant %s, list %s\n",
	       json_object_get_string(json_object_object_get(root, "address")),
	       json_object_get_string(json_object_object_get(root, "dev")),
	       tenant ? json_object_get_string(tenant) : "-", list ? json_object_get_string(list) : "-");
	printf("  %-16s %-24s %-8s %-22s %-22s %s\n", "class", "key", "tracked", "packets", "syn",
	       "connections");
	for (size_t i = 0; i < json_object_array_length(classes); i++) {
		json_object *c = json_object_array_get_idx(classes, i);
		json_object *cap = json_object_object_get(c, "connection_cap");
		char pk[48], sy[48], conns[48];

		bucket_state_text(json_object_object_get(c, "packets"), pk, sizeof(pk));
		bucket_state_text(json_object_object_get(c, "syn"), sy, sizeof(sy));
		if (cap)
			snprintf(conns, sizeof(conns), "%" PRIu64 " open, cap %" PRIu64,
				 json_object_get_uint64(json_object_object_get(c, "open_connections")),
				 json_object_get_uint64(cap));
		else
			snprintf(conns, sizeof(conns), "%" PRIu64 " open",
				 json_object_get_uint64(json_object_object_get(c, "open_connections")));
		printf("  %-16s %-24s %-8s %-22s %-22s %s\n",
		       json_object_get_string(json_object_object_get(c, "class")),
		       json_object_get_string(json_object_object_get(c, "key")),
		       json_object_get_boolean(json_object_object_get(c, "tracked")) ? "yes" : "no", pk,
		       sy, conns);
	}
	if (talker)
		printf("  talker: %" PRIu64 " packets, %" PRIu64 " dropped (since it took its slot)\n",
		       json_object_get_uint64(json_object_object_get(talker, "packets")),
		       json_object_get_uint64(json_object_object_get(talker, "drops")));
	else
		printf("  talker: not among the heavy sources\n");
}

static json_object *build_show(const struct attachment *a, const void *ctx)
{
	return client_show_json(a, ctx);
}

static int client_show(struct arg_cursor *cur)
{
	struct client_args ca = { 0 };
	int rc;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	rc = cli_parse_dev_and_word(cur, "client show", "address", &ca.ifname, &ca.addr_text);
	if (rc)
		return rc;
	if (!ca.addr_text)
		return cli_usage_error("client show needs an address");
	if (cli_parse_addr(ca.addr_text, &ca.family, ca.addr))
		return CLI_USAGE;
	return cli_show("client show", ca.ifname, build_show, client_show_print, &ca);
}

/* --- explain --------------------------------------------------------- */

static const char *outcome_name(enum explain_outcome o)
{
	return o == EXPLAIN_REFUSE ? "refuse" : o == EXPLAIN_DECIDES ? "admit" : "pass";
}

/* What `client explain` asks: the address and the packet from it. */
struct explain_query {
	struct client_args ca;
	struct explain_packet pkt;
};

static json_object *build_explain(const struct attachment *a, const void *ctx)
{
	const struct explain_query *q = ctx;
	const struct client_args *ca = &q->ca;
	struct explain_packet pkt = q->pkt;
	struct explain_maps m;
	struct explain_result r;
	struct rw_config cfg;
	json_object *root, *checks;
	uint32_t zero = 0;
	char key_text[64];
	int err;

	pkt.family = ca->family;
	memcpy(pkt.addr, ca->addr, sizeof(pkt.addr));
	explain_maps_of(a, &m);
	err = explain(&m, &pkt, monotonic_ns(), &r);
	if (!err && bpf_map_lookup_elem(a->maps.config_fd, &zero, &cfg))
		err = -errno;
	if (err) {
		rw_err("cannot read the state of %s: %s", a->ifname, strerror(-err));
		return NULL;
	}
	root = json_object_new_object();
	checks = json_object_new_array();
	conn_source_format(&r.key, cfg.prefix4, cfg.prefix6, key_text, sizeof(key_text));
	json_object_object_add(root, "dev", json_object_new_string(a->ifname));
	json_object_object_add(root, "address", json_object_new_string(ca->addr_text));
	json_object_object_add(root, "packet",
			       json_object_new_string(pkt.proto == RW_PROTO_MAX ? "no ports" :
						      pkt.syn ? "tcp syn" :
						      pkt.proto == RW_PROTO_TCP ? "tcp" : "udp"));
	json_object_object_add(root, "port",
			       pkt.proto == RW_PROTO_MAX ? NULL : json_object_new_uint64(pkt.port));
	json_object_object_add(root, "class", json_object_new_string(r.class_name));
	json_object_object_add(root, "key", json_object_new_string(key_text));
	json_object_object_add(root, "tenant",
			       r.tenant_id ? json_object_new_string(r.tenant_name) : NULL);
	json_object_object_add(root, "list", list_name(r.list) ? json_object_new_string(list_name(r.list)) : NULL);
	for (unsigned int i = 0; i < r.n_checks; i++) {
		const struct explain_check *c = &r.checks[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "check", json_object_new_string(c->name));
		json_object_object_add(o, "reason", json_object_new_string(reason_name(c->reason)));
		json_object_object_add(o, "outcome", json_object_new_string(outcome_name(c->outcome)));
		json_object_object_add(o, "limit", c->detail[0] ? json_object_new_string(c->detail) : NULL);
		json_object_object_add(o, "tokens", c->bucket ? json_object_new_uint64(c->tokens) : NULL);
		json_object_object_add(o, "wait_ms", c->bucket ?
				       json_object_new_uint64((c->wait_ns + 999999) / 1000000) : NULL);
		json_object_array_add(checks, o);
	}
	json_object_object_add(root, "checks", checks);
	json_object_object_add(root, "verdict", json_object_new_string(verdict_name(r.verdict)));
	json_object_object_add(root, "reason", json_object_new_string(reason_name(r.reason)));
	json_object_object_add(root, "retry_after_ms",
			       r.retry_after_ms < 0 ? NULL : json_object_new_int64(r.retry_after_ms));
	return root;
}

static void explain_print(json_object *root)
{
	json_object *checks = json_object_object_get(root, "checks");
	json_object *port = json_object_object_get(root, "port");
	json_object *tenant = json_object_object_get(root, "tenant");
	json_object *retry = json_object_object_get(root, "retry_after_ms");

	printf("%s, %s", json_object_get_string(json_object_object_get(root, "address")),
	       json_object_get_string(json_object_object_get(root, "packet")));
	if (port)
		printf(" to port %" PRIu64, json_object_get_uint64(port));
	printf(": class %s, key %s, tenant %s\n",
	       json_object_get_string(json_object_object_get(root, "class")),
	       json_object_get_string(json_object_object_get(root, "key")),
	       tenant ? json_object_get_string(tenant) : "-");
	for (size_t i = 0; i < json_object_array_length(checks); i++) {
		json_object *c = json_object_array_get_idx(checks, i);
		json_object *limit = json_object_object_get(c, "limit");
		json_object *tokens = json_object_object_get(c, "tokens");

		printf("  %-24s %-7s %-*s", json_object_get_string(json_object_object_get(c, "check")),
		       json_object_get_string(json_object_object_get(c, "outcome")), limit ? 12 : 0,
		       json_object_get_string(json_object_object_get(c, "reason")));
		if (limit)
			printf(" %s", json_object_get_string(limit));
		if (tokens)
			printf(", %" PRIu64 " tokens, wait %" PRIu64 " ms", json_object_get_uint64(tokens),
			       json_object_get_uint64(json_object_object_get(c, "wait_ms")));
		printf("\n");
	}
	if (json_object_array_length(checks) == 0)
		printf("  (no check applies)\n");
	printf("  verdict %s (%s), retry_after_ms ",
	       json_object_get_string(json_object_object_get(root, "verdict")),
	       json_object_get_string(json_object_object_get(root, "reason")));
	if (retry)
		printf("%" PRId64 "\n", json_object_get_int64(retry));
	else
		printf("none (no wait admits it)\n");
}

enum explain_kw { EX_DEV, EX_PORT, EX_TCP, EX_UDP, EX_SYN };

static int client_explain(struct arg_cursor *cur)
{
	static const char *const kws[] = { "dev", "port", "tcp", "udp", "syn", NULL };
	struct explain_packet pkt = { .proto = RW_PROTO_MAX };
	struct client_args ca = { 0 };
	bool has_port = false, udp = false, tcp = false;
	const char *value;
	uint64_t port;
	int rc, kw;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	while (cur->argc > 0) {
		if (looks_like_addr(cur->argv[0]) || arg_match(cur->argv[0], kws) < 0) {
			rc = take_addr(cur, &ca, "client explain");
			if (rc)
				return rc;
			continue;
		}
		kw = cli_keyword(cur, "client explain", kws);
		switch (kw) {
		case EX_DEV:
			if (arg_take_value(cur, "dev", &value) || cli_parse_dev(value, &ca.ifname))
				return CLI_USAGE;
			break;
		case EX_PORT:
			if (arg_take_value(cur, "port", &value) || arg_parse_u64("port", value, 0, 65535, &port))
				return CLI_USAGE;
			pkt.port = (uint16_t)port;
			has_port = true;
			break;
		case EX_TCP:
			tcp = true;
			break;
		case EX_UDP:
			udp = true;
			break;
		case EX_SYN:
			pkt.syn = true;
			break;
		default:
			return CLI_USAGE;
		}
	}
	if (!ca.addr_text)
		return cli_usage_error("client explain needs an address");
	if (udp && (tcp || pkt.syn))
		return cli_usage_error("client explain: a udp packet is neither tcp nor a syn");
	if ((udp || tcp) && !has_port)
		return cli_usage_error("client explain: '%s' needs 'port P'", udp ? "udp" : "tcp");
	if (has_port)
		pkt.proto = udp ? RW_PROTO_UDP : RW_PROTO_TCP;
	else if (pkt.syn)
		return cli_usage_error("client explain: 'syn' needs 'port P' (a SYN goes to a port)");
	{
		struct explain_query q = { .ca = ca, .pkt = pkt };

		return cli_show("client explain", ca.ifname, build_explain, explain_print, &q);
	}
}

/* --- top ------------------------------------------------------------- */

enum top_by { TOP_DROPS, TOP_CONNS, TOP_PACKETS };

struct top_opts {
	enum top_by by;
	uint64_t count;
};

static json_object *build_top(const struct attachment *a, const void *ctx)
{
	static const char *const by_names[] = { "drops", "conns", "packets" };
	const struct top_opts *o = ctx;
	json_object *root = json_object_new_object(), *rows = json_object_new_array();
	struct rw_policy pol;
	struct rw_config cfg;
	uint32_t zero = 0, slot;
	char name[RW_NAME_MAX], key_text[64];
	int err;

	err = policy_read_active(&a->maps, &slot, &pol);
	if (!err && bpf_map_lookup_elem(a->maps.config_fd, &zero, &cfg))
		err = -errno;
	if (!err && o->by == TOP_CONNS) {
		struct conn_source *top = calloc(o->count, sizeof(*top));
		size_t n = 0;
		uint64_t sources = 0;

		err = top ? conns_top(a->conns.conns_fd, top, o->count, &n, &sources) : -ENOMEM;
		for (size_t i = 0; !err && i < n; i++) {
			json_object *r = json_object_new_object();

			conn_source_format(&top[i].key, cfg.prefix4, cfg.prefix6, key_text,
					   sizeof(key_text));
			json_object_object_add(r, "source", json_object_new_string(key_text));
			json_object_object_add(r, "class", json_object_new_string(
				live_class_name(&pol, top[i].key.class_id, name, sizeof(name))));
			json_object_object_add(r, "open_connections", json_object_new_uint64(top[i].open));
			json_object_array_add(rows, r);
		}
		free(top);
	} else if (!err) {
		struct talker *t = NULL;
		size_t n = 0;

		err = talkers_read(a->talkers_fd, o->by == TOP_DROPS ? TALKERS_BY_DROPS :
								     TALKERS_BY_PACKETS, &t, &n);
		for (size_t i = 0; !err && i < n && i < o->count; i++) {
			json_object *r;

			if (o->by == TOP_DROPS && !t[i].drops)
				break;
			r = json_object_new_object();
			conn_source_format(&t[i].key, cfg.prefix4, cfg.prefix6, key_text,
					   sizeof(key_text));
			json_object_object_add(r, "source", json_object_new_string(key_text));
			json_object_object_add(r, "class", json_object_new_string(
				live_class_name(&pol, t[i].key.class_id, name, sizeof(name))));
			json_object_object_add(r, "packets", json_object_new_uint64(t[i].packets));
			json_object_object_add(r, "drops", json_object_new_uint64(t[i].drops));
			json_object_array_add(rows, r);
		}
		free(t);
	}
	if (err) {
		rw_err("cannot read the heavy sources of %s: %s", a->ifname, strerror(-err));
		json_object_put(root);
		json_object_put(rows);
		return NULL;
	}
	json_object_object_add(root, "dev", json_object_new_string(a->ifname));
	json_object_object_add(root, "by", json_object_new_string(by_names[o->by]));
	json_object_object_add(root, "sources", rows);
	return root;
}

static void top_print(json_object *root)
{
	json_object *rows = json_object_object_get(root, "sources");
	bool conns = strcmp(json_object_get_string(json_object_object_get(root, "by")), "conns") == 0;

	printf("%s: heaviest sources by %s\n", json_object_get_string(json_object_object_get(root, "dev")),
	       json_object_get_string(json_object_object_get(root, "by")));
	if (conns)
		printf("  %-40s %-16s %12s\n", "source", "class", "connections");
	else
		printf("  %-40s %-16s %14s %14s\n", "source", "class", "packets", "drops");
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		json_object *r = json_object_array_get_idx(rows, i);
		const char *src = json_object_get_string(json_object_object_get(r, "source"));
		const char *cls = json_object_get_string(json_object_object_get(r, "class"));

		if (conns)
			printf("  %-40s %-16s %12" PRIu64 "\n", src, cls,
			       json_object_get_uint64(json_object_object_get(r, "open_connections")));
		else
			printf("  %-40s %-16s %14" PRIu64 " %14" PRIu64 "\n", src, cls,
			       json_object_get_uint64(json_object_object_get(r, "packets")),
			       json_object_get_uint64(json_object_object_get(r, "drops")));
	}
	if (json_object_array_length(rows) == 0)
		printf("  (none)\n");
}

static int client_top(struct arg_cursor *cur)
{
	static const char *const kws[] = { "dev", "by", "count", NULL };
	static const char *const orders[] = { "drops", "conns", "packets", NULL };
	struct top_opts o = { .by = TOP_DROPS, .count = TOP_DEFAULT };
	struct client_args ca = { 0 };
	const char *value;
	int kw, idx;

	if (cli_wants_help(cur))
		return cli_help(usage, cur);
	while (cur->argc > 0) {
		kw = cli_keyword(cur, "client top", kws);
		if (kw < 0 || arg_take_value(cur, kws[kw], &value))
			return CLI_USAGE;
		if (kw == 0 && cli_parse_dev(value, &ca.ifname))
			return CLI_USAGE;
		if (kw == 1) {
			idx = cli_parse_choice("by", value, orders);
			if (idx < 0)
				return CLI_USAGE;
			o.by = (enum top_by)idx;
		}
		if (kw == 2 && arg_parse_u64("count", value, 1, TOP_MAX, &o.count))
			return CLI_USAGE;
	}
	return cli_show("client top", ca.ifname, build_top, top_print, &o);
}

int cli_client(struct arg_cursor *cur)
{
	static const char *const cmds[] = { "show", "explain", "top", NULL };
	static int (*const run[])(struct arg_cursor *) = { client_show, client_explain, client_top };

	return cli_dispatch(cur, "client", cmds, run, usage);
}
