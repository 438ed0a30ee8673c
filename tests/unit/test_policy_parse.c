// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* The policy file parser: what a valid file turns into, and what each mistake says. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "policy.h"
#include "policy_quota.h"
#include "policy_control.h"

static char err[16384];
static struct policy pol;

static int parse(const char *text)
{
	return policy_parse_string("p.yaml", text, strlen(text), &pol, err, sizeof(err));
}

static void assert_policy_empty(const struct policy *p)
{
	static const struct policy zero;

	assert_int_equal(p->n_classes, 0);
	assert_int_equal(p->n_tenants, 0);
	assert_null(p->tenants);
	assert_null(p->allow);
	assert_null(p->deny);
	assert_memory_equal(p, &zero, sizeof(zero));
}

/* True if some line of err starts with `where` and also holds `what`. */
static int has_error(const char *where, const char *what)
{
	for (const char *line = err; *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char copy[1024];

		snprintf(copy, sizeof(copy), "%.*s", (int)len, line);
		if (!strncmp(copy, where, strlen(where)) && strstr(copy, what))
			return 1;
		if (!end)
			break;
		line = end + 1;
	}
	return 0;
}

/* Parses text, which must fail with an error line at `where` that holds `what`. */
static void expect_error(const char *text, const char *where, const char *what)
{
	int rc = parse(text);

	if (rc != -EINVAL || !has_error(where, what))
		print_error("wanted \"%s ... %s\", got:\n%s\n", where, what, err);
	assert_int_equal(rc, -EINVAL);
	assert_true(has_error(where, what));
	assert_policy_empty(&pol);
	policy_free(&pol);
}

static int count_lines(const char *text)
{
	int n = *text ? 1 : 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

static const char full_policy[] =
	"version: 1\n"                                            /* 1 */
	"default:\n"                                              /* 2 */
	"  mode: observe\n"                                       /* 3 */
	"  source:\n"                                             /* 4 */
	"    packets: { rate: 200/s, burst: 400 }\n"              /* 5 */
	"    syn:     { rate: 20/s,  burst: 60 }\n"               /* 6 */
	"  global:\n"                                             /* 7 */
	"    packets: { rate: 50000/s, burst: 100000 }\n"         /* 8 */
	"    syn:     { rate: 2000/s,  burst: 4000 }\n"           /* 9 */
	"classes:\n"                                              /* 10 */
	"  - name: interactive\n"                                 /* 11 */
	"    ports: [tcp/443, tcp/8000-8099, udp/53]\n"           /* 12 */
	"    mode: shed\n"                                        /* 13 */
	"    source:\n"                                           /* 14 */
	"      packets: { rate: 100/s }\n"                        /* 15 */
	"  - name: bulk\n"                                        /* 16 */
	"    ports:\n"                                            /* 17 */
	"      - tcp/873\n"                                       /* 18 */
	"      - udp/443\n"                                       /* 19 */
	"    global:\n"                                           /* 20 */
	"      syn: { rate: 600/m, burst: 5 }\n"                  /* 21 */
	"tenants:\n"                                              /* 22 */
	"  - name: ci-fleet\n"                                    /* 23 */
	"    cidrs: [198.18.10.0/24, 2001:db8:10::/48]\n"         /* 24 */
	"    packets: { rate: 2000/s, burst: 4000 }\n"            /* 25 */
	"    syn: { rate: 20/s, burst: 60 }\n"                    /* 26 */
	"    classes:\n"                                          /* 27 */
	"      bulk:\n"                                           /* 28 */
	"        packets: { rate: 90/min }\n"                     /* 29 */
	"      default:\n"                                        /* 30 */
	"        syn: { rate: 7200/h, burst: 9 }\n"               /* 31 */
	"  - name: lab_2\n"                                       /* 32 */
	"    cidrs: [198.18.20.0/24]\n"                           /* 33 */
	"allow: [198.18.0.10/32, 2001:db8::10/128, 0.0.0.0/0]\n"  /* 34 */
	"deny:  [198.19.255.0/24]\n";                             /* 35 */

static void assert_limit(const struct policy_limit *l, uint64_t count, uint64_t period_ns,
			 uint64_t burst, int line)
{
	assert_int_equal(l->count, count);
	assert_int_equal(l->period_ns, period_ns);
	assert_int_equal(l->burst, burst);
	assert_int_equal(l->line, line);
}

static void assert_absent(const struct policy_limit *l)
{
	assert_int_equal(l->count, 0);
	assert_int_equal(l->line, 0);
}

static void assert_ports(const struct policy_ports *p, enum rw_port_proto proto, int first,
			 int last, int line)
{
	assert_int_equal(p->proto, proto);
	assert_int_equal(p->first, first);
	assert_int_equal(p->last, last);
	assert_int_equal(p->line, line);
}

static void assert_cidr(const struct policy_cidr *c, int family, const char *addr, int prefix,
			int line)
{
	uint32_t want[4] = { 0 };

	assert_int_equal(inet_pton(family == 6 ? AF_INET6 : AF_INET, addr, want), 1);
	assert_int_equal(c->family, family);
	assert_int_equal(c->prefix, prefix);
	assert_memory_equal(c->addr, want, sizeof(want));
	assert_int_equal(c->line, line);
}

static void full_policy_lands_in_every_field(void **state)
{
	const uint64_t s = 1000000000ULL, m = 60 * s, h = 3600 * s;
	const struct policy_class *def, *inter, *bulk;
	const struct policy_tenant *ci, *lab;

	(void)state;
	assert_int_equal(parse(full_policy), 0);
	assert_string_equal(err, "");
	assert_int_equal(pol.n_classes, 3);

	def = &pol.classes[0];
	assert_string_equal(def->name, "default");
	/* a block mapping starts at its first key */
	assert_int_equal(def->line, 3);
	assert_int_equal(def->mode, RW_CLASS_OBSERVE);
	assert_int_equal(def->n_ports, 0);
	assert_limit(&def->source.packets, 200, s, 400, 5);
	assert_limit(&def->source.syn, 20, s, 60, 6);
	assert_limit(&def->global.packets, 50000, s, 100000, 8);
	assert_limit(&def->global.syn, 2000, s, 4000, 9);

	inter = &pol.classes[1];
	assert_string_equal(inter->name, "interactive");
	assert_int_equal(inter->line, 11);
	assert_int_equal(inter->mode, RW_CLASS_SHED);
	assert_int_equal(inter->n_ports, 3);
	assert_ports(&inter->ports[0], RW_PROTO_TCP, 443, 443, 12);
	assert_ports(&inter->ports[1], RW_PROTO_TCP, 8000, 8099, 12);
	assert_ports(&inter->ports[2], RW_PROTO_UDP, 53, 53, 12);
	assert_limit(&inter->source.packets, 100, s, 100, 15);
	assert_absent(&inter->source.syn);
	assert_absent(&inter->global.packets);
	assert_absent(&inter->global.syn);

	bulk = &pol.classes[2];
	assert_string_equal(bulk->name, "bulk");
	assert_int_equal(bulk->mode, RW_CLASS_ENFORCE);
	assert_int_equal(bulk->n_ports, 2);
	/* udp/443 is not tcp/443: no overlap */
	assert_ports(&bulk->ports[0], RW_PROTO_TCP, 873, 873, 18);
	assert_ports(&bulk->ports[1], RW_PROTO_UDP, 443, 443, 19);
	assert_absent(&bulk->source.packets);
	assert_limit(&bulk->global.syn, 600, m, 5, 21);

	assert_int_equal(pol.n_tenants, 2);
	ci = &pol.tenants[0];
	assert_string_equal(ci->name, "ci-fleet");
	assert_int_equal(ci->line, 23);
	assert_int_equal(ci->n_cidrs, 2);
	assert_cidr(&ci->cidrs[0], 4, "198.18.10.0", 24, 24);
	assert_cidr(&ci->cidrs[1], 6, "2001:db8:10::", 48, 24);
	assert_limit(&ci->all.packets, 2000, s, 4000, 25);
	assert_limit(&ci->all.syn, 20, s, 60, 26);
	/* per-class limits sit at the class's id, whatever order the tenant names them in */
	assert_limit(&ci->per_class[2].packets, 90, m, 2, 29);
	assert_absent(&ci->per_class[2].syn);
	assert_limit(&ci->per_class[0].syn, 7200, h, 9, 31);
	assert_absent(&ci->per_class[1].packets);
	assert_absent(&ci->per_class[1].syn);

	lab = &pol.tenants[1];
	assert_string_equal(lab->name, "lab_2");
	assert_int_equal(lab->n_cidrs, 1);
	assert_cidr(&lab->cidrs[0], 4, "198.18.20.0", 24, 33);
	assert_absent(&lab->all.packets);

	assert_int_equal(pol.n_allow, 3);
	assert_cidr(&pol.allow[0], 4, "198.18.0.10", 32, 34);
	assert_cidr(&pol.allow[1], 6, "2001:db8::10", 128, 34);
	assert_cidr(&pol.allow[2], 4, "0.0.0.0", 0, 34);
	assert_int_equal(pol.n_deny, 1);
	assert_cidr(&pol.deny[0], 4, "198.19.255.0", 24, 35);

	assert_int_equal(policy_class_id(&pol, "default"), 0);
	assert_int_equal(policy_class_id(&pol, "interactive"), 1);
	assert_int_equal(policy_class_id(&pol, "bulk"), 2);
	assert_int_equal(policy_class_id(&pol, "nope"), -1);
	policy_free(&pol);
	assert_policy_empty(&pol);
}

static void empty_mapping_is_just_the_default_class(void **state)
{
	(void)state;
	assert_int_equal(parse("classes: []\ntenants: []\nallow: []\n"), 0);
	assert_int_equal(pol.n_classes, 1);
	assert_string_equal(pol.classes[0].name, "default");
	assert_int_equal(pol.classes[0].mode, RW_CLASS_ENFORCE);
	assert_absent(&pol.classes[0].source.packets);
	assert_int_equal(pol.n_tenants, 0);
	assert_int_equal(pol.n_allow, 0);
	policy_free(&pol);
}

/* Parses one default-class packets bucket. */
static int parse_bucket(const char *bucket)
{
	char text[256];

	snprintf(text, sizeof(text), "default:\n  source:\n    packets: %s\n", bucket);
	return parse(text);
}

static void rate_units_and_default_burst(void **state)
{
	static const struct {
		const char *bucket;
		uint64_t count, period_s, burst;
	} cases[] = {
		{ "{ rate: 200/s }", 200, 1, 200 },
		{ "{ rate: 90/m }", 90, 60, 2 },     /* 1.5/s rounds up */
		{ "{ rate: 120/min }", 120, 60, 2 },
		{ "{ rate: 7200/h }", 7200, 3600, 2 },
		{ "{ rate: 210/h }", 210, 3600, 1 }, /* the slowest: one per 17.1 s */
		{ "{ rate: 4/m }", 4, 60, 1 },       /* under one a second: at least 1 */
		{ "{ rate: 100000000/s }", 100000000, 1, 10000000 }, /* capped at RW_BURST_MAX */
		{ "{ rate: 6000000000/m }", 6000000000ULL, 60, 10000000 },
		{ "{ rate: 5/s, burst: 1 }", 5, 1, 1 },
		{ "{ rate: \"5/s\", burst: 10000000 }", 5, 1, 10000000 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse_bucket(cases[i].bucket);

		if (rc)
			print_error("%s: %s\n", cases[i].bucket, err);
		assert_int_equal(rc, 0);
		assert_limit(&pol.classes[0].source.packets, cases[i].count,
			     cases[i].period_s * 1000000000ULL, cases[i].burst, 3);
		policy_free(&pol);
	}
}

static void yaml_syntax_error_gives_libyamls_problem_and_line(void **state)
{
	(void)state;
	expect_error("classes: [tcp/80\ntenants: []\n", "p.yaml:2: ",
		     "YAML syntax error: did not find expected ',' or ']'");
	expect_error("a: b: c\n", "p.yaml:1: ",
		     "YAML syntax error: mapping values are not allowed");
	expect_error("allow: [10.0.0.0/8]\n\xff\n", "p.yaml:2: ", "YAML cannot read the text");
}

static void top_level_must_be_one_mapping(void **state)
{
	(void)state;
	expect_error("", "p.yaml:1: ", "the policy is empty");
	expect_error("# only a comment\n\n", "p.yaml:1: ", "the policy is empty");
	expect_error("- classes\n", "p.yaml:1: ", "must be a mapping with keys like classes:");
	expect_error("just words\n", "p.yaml:1: ", "not \"just words\"");
	expect_error("---\n", "p.yaml:1: ", "not an empty value");
	expect_error("allow: []\n---\ndeny: []\n", "p.yaml:2: ", "a second YAML document");
}

static void unknown_keys_are_named_with_the_valid_ones(void **state)
{
	(void)state;
	expect_error("version: 1\nclases: []\n", "p.yaml:2: ",
		     "unknown key \"clases\" in the policy; valid keys: version, default, classes, tenants, allow, deny");
	expect_error("classes:\n  - name: web\n    ports: [tcp/80]\n    port: [tcp/81]\n",
		     "p.yaml:4: ",
		     "unknown key \"port\" in a class; valid keys: name, ports, mode, source, global");
	expect_error("default:\n  source:\n    packets: { rate: 1/s, brust: 5 }\n", "p.yaml:3: ",
		     "unknown key \"brust\" in the packets bucket; valid keys: rate, burst");
	expect_error("default:\n  global:\n    pkts: { rate: 1/s }\n", "p.yaml:3: ",
		     "unknown key \"pkts\" in global; valid keys: packets, syn");
	expect_error("tenants:\n  - name: t\n    cidrs: [10.0.0.0/8]\n    cidr: [10.1.0.0/16]\n",
		     "p.yaml:4: ", "unknown key \"cidr\" in a tenant");
}

static void duplicate_keys(void **state)
{
	(void)state;
	expect_error("allow: []\ndeny: []\nallow: []\n", "p.yaml:3: ",
		     "duplicate key \"allow\" (first at line 1)");
	expect_error("default:\n  mode: shed\n  mode: observe\n", "p.yaml:3: ",
		     "duplicate key \"mode\" (first at line 2)");
	expect_error("classes:\n  - name: web\n    ports: [tcp/80]\n"
		     "tenants:\n  - name: t\n    cidrs: [10.0.0.0/8]\n    classes:\n"
		     "      web: { syn: { rate: 1/s } }\n      web: { syn: { rate: 2/s } }\n",
		     "p.yaml:9: ", "duplicate key \"web\" (first at line 8)");
}

static void wrong_node_types(void **state)
{
	(void)state;
	expect_error("classes: 5\n", "p.yaml:1: ", "classes must be a sequence, not \"5\"");
	expect_error("classes:\n  - name: web\n    ports: tcp/80\n", "p.yaml:3: ",
		     "ports must be a sequence, not \"tcp/80\"");
	expect_error("default:\n  source:\n    packets: 200/s\n", "p.yaml:3: ",
		     "the packets bucket must be a mapping, not \"200/s\"");
	expect_error("default:\n", "p.yaml:1: ", "default must be a mapping, not an empty value");
	expect_error("classes:\n  - web\n", "p.yaml:2: ", "a class must be a mapping, not \"web\"");
	expect_error("deny: [[10.0.0.0/8]]\n", "p.yaml:1: ",
		     "a CIDR must be a single value, not a sequence");
	expect_error("default:\n  mode: [shed]\n", "p.yaml:2: ",
		     "mode must be a single value, not a sequence");
}

static void bad_version(void **state)
{
	(void)state;
	expect_error("version: 2\n", "p.yaml:1: ", "version \"2\" is not supported");
	expect_error("version: one\n", "p.yaml:1: ", "version \"one\" is not supported");
	expect_error("version: {}\n", "p.yaml:1: ", "version must be a single value");
}

static void missing_required_keys(void **state)
{
	(void)state;
	expect_error("classes:\n  - ports: [tcp/80]\n", "p.yaml:2: ", "a class needs a name");
	expect_error("classes:\n  - name: web\n    mode: shed\n", "p.yaml:2: ",
		     "class \"web\" needs ports");
	expect_error("classes:\n  - name: web\n    ports: []\n", "p.yaml:3: ",
		     "ports must list at least one port");
	expect_error("tenants:\n  - name: t\n", "p.yaml:2: ", "tenant \"t\" needs cidrs");
	expect_error("tenants:\n  - name: t\n    cidrs: []\n", "p.yaml:3: ",
		     "cidrs must list at least one CIDR");
	expect_error("tenants:\n  - cidrs: [10.0.0.0/8]\n", "p.yaml:2: ", "a tenant needs a name");
	expect_error("default:\n  global:\n    syn: { burst: 5 }\n", "p.yaml:3: ",
		     "the syn bucket needs a rate");
}

static void bad_names(void **state)
{
	(void)state;
	expect_error("classes:\n  - name: Web\n    ports: [tcp/80]\n", "p.yaml:2: ",
		     "class name \"Web\" must start with a letter");
	expect_error("classes:\n  - name: 9web\n    ports: [tcp/80]\n", "p.yaml:2: ",
		     "class name \"9web\" must start with a letter");
	expect_error("classes:\n  - name: web.api\n    ports: [tcp/80]\n", "p.yaml:2: ",
		     "class name \"web.api\" may hold only a-z, 0-9, '_' and '-'");
	expect_error("classes:\n  - name: abcdefghijabcdefghijabcdefghij-x\n    ports: [tcp/80]\n",
		     "p.yaml:2: ",
		     "class name \"abcdefghijabcdefghijabcdefghij-x\" is longer than 31 bytes");
	expect_error("classes:\n  - name: \"\"\n    ports: [tcp/80]\n", "p.yaml:2: ",
		     "a class name cannot be empty");
	expect_error("classes:\n  - name: default\n    ports: [tcp/80]\n", "p.yaml:2: ",
		     "class name \"default\" is taken by the default class");
	expect_error("tenants:\n  - name: Team A\n    cidrs: [10.0.0.0/8]\n", "p.yaml:2: ",
		     "tenant name \"Team A\" must start with a letter");
	expect_error("classes:\n  - name: \"a\\0b\"\n    ports: [tcp/80]\n", "p.yaml:2: ",
		     "name holds a NUL byte");
}

static void duplicate_names(void **state)
{
	(void)state;
	expect_error("classes:\n  - name: web\n    ports: [tcp/80]\n"
		     "  - name: web\n    ports: [tcp/81]\n",
		     "p.yaml:4: ", "class name \"web\" is used twice (first at line 2)");
	expect_error("tenants:\n  - name: t\n    cidrs: [10.0.0.0/8]\n"
		     "  - name: t\n    cidrs: [10.1.0.0/16]\n",
		     "p.yaml:4: ", "tenant name \"t\" is used twice (first at line 2)");
}

static void too_many_classes_and_tenants(void **state)
{
	size_t cap = 64 * 1024;
	char *text = malloc(cap);
	size_t n;

	(void)state;
	assert_non_null(text);
	/* 15 classes fit; the 16th (line 2 + 15 * 2) does not */
	n = (size_t)snprintf(text, cap, "classes:\n");
	for (int i = 0; i < 16; i++)
		n += (size_t)snprintf(text + n, cap - n, "  - name: c%d\n    ports: [tcp/%d]\n", i,
				      i + 1);
	expect_error(text, "p.yaml:32: ", "too many classes: at most 15 besides the default class");

	/* 1023 tenants fit; the 1024th (line 1 + 1023 + 1) does not */
	n = (size_t)snprintf(text, cap, "tenants:\n");
	for (int i = 0; i < 1024; i++)
		n += (size_t)snprintf(text + n, cap - n,
				      "  - { name: t%d, cidrs: [10.%d.%d.0/24] }\n", i, i / 256,
				      i % 256);
	expect_error(text, "p.yaml:1025: ", "too many tenants: at most 1023");
	free(text);
}

static void bad_rates(void **state)
{
	(void)state;
	expect_error("default:\n  source:\n    packets: { rate: 20 }\n", "p.yaml:3: ",
		     "rate \"20\" has no unit; write 20/s, 20/m or 20/h");
	expect_error("default:\n  source:\n    packets: { rate: 20/d }\n", "p.yaml:3: ",
		     "rate \"20/d\" has an unknown unit");
	expect_error("default:\n  source:\n    packets: { rate: 0/s }\n", "p.yaml:3: ",
		     "rate \"0/s\" must be more than 0");
	expect_error("default:\n  source:\n    packets: { rate: fast/s }\n", "p.yaml:3: ",
		     "rate \"fast/s\" is not a count per period");
	expect_error("default:\n  source:\n    packets: { rate: -5/s }\n", "p.yaml:3: ",
		     "rate \"-5/s\" is not a count per period");
	expect_error("default:\n  source:\n    packets: { rate: 1.5/s }\n", "p.yaml:3: ",
		     "rate \"1.5/s\" is not a count per period");
	expect_error("default:\n  source:\n    packets: { rate: 100000001/s }\n", "p.yaml:3: ",
		     "rate 100000001/s is faster than ratewall can keep (at most 100000000/s)");
	expect_error("default:\n  source:\n    packets: { rate: 99999999999999999999999/h }\n",
		     "p.yaml:3: ", "is faster than ratewall can keep");
	expect_error("default:\n  source:\n    packets: { rate: 1/m }\n", "p.yaml:3: ",
		     "rate 1/m is slower than ratewall can keep (at least 1 per 17 s)");
	expect_error("default:\n  source:\n    packets: { rate: 209/h }\n", "p.yaml:3: ",
		     "rate 209/h is slower than ratewall can keep");
}

static void bad_bursts(void **state)
{
	(void)state;
	expect_error("default:\n  source:\n    packets: { rate: 1/s, burst: 0 }\n", "p.yaml:3: ",
		     "burst \"0\" must be a whole number from 1 to 10000000");
	expect_error("default:\n  source:\n    packets:\n      rate: 1/s\n      burst: -3\n",
		     "p.yaml:5: ", "burst \"-3\" must be a whole number");
	expect_error("default:\n  source:\n    packets: { rate: 1/s, burst: lots }\n",
		     "p.yaml:3: ", "burst \"lots\" must be a whole number");
	expect_error("default:\n  source:\n    packets: { rate: 1/s, burst: 10000001 }\n",
		     "p.yaml:3: ", "burst \"10000001\" must be a whole number from 1 to 10000000");
	/* 10^7 packets at 4 a minute would take 4.75 years to refill: the TAT
	 * could wrap 64 bits within the uptime of a real machine. */
	expect_error("default:\n  source:\n    packets: { rate: 4/m, burst: 10000000 }\n",
		     "p.yaml:3: ", "burst 10000000 at rate 4/m takes more than 208 days to refill");
}

static void bad_mode(void **state)
{
	(void)state;
	expect_error("classes:\n  - name: web\n    ports: [tcp/80]\n    mode: Enforce\n",
		     "p.yaml:4: ", "mode \"Enforce\" is not one of enforce, observe, shed");
}

static void connection_caps_and_settings(void **state)
{
	(void)state;
	assert_int_equal(parse("classes:\n"
			       "  - name: web\n"
			       "    ports: [tcp/80]\n"
			       "    source: { connections: 8 }\n"
			       "    global: { connections: 500 }\n"
			       "default:\n"
			       "  global: { connections: 1000000 }\n"
			       "connections:\n"
			       "  table: 1024\n"
			       "  cgroup: /sys/fs/cgroup/gateway\n"),
			 0);
	assert_int_equal(pol.classes[1].source.connections, 8);
	assert_int_equal(pol.classes[1].source.connections_line, 4);
	assert_int_equal(pol.classes[1].global.connections, 500);
	assert_int_equal(pol.classes[0].source.connections, 0);
	assert_int_equal(pol.classes[0].global.connections, 1000000);
	assert_int_equal(pol.conn_table, 1024);
	assert_string_equal(pol.cgroup, "/sys/fs/cgroup/gateway");
	policy_free(&pol);

	/* Absent: no caps, and attach decides the table and the cgroup. */
	assert_int_equal(parse("classes:\n  - name: web\n    ports: [tcp/80]\n"), 0);
	assert_int_equal(pol.classes[1].source.connections, 0);
	assert_int_equal(pol.conn_table, 0);
	assert_string_equal(pol.cgroup, "");
	policy_free(&pol);
}

static void bad_connection_settings(void **state)
{
	static const struct {
		const char *text, *where, *message;
	} cases[] = {
		{ "default:\n  source: { connections: 0 }\n", "p.yaml:2: ",
		  "connections \"0\" must be a whole number from 1 to 1000000" },
		{ "default:\n  global: { connections: 1000001 }\n", "p.yaml:2: ",
		  "connections \"1000001\" must be a whole number from 1 to 1000000" },
		{ "default:\n  source: { connections: 8/s }\n", "p.yaml:2: ",
		  "connections \"8/s\" must be a whole number" },
		{ "default:\n  source:\n    connections: [8]\n", "p.yaml:3: ",
		  "connections must be" },
		{ "connections:\n  table: 63\n", "p.yaml:2: ",
		  "connection table size \"63\" must be a whole number from 64 to 16777216" },
		{ "connections:\n  cgroup: gateway\n", "p.yaml:2: ",
		  "cgroup \"gateway\" must be an absolute path" },
		{ "connections:\n  size: 10\n", "p.yaml:2: ", "size" },
		{ "tenants:\n  - name: t\n    cidrs: [198.18.0.0/24]\n    connections: 3\n",
		  "p.yaml:4: ", "connections" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].text, cases[i].where, cases[i].message);
}

static void events_settings(void **state)
{
	static const struct {
		const char *interval;
		uint32_t ms;
	} ok[] = {
		{ "500ms", 500 },  { "1s", 1000 },      { "2m", 120000 },  { "100ms", 100 },
		{ "1500ms", 1500 }, { "3600s", 3600000 }, { "60m", 3600000 },
	};
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "events:\n  interval: %s\n", ok[i].interval);
		if (parse(text))
			print_error("%s refused:\n%s\n", ok[i].interval, err);
		assert_int_equal(parse(text), 0);
		assert_int_equal(pol.event_interval_ms, ok[i].ms);
		assert_int_equal(pol.client_id, POLICY_CLIENT_ADDRESS);
		assert_string_equal(pol.client_key, "");
		policy_free(&pol);
	}
	assert_int_equal(parse("version: 1\n"
			       "events:\n"
			       "  interval: 2m\n"
			       "  client_id: hashed\n"
			       "  client_key: /etc/ratewall/client.key\n"),
			 0);
	assert_int_equal(pol.event_interval_ms, 120000);
	assert_int_equal(pol.client_id, POLICY_CLIENT_HASHED);
	assert_string_equal(pol.client_key, "/etc/ratewall/client.key");
	policy_free(&pol);
	assert_int_equal(parse("events: { client_id: address }\n"), 0);
	assert_int_equal(pol.event_interval_ms, 0);
	assert_int_equal(pol.client_id, POLICY_CLIENT_ADDRESS);
	policy_free(&pol);
	/* off: no events at all */
	assert_int_equal(parse("events:\n  interval: off\n"), 0);
	assert_true(pol.events_off);
	assert_int_equal(pol.event_interval_ms, 0);
	policy_free(&pol);
	/* absent, or empty: nothing set, the attach default applies */
	assert_int_equal(parse("events: {}\n"), 0);
	assert_false(pol.events_off);
	assert_int_equal(pol.event_interval_ms, 0);
	assert_int_equal(pol.client_id, POLICY_CLIENT_ADDRESS);
	assert_string_equal(pol.client_key, "");
	policy_free(&pol);
	assert_int_equal(parse("allow: []\n"), 0);
	assert_int_equal(pol.event_interval_ms, 0);
	assert_int_equal(pol.client_id, POLICY_CLIENT_ADDRESS);
	policy_free(&pol);
}

static void bad_events_settings(void **state)
{
	static const char *const bad_intervals[] = { "50ms", "99ms", "2h", "1", "s", "-1s",
						     "61m", "3601s", "1.5s", "0ms", "ms",
						     "1 s", "1S", "99999999999999999999ms" };
	static const struct {
		const char *text, *where, *message;
	} cases[] = {
		{ "events:\n  client_id: hashed\n", "p.yaml:2: ",
		  "client_id hashed needs client_key" },
		{ "events:\n  interval: 1s\n  client_key: /etc/k\n", "p.yaml:3: ",
		  "client_key is only used with client_id: hashed" },
		{ "events:\n  client_id: address\n  client_key: /etc/k\n", "p.yaml:3: ",
		  "client_key is only used with client_id: hashed" },
		{ "events:\n  client_id: hashed\n  client_key: keys/client.key\n", "p.yaml:3: ",
		  "client_key \"keys/client.key\" must be an absolute path" },
		{ "events:\n  client_id: anonymous\n", "p.yaml:2: ",
		  "client_id \"anonymous\" must be address or hashed" },
		{ "events:\n  interval: 1s\n  intervals: 2s\n", "p.yaml:3: ",
		  "unknown key \"intervals\" in events; valid keys: interval, client_id, client_key" },
		{ "events: 1s\n", "p.yaml:1: ", "events must be" },
		{ "events:\n  interval: [1s]\n", "p.yaml:2: ", "interval must be" },
	};
	char text[256], want[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_intervals) / sizeof(bad_intervals[0]); i++) {
		snprintf(text, sizeof(text), "version: 1\nevents:\n  interval: \"%s\"\n",
			 bad_intervals[i]);
		snprintf(want, sizeof(want), "interval \"%s\" must be ", bad_intervals[i]);
		expect_error(text, "p.yaml:3: ", want);
		expect_error(text, "p.yaml:3: ", "a duration like 500ms, 1s or 2m, from 100ms to 60m");
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].text, cases[i].where, cases[i].message);
}

static const char control_policy[] =
	"classes:\n"
	"  - name: api\n"
	"    ports: [tcp/8080]\n"
	"    global: { syn: { rate: 200/s, burst: 20 } }\n"
	"    adaptive: { floor: 10%, ceiling: 300%, shed: true }\n"
	"  - name: web\n"
	"    ports: [tcp/443]\n"
	"    source: { packets: { rate: 100/s } }\n"
	"control:\n"
	"  controller: step\n"
	"  interval: 250ms\n"
	"  objective: 200ms\n"
	"  health: { url: http://198.18.0.1:8081/healthz, timeout: 100ms, fail_after: 3, recover_after: 5 }\n"
	"  metrics:\n"
	"    url: http://198.18.0.1:8081/metrics\n"
	"    latency: gw_request_duration_seconds\n"
	"    quantile: 0.99\n"
	"    requests: gw_requests_total\n"
	"  error_ratio: 2.5%\n"
	"  cpu_high: 90%\n"
	"  cpu_for: 1s\n"
	"  netns: /run/netns/gw\n"
	"  step: { fast: 100ms, slow: 400ms, up: 1.5, down: 0.6, error_cut: 0.4, latency_every: 2s, errors_every: 4s }\n";

static void control_settings(void **state)
{
	const struct policy_control *pc = &pol.control;
	struct control_policy law;

	(void)state;
	assert_int_equal(parse(control_policy), 0);
	assert_true(pc->present);
	assert_int_equal(pc->law.kind, CONTROLLER_STEP);
	assert_int_equal(pc->law.interval_ms, 250);
	assert_true(pc->law.objective_ms == 200);
	assert_true(pc->law.shed_latency_ms == 800); /* 4 x the objective unless written */
	assert_string_equal(pc->health_url, "http://198.18.0.1:8081/healthz");
	assert_int_equal(pc->health_timeout_ms, 100);
	assert_int_equal(pc->law.fail_after, 3);
	assert_int_equal(pc->law.recover_after, 5);
	assert_string_equal(pc->metrics_url, "http://198.18.0.1:8081/metrics");
	assert_int_equal(pc->metrics_timeout_ms, 100); /* 2/5 of the interval */
	assert_string_equal(pc->latency_metric, "gw_request_duration_seconds");
	assert_true(pc->quantile == 0.99);
	assert_string_equal(pc->requests_metric, "gw_requests_total");
	assert_true(pc->law.error_ratio == 0.025);
	assert_true(pc->law.cpu_high == 0.9);
	assert_int_equal(pc->law.cpu_high_samples, 4); /* 1 s of 250 ms samples */
	assert_string_equal(pc->netns, "/run/netns/gw");
	assert_true(pc->law.step.fast_ms == 100 && pc->law.step.slow_ms == 400);
	assert_true(pc->law.step.up == 1.5 && pc->law.step.down == 0.6 && pc->law.step.error_cut == 0.4);
	assert_int_equal(pc->law.step.latency_every_ms, 2000);
	assert_int_equal(pc->law.step.errors_every_ms, 4000);
	policy_control_law(&pol, &law);
	assert_int_equal(law.n_classes, 3);
	assert_false(law.classes[0].adaptive);
	assert_true(law.classes[1].adaptive);
	assert_true(law.classes[1].floor == 0.1 && law.classes[1].ceiling == 3.0 && law.classes[1].shed);
	assert_false(law.classes[2].adaptive);
	policy_free(&pol);

	/* the smallest control section: the gradient and every default */
	assert_int_equal(parse("control: {}\n"), 0);
	assert_true(pol.control.present);
	assert_int_equal(pol.control.law.kind, CONTROLLER_GRADIENT);
	assert_int_equal(pol.control.law.interval_ms, 500);
	assert_true(pol.control.law.objective_ms == 0 && pol.control.law.shed_latency_ms == 0);
	assert_int_equal(pol.control.law.fail_after, 2);
	assert_int_equal(pol.control.law.recover_after, 4);
	assert_true(pol.control.law.cpu_high == 0.8);
	assert_int_equal(pol.control.law.cpu_high_samples, 4);
	assert_true(pol.control.law.step.up == 1.2 && pol.control.law.step.down == 0.7);
	policy_free(&pol);
	assert_int_equal(parse("control: { objective: 100ms, shed_latency: off, cpu_high: off }\n"), 0);
	assert_true(pol.control.law.shed_latency_ms == 0 && pol.control.law.cpu_high == 0);
	policy_free(&pol);
	/* an interval past the seeds' 5 s: their periods, unwritten, follow it */
	assert_int_equal(parse("control: { interval: 6s }\n"), 0);
	assert_int_equal(pol.control.law.step.latency_every_ms, 6000);
	assert_int_equal(pol.control.law.step.errors_every_ms, 10000);
	policy_free(&pol);
	/* the derived shed latency stays within what a duration may be */
	assert_int_equal(parse("control: { objective: 10m }\n"), 0);
	assert_true(pol.control.law.shed_latency_ms == 600000);
	policy_free(&pol);
	/* no control section: the loop is off and no class adapts */
	assert_int_equal(parse("classes: [{ name: a, ports: [tcp/1], global: { syn: { rate: 1/s } } }]\n"), 0);
	assert_false(pol.control.present);
	assert_false(pol.classes[1].adaptive.adaptive);
	policy_free(&pol);
}

static void quota_settings_and_shared_buckets(void **state)
{
	struct policy_quota_bucket b[8];

	(void)state;
	assert_int_equal(parse("classes:\n  - name: api\n    ports: [udp/9000]\n"
			       "    source: { packets: { rate: 10/s, scope: local } }\n"
			       "    global:\n      packets: { rate: 3000/s, burst: 300, scope: global }\n"
			       "      syn: { rate: 100/s }\n"
			       "tenants:\n  - name: ci\n    cidrs: [198.18.10.0/24]\n"
			       "    syn: { rate: 20/s, scope: global }\n"
			       "    classes: { api: { packets: { rate: 5/s, scope: global } } }\n"
			       "quota:\n  redis: [redis://198.18.0.1, unix:///run/r.sock]\n"
			       "  password_file: /etc/rw/pass\n"), 0);
	assert_true(pol.classes[1].global.packets.shared);
	assert_false(pol.classes[1].global.syn.shared);
	assert_false(pol.classes[1].source.packets.shared);
	assert_true(pol.tenants[0].all.syn.shared);
	/* defaults resolved */
	assert_true(pol.quota.present);
	assert_int_equal(pol.quota.n_redis, 2);
	assert_string_equal(pol.quota.prefix, "ratewall:");
	assert_string_equal(pol.quota.fleet, "default");
	assert_int_equal(pol.quota.sync_ms, 100);
	assert_int_equal(pol.quota.timeout_ms, 50);
	assert_int_equal(pol.quota.lease_ms, 1000);
	assert_true(pol.quota.safe_share == 0.2);
	/* names and ids: classes first, then tenants, each packets before syn */
	assert_int_equal(policy_quota_buckets(&pol, b, 8), 3);
	assert_string_equal(b[0].name, "class/api/packets");
	assert_string_equal(b[1].name, "tenant/ci/syn");
	assert_string_equal(b[2].name, "tenant/ci/api/packets");
	assert_int_equal(b[2].tenant, 0);
	assert_int_equal(b[2].class_id, 1);
	assert_false(b[2].syn);
	assert_int_equal(policy_quota_buckets(&pol, NULL, 0), 3);
	policy_free(&pol);
	/* a long sync lengthens the default lease to three syncs */
	assert_int_equal(parse("quota: { redis: redis://r:1, sync: 2s }\n"), 0);
	assert_int_equal(pol.quota.lease_ms, 6000);
	assert_int_equal(pol.quota.n_redis, 1);
	policy_free(&pol);
}

static void bad_quota_settings(void **state)
{
	static const struct {
		const char *text, *where, *message;
	} cases[] = {
		{ "quota: {}\n", "p.yaml:1: ", "quota needs redis: the store the fleet shares" },
		{ "quota: { redis: http://r }\n", "p.yaml:1: ",
		  "Redis address \"http://r\": a Redis address is written redis://HOST:PORT or unix:///PATH" },
		{ "quota: { redis: \"redis://:secret@r\" }\n", "p.yaml:1: ",
		  "credentials do not go in the address" },
		{ "quota: { redis: rediss://r }\n", "p.yaml:1: ", "TLS is not available" },
		{ "quota: { redis: redis://r:0 }\n", "p.yaml:1: ", "the port must be a number from 1 to 65535" },
		{ "quota: { redis: \"redis://[2001:db8::1\" }\n", "p.yaml:1: ", "in brackets" },
		{ "quota: { redis: unix://run/r.sock }\n", "p.yaml:1: ", "unix:///PATH, with an absolute path" },
		{ "quota: { redis: [] }\n", "p.yaml:1: ", "quota redis must list at least one server" },
		{ "quota:\n  redis: redis://r\n  fleet: \"a{b}\"\n", "p.yaml:3: ",
		  "quota fleet \"a{b}\" must be 1 to 63 printable characters without spaces or braces" },
		{ "quota:\n  redis: redis://r\n  password_file: pass\n", "p.yaml:3: ",
		  "quota password_file \"pass\" must be an absolute path" },
		{ "quota:\n  redis: redis://r\n  sync: 5ms\n", "p.yaml:3: ",
		  "quota sync \"5ms\" must be a duration like 250ms or 2s, from 10ms to 10000ms" },
		{ "quota:\n  redis: redis://r\n  timeout: 100ms\n", "p.yaml:3: ",
		  "quota timeout 100ms must be shorter than the sync interval 100ms" },
		{ "quota:\n  redis: redis://r\n  lease: 150ms\n", "p.yaml:3: ",
		  "quota lease 150ms must be at least two sync intervals (200ms)" },
		{ "quota:\n  redis: redis://r\n  safe_share: 0%\n", "p.yaml:3: ",
		  "quota safe_share \"0%\" must be a percentage from 0.01% to 100%" },
		{ "quota:\n  redis: redis://r\n  servers: []\n", "p.yaml:3: ", "unknown key \"servers\" in quota" },
		{ "classes:\n  - name: a\n    ports: [udp/1]\n    source: { packets: { rate: 1/s, scope: global } }\n",
		  "p.yaml:4: ", "per-source buckets stay on each gateway" },
		{ "classes:\n  - name: a\n    ports: [udp/1]\n    global: { packets: { rate: 1/s, scope: fleet } }\n",
		  "p.yaml:4: ", "scope \"fleet\" must be local or global" },
		{ "classes:\n  - name: a\n    ports: [udp/1]\n    global: { packets: { rate: 1/s, scope: global } }\n",
		  "p.yaml:4: ", "class/a/packets has scope: global, but the policy has no quota: section" },
		{ "classes:\n  - name: a\n    ports: [udp/1]\n    global: { packets: { rate: 1/s, scope: global } }\n"
		  "    adaptive: { floor: 50% }\ncontrol: {}\nquota: { redis: redis://r }\n",
		  "p.yaml:5: ", "class \"a\" is adaptive and its global: bucket has scope: global" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].text, cases[i].where, cases[i].message);
}

static void bad_control_settings(void **state)
{
	static const char cls[] = "classes:\n  - name: a\n    ports: [tcp/1]\n"
				  "    global: { syn: { rate: 10/s } }\n";
	static const struct {
		const char *text, *where, *message;
	} cases[] = {
		{ "control:\n  controller: pid\n", "p.yaml:2: ",
		  "controller \"pid\" must be gradient, step or off" },
		{ "control:\n  interval: 50ms\n", "p.yaml:2: ",
		  "control interval \"50ms\" must be a duration like 250ms or 2s, from 100ms to 10000ms" },
		{ "control:\n  interval: 1.5s\n", "p.yaml:2: ", "control interval \"1.5s\" must be" },
		{ "control:\n  objective: fast\n", "p.yaml:2: ", "objective \"fast\" must be a duration" },
		{ "control:\n  health: { timeout: 100ms }\n", "p.yaml:2: ", "health needs a url" },
		{ "control:\n  health: { url: ftp://x/ }\n", "p.yaml:2: ",
		  "health url \"ftp://x/\" must be an http:// or https:// URL" },
		{ "control:\n  health: { url: http://a/, fail_after: 0 }\n", "p.yaml:2: ",
		  "fail_after \"0\" must be a whole number from 1 to 100" },
		{ "control:\n  interval: 200ms\n  health: { url: http://a/, timeout: 200ms }\n", "p.yaml:2: ",
		  "health timeout 200ms must be shorter than the interval 200ms" },
		{ "control:\n  metrics: { url: http://a/ }\n", "p.yaml:2: ",
		  "metrics needs latency: (a histogram) or requests:" },
		{ "control:\n  metrics: { url: http://a/, latency: 9lives }\n", "p.yaml:2: ",
		  "latency histogram \"9lives\" must be a Prometheus metric name" },
		{ "control:\n  metrics: { url: http://a/, latency: h, quantile: 1 }\n", "p.yaml:2: ",
		  "quantile \"1\" must be a number strictly between 0 and 1" },
		{ "control:\n  metrics: { url: http://a/, requests: r, quantile: 0.5 }\n", "p.yaml:2: ",
		  "quantile is only used with latency:" },
		{ "control:\n  error_ratio: 5\n", "p.yaml:2: ",
		  "error_ratio \"5\" must be a percentage from 0% to 100% with at most 2 decimals, like 80%" },
		{ "control:\n  error_ratio: 0.001%\n", "p.yaml:2: ",
		  "error_ratio \"0.001%\" must be a percentage" },
		{ "control:\n  metrics: { url: http://a/, latency: h, quantile: 0.99999 }\n", "p.yaml:2: ",
		  "quantile \"0.99999\" must be a number strictly between 0 and 1 with at most 4 decimals" },
		{ "control:\n  step: { up: 1e1 }\n", "p.yaml:2: ", "step up \"1e1\" must be a number" },
		{ "control:\n  cpu_high: 120%\n", "p.yaml:2: ", "cpu_high \"120%\" must be a percentage" },
		{ "control:\n  netns: gw\n", "p.yaml:2: ", "netns \"gw\" must be an absolute path" },
		{ "control:\n  step: { up: 0.9 }\n", "p.yaml:2: ",
		  "step up \"0.9\" must be a number strictly between 1 and 10" },
		{ "control:\n  step: { fast: 300ms, slow: 200ms }\n", "p.yaml:2: ",
		  "step fast (300ms) must be below step slow (200ms)" },
		{ "control:\n  interval: 2s\n  step: { latency_every: 1s }\n", "p.yaml:2: ",
		  "step latency_every 1000ms must be at least the interval 2000ms" },
		{ "control:\n  interval: 2s\n  step: { errors_every: 1500ms }\n", "p.yaml:2: ",
		  "step errors_every 1500ms must be at least the interval 2000ms" },
		{ "control:\n  intervall: 1s\n", "p.yaml:2: ", "unknown key \"intervall\" in control" },
		{ "classes:\n  - name: a\n    ports: [tcp/1]\n    global: { syn: { rate: 10/s } }\n"
		  "    adaptive: { floor: 10% }\n", "p.yaml:5: ",
		  "class \"a\" is adaptive but the policy has no control: section" },
		{ "classes:\n  - name: a\n    ports: [tcp/1]\n    adaptive: { floor: 10% }\ncontrol: {}\n",
		  "p.yaml:4: ", "class \"a\" is adaptive but has no rate to scale and does not shed" },
	};
	static const struct {
		const char *adaptive, *message;
	} bad_adaptive[] = {
		{ "{ floor: 0% }", "adaptive floor \"0%\" must be a percentage from 1% to 100%" },
		{ "{ floor: 120% }", "adaptive floor \"120%\" must be a percentage from 1% to 100%" },
		{ "{ ceiling: 90% }", "adaptive ceiling \"90%\" must be a percentage from 100% to 1000%" },
		{ "{ shed: true }", "adaptive needs a floor or a ceiling" },
		{ "{ floor: 10%, shed: yes }", "adaptive shed must be true or false" },
		{ "{ floor: 10%, flor: 5% }", "unknown key \"flor\" in adaptive" },
	};
	char text[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].text, cases[i].where, cases[i].message);
	for (size_t i = 0; i < sizeof(bad_adaptive) / sizeof(bad_adaptive[0]); i++) {
		snprintf(text, sizeof(text), "%s    adaptive: %s\ncontrol: {}\n", cls, bad_adaptive[i].adaptive);
		expect_error(text, "p.yaml:5: ", bad_adaptive[i].message);
	}
}

static void tenant_mesh_node_id(void **state)
{
	char text[512], id[80];

	(void)state;
	assert_int_equal(parse("tenants:\n"
			       "  - name: a\n"
			       "    cidrs: [198.18.1.0/24]\n"
			       "    mesh_node_id: node-7.eu_west:A\n"
			       "  - name: b\n"
			       "    cidrs: [198.18.2.0/24]\n"),
			 0);
	assert_int_equal(pol.n_tenants, 2);
	assert_string_equal(pol.tenants[0].mesh_node_id, "node-7.eu_west:A");
	assert_string_equal(pol.tenants[1].mesh_node_id, "");
	policy_free(&pol);

	/* 63 characters is the longest */
	memset(id, 'x', 63);
	id[63] = 0;
	snprintf(text, sizeof(text), "tenants:\n  - name: a\n    cidrs: [198.18.1.0/24]\n"
				     "    mesh_node_id: %s\n", id);
	assert_int_equal(parse(text), 0);
	assert_string_equal(pol.tenants[0].mesh_node_id, id);
	policy_free(&pol);

	/* each refused, the message naming the value as written */
	static const struct {
		const char *yaml, *message;
	} bad[] = {
		{ "\"\"", "mesh_node_id \"\" must be 1 to 63 letters, digits or . _ : -" },
		{ "\"node 7\"", "mesh_node_id \"node 7\" must be 1 to 63 letters, digits or . _ : -" },
		{ "node/7", "mesh_node_id \"node/7\" must be 1 to 63 letters, digits or . _ : -" },
		{ "n\\u00e9x", "mesh_node_id \"n\\\\u00e9x\" must be 1 to 63 letters" },
		{ "\"n\\u00e9x\"", "mesh_node_id \"n" }, /* UTF-8 é: not a letter here */
		{ "\"a\\tb\"", "mesh_node_id \"a" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "tenants:\n  - name: a\n    cidrs: [198.18.1.0/24]\n"
					     "    mesh_node_id: %s\n", bad[i].yaml);
		expect_error(text, "p.yaml:4: ", bad[i].message);
	}
	/* 64 characters: one too many */
	memset(id, 'y', 64);
	id[64] = 0;
	snprintf(text, sizeof(text), "tenants:\n  - name: a\n    cidrs: [198.18.1.0/24]\n"
				     "    mesh_node_id: %s\n", id);
	expect_error(text, "p.yaml:4: ", "must be 1 to 63 letters, digits or . _ : -");
	expect_error(text, "p.yaml:4: ", "mesh_node_id \"yyyyyyyyyyyyyyyyyyyy");
}

static void bad_port_specs(void **state)
{
	static const struct {
		const char *spec, *message;
	} cases[] = {
		{ "tcp:80", "port \"tcp:80\" is not PROTO/PORT or PROTO/FIRST-LAST" },
		{ "tcp/", "port \"tcp/\" is not PROTO/PORT" },
		{ "tcp/8-", "port \"tcp/8-\" is not PROTO/PORT" },
		{ "tcp/+80", "port \"tcp/+80\" is not PROTO/PORT" },
		{ "443", "port \"443\" needs a protocol: write tcp/443 or udp/443" },
		{ "sctp/80", "port \"sctp/80\" has an unknown protocol; use tcp or udp" },
		{ "TCP/80", "port \"TCP/80\" has an unknown protocol" },
		{ "tcp/0", "port \"tcp/0\": port 0 cannot be matched" },
		{ "udp/0-10", "port \"udp/0-10\": port 0 cannot be matched" },
		{ "tcp/65536", "port \"tcp/65536\" is out of range: ports are 1 to 65535" },
		{ "tcp/1-99999999999999999999999", "is out of range" },
		{ "tcp/90-80", "port range \"tcp/90-80\" is reversed; write tcp/80-90" },
	};
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "classes:\n  - name: web\n    ports:\n      - %s\n",
			 cases[i].spec);
		expect_error(text, "p.yaml:4: ", cases[i].message);
	}
	assert_int_equal(parse("classes:\n  - name: web\n    ports: [tcp/1-65535, udp/65535]\n"),
			 0);
	assert_ports(&pol.classes[1].ports[0], RW_PROTO_TCP, 1, 65535, 3);
	policy_free(&pol);
}

static void a_port_belongs_to_one_class(void **state)
{
	(void)state;
	expect_error("classes:\n"
		     "  - name: web\n"
		     "    ports: [tcp/80, tcp/8000-8099]\n"
		     "  - name: api\n"
		     "    ports:\n"
		     "      - tcp/8050-8200\n",
		     "p.yaml:6: ",
		     "tcp/8050-8200 in class \"api\" overlaps tcp/8000-8099 of class \"web\" (line 3)");
	expect_error("classes:\n"
		     "  - name: web\n"
		     "    ports: [udp/53]\n"
		     "  - name: dns\n"
		     "    ports: [udp/53]\n",
		     "p.yaml:5: ",
		     "udp/53 in class \"dns\" overlaps udp/53 of class \"web\" (line 3)");
	expect_error("classes:\n"
		     "  - name: web\n"
		     "    ports:\n"
		     "      - tcp/1-1000\n"
		     "      - tcp/443\n",
		     "p.yaml:5: ",
		     "tcp/443 overlaps tcp/1-1000 listed earlier in class \"web\" (line 4)");
}

static void bad_cidrs(void **state)
{
	static const struct {
		const char *cidr, *message;
	} cases[] = {
		{ "10.0.0.0/33", "CIDR \"10.0.0.0/33\" has prefix length 33; IPv4 allows 0 to 32" },
		{ "2001:db8::/129", "CIDR \"2001:db8::/129\" has prefix length 129; IPv6 allows 0 to 128" },
		{ "10.0.0.1", "CIDR \"10.0.0.1\" has no prefix length; write 10.0.0.1/32" },
		{ "2001:db8::1", "CIDR \"2001:db8::1\" has no prefix length; write 2001:db8::1/128" },
		{ "10.0.0.300/24", "\"10.0.0.300/24\" is not an IPv4 or IPv6 CIDR" },
		{ "10.0.0.0/x", "\"10.0.0.0/x\" is not an IPv4 or IPv6 CIDR" },
		{ "10.0.0.0/-8", "\"10.0.0.0/-8\" is not an IPv4 or IPv6 CIDR" },
		{ "example.com/24", "\"example.com/24\" is not an IPv4 or IPv6 CIDR" },
		{ "198.18.0.5/24", "198.18.0.5/24 has host bits set; did you mean 198.18.0.0/24?" },
		{ "2001:db8::1/64", "2001:db8::1/64 has host bits set; did you mean 2001:db8::/64?" },
		{ "::ffff:198.18.0.0/112", "CIDR \"::ffff:198.18.0.0/112\" is an IPv4-mapped IPv6 "
					  "prefix, which no packet carries as its source" },
	};
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "allow: []\ndeny:\n  - %s\n", cases[i].cidr);
		expect_error(text, "p.yaml:3: ", cases[i].message);
	}
}

static void cidrs_listed_twice(void **state)
{
	(void)state;
	expect_error("allow:\n  - 10.0.0.0/8\n  - 10.0.0.0/8\n", "p.yaml:3: ",
		     "CIDR 10.0.0.0/8 is listed twice in allow (first at line 2)");
	expect_error("deny:\n  - 2001:db8::/32\n  - 2001:0db8::/32\n", "p.yaml:3: ",
		     "CIDR 2001:db8::/32 is listed twice in deny (first at line 2)");
	expect_error("deny:\n  - 10.0.0.0/8\nallow:\n  - 10.0.0.0/8\n", "p.yaml:2: ",
		     "CIDR 10.0.0.0/8 is in both allow (line 4) and deny");
	expect_error("tenants:\n"
		     "  - { name: a, cidrs: [10.1.0.0/16] }\n"
		     "  - { name: b, cidrs: [10.2.0.0/16, 10.1.0.0/16] }\n",
		     "p.yaml:3: ",
		     "CIDR 10.1.0.0/16 is in both tenant \"a\" (line 2) and tenant \"b\"");
	expect_error("tenants:\n  - { name: a, cidrs: [10.1.0.0/16, 10.1.0.0/16] }\n",
		     "p.yaml:2: ", "CIDR 10.1.0.0/16 is listed twice in tenant \"a\"");
	/* a tenant's CIDR may also be allowed or denied: the trie entry holds both */
	assert_int_equal(parse("tenants:\n  - { name: a, cidrs: [10.1.0.0/16] }\n"
			       "allow: [10.1.0.0/16]\n"),
			 0);
	policy_free(&pol);
	/* same address, other prefix: a different CIDR */
	assert_int_equal(parse("allow: [10.0.0.0/8]\ndeny: [10.0.0.0/16]\n"), 0);
	policy_free(&pol);
}

static void too_many_cidrs(void **state)
{
	size_t cap = 32 * (RW_MAX_CIDRS + 8);
	char *text = malloc(cap);
	size_t n;

	(void)state;
	assert_non_null(text);
	n = (size_t)snprintf(text, cap, "allow:\n");
	for (int i = 0; i < RW_MAX_CIDRS; i++)
		n += (size_t)snprintf(text + n, cap - n, "  - 10.0.%d.%d/32\n", i / 256, i % 256);
	assert_int_equal(parse(text), 0);
	policy_free(&pol);
	/* one more, in a tenant: CIDRs count across lists (line 1 + 16384 + 2) */
	snprintf(text + n, cap - n, "tenants:\n  - { name: t, cidrs: [10.9.0.0/16] }\n");
	expect_error(text, "p.yaml:16387: ",
		     "too many CIDRs: allow, deny and tenants may hold 16384 together");
	free(text);
}

static void tenant_names_a_class_that_does_not_exist(void **state)
{
	(void)state;
	expect_error("classes:\n  - name: web\n    ports: [tcp/80]\n"
		     "tenants:\n  - name: t\n    cidrs: [10.0.0.0/8]\n    classes:\n"
		     "      wbe: { packets: { rate: 5/s } }\n",
		     "p.yaml:8: ", "tenant \"t\" names class \"wbe\", which does not exist");
}

static void aliases_are_refused(void **state)
{
	(void)state;
	expect_error("allow: &nets [10.0.0.0/8]\ndeny: *nets\n", "p.yaml:1: ",
		     "anchors and aliases are not supported");
	/* an alias inside its own anchor must not send the walk round forever */
	expect_error("allow: &loop [*loop]\n", "p.yaml:1: ",
		     "anchors and aliases are not supported");
}

static void every_error_is_reported_in_line_order(void **state)
{
	(void)state;
	/* the tenants section is checked after classes, but its error is written first */
	expect_error("tenants:\n  - name: T\n    cidrs: [10.0.0.0/8]\n"
		     "classes:\n  - name: web\n    ports: [tcp/0]\n    mode: loud\n",
		     "p.yaml:2: ", "tenant name \"T\"");
	assert_true(has_error("p.yaml:6: ", "port \"tcp/0\""));
	assert_true(has_error("p.yaml:7: ", "mode \"loud\""));
	assert_int_equal(count_lines(err), 3);
	assert_int_equal(strncmp(err, "p.yaml:2: ", 10), 0);
	assert_non_null(strstr(err, "\np.yaml:6: "));
	assert_true(strstr(err, "\np.yaml:6: ") < strstr(err, "\np.yaml:7: "));
	assert_int_not_equal(err[strlen(err) - 1], '\n');
}

static void reporting_stops_after_32_errors(void **state)
{
	char text[4096];
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "deny:\n");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "  - bad%d\n", i);
	expect_error(text, "p.yaml:33: ", "\"bad31\"");
	assert_int_equal(count_lines(err), 33);
	assert_false(has_error("p.yaml:34: ", "bad32"));
	assert_non_null(strstr(err, "\np.yaml: too many errors, stopping"));
	assert_string_equal(strrchr(err, '\n'), "\np.yaml: too many errors, stopping");
}

static void small_error_buffer_is_cut_and_terminated(void **state)
{
	char small[24];
	struct policy p;

	(void)state;
	memset(small, 'x', sizeof(small));
	assert_int_equal(policy_parse_string("p.yaml", "version: 7\n", 11, &p, small,
					     sizeof(small)),
			 -EINVAL);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, "p.yaml:1: version \"7\" i", sizeof(small) - 1);
	assert_policy_empty(&p);
	/* no buffer at all is fine too */
	assert_int_equal(policy_parse_string("p.yaml", "version: 7\n", 11, &p, NULL, 0), -EINVAL);
}

static void error_leaves_nothing_behind(void **state)
{
	(void)state;
	/* everything valid up to the last line, so the parse had allocated plenty */
	char *text = malloc(sizeof(full_policy) + 32);

	assert_non_null(text);
	snprintf(text, sizeof(full_policy) + 32, "%sbogus: 1\n", full_policy);
	memset(&pol, 0xa5, sizeof(pol));
	expect_error(text, "p.yaml:36: ", "unknown key \"bogus\"");
	policy_free(&pol);
	assert_policy_empty(&pol);
	free(text);
}

static void files_are_read_and_named(void **state)
{
	char path[] = "/tmp/rw-policy-XXXXXX";
	int fd = mkstemp(path);
	char want[128];

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "classes:\n  - name: web\n", 23), 23);
	close(fd);
	assert_int_equal(policy_parse_file(path, &pol, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: ", path);
	assert_true(has_error(want, "class \"web\" needs ports"));
	assert_policy_empty(&pol);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, full_policy, strlen(full_policy)), (ssize_t)strlen(full_policy));
	close(fd);
	assert_int_equal(policy_parse_file(path, &pol, err, sizeof(err)), 0);
	assert_int_equal(pol.n_classes, 3);
	policy_free(&pol);

	unlink(path);
	assert_int_equal(policy_parse_file(path, &pol, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot read: %s", path, strerror(ENOENT));
	assert_string_equal(err, want);
	assert_policy_empty(&pol);
	assert_int_equal(policy_parse_file("/", &pol, err, sizeof(err)), -EISDIR);
	assert_string_equal(err, "/: cannot read: Is a directory");
}

static void free_is_safe_on_an_empty_policy(void **state)
{
	struct policy p = { 0 };

	(void)state;
	policy_free(&p);
	policy_free(&p);
	policy_free(NULL);
	assert_int_equal(policy_class_id(&p, "default"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_policy_lands_in_every_field),
		cmocka_unit_test(empty_mapping_is_just_the_default_class),
		cmocka_unit_test(rate_units_and_default_burst),
		cmocka_unit_test(yaml_syntax_error_gives_libyamls_problem_and_line),
		cmocka_unit_test(top_level_must_be_one_mapping),
		cmocka_unit_test(unknown_keys_are_named_with_the_valid_ones),
		cmocka_unit_test(duplicate_keys),
		cmocka_unit_test(wrong_node_types),
		cmocka_unit_test(bad_version),
		cmocka_unit_test(missing_required_keys),
		cmocka_unit_test(bad_names),
		cmocka_unit_test(duplicate_names),
		cmocka_unit_test(too_many_classes_and_tenants),
		cmocka_unit_test(bad_rates),
		cmocka_unit_test(bad_bursts),
		cmocka_unit_test(bad_mode),
		cmocka_unit_test(connection_caps_and_settings),
		cmocka_unit_test(bad_connection_settings),
		cmocka_unit_test(events_settings),
		cmocka_unit_test(bad_events_settings),
		cmocka_unit_test(control_settings),
		cmocka_unit_test(bad_control_settings),
		cmocka_unit_test(tenant_mesh_node_id),
		cmocka_unit_test(bad_port_specs),
		cmocka_unit_test(a_port_belongs_to_one_class),
		cmocka_unit_test(bad_cidrs),
		cmocka_unit_test(cidrs_listed_twice),
		cmocka_unit_test(too_many_cidrs),
		cmocka_unit_test(tenant_names_a_class_that_does_not_exist),
		cmocka_unit_test(aliases_are_refused),
		cmocka_unit_test(every_error_is_reported_in_line_order),
		cmocka_unit_test(reporting_stops_after_32_errors),
		cmocka_unit_test(small_error_buffer_is_cut_and_terminated),
		cmocka_unit_test(quota_settings_and_shared_buckets),
		cmocka_unit_test(bad_quota_settings),
		cmocka_unit_test(error_leaves_nothing_behind),
		cmocka_unit_test(files_are_read_and_named),
		cmocka_unit_test(free_is_safe_on_an_empty_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
