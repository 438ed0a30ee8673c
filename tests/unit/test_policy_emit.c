// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The policy emitter, the parser's inverse: what it writes parses back to
 * the same model (same compiled hash), writing that again gives the same
 * bytes, and the canonical text looks exactly like this.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy.h"
#include "policy_builtin.h"
#include "policy_compile.h"
#include "policy_emit.h"

#define SEC 1000000000ULL

static char err[16384];

static void parse_ok(const char *name, const char *text, struct policy *p)
{
	int rc = policy_parse_string(name, text, strlen(text), p, err, sizeof(err));

	if (rc)
		fail_msg("%s does not parse (%d):\n%s\n--- text:\n%s", name, rc, err, text);
	assert_string_equal(err, "");
}

static void assert_limits_equal(const struct policy_limit *a, const struct policy_limit *b)
{
	assert_int_equal(a->count, b->count);
	assert_int_equal(a->period_ns, b->period_ns);
	assert_int_equal(a->burst, b->burst);
	assert_int_equal(a->shared, b->shared);
}

static void assert_buckets_equal(const struct policy_buckets *a, const struct policy_buckets *b)
{
	assert_limits_equal(&a->packets, &b->packets);
	assert_limits_equal(&a->syn, &b->syn);
	assert_int_equal(a->connections, b->connections);
}

static void assert_cidrs_equal(const struct policy_cidr *a, const struct policy_cidr *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(a[i].family, b[i].family);
		assert_int_equal(a[i].prefix, b[i].prefix);
		assert_memory_equal(a[i].addr, b[i].addr, sizeof(a[i].addr));
	}
}

/* Equal in everything but where things were written (the line fields). */
static void assert_control_equal(const struct policy_control *a, const struct policy_control *b)
{
	const struct control_policy *x = &a->law, *y = &b->law;

	assert_int_equal(a->present, b->present);
	assert_int_equal(x->kind, y->kind);
	assert_int_equal(x->interval_ms, y->interval_ms);
	assert_true(x->objective_ms == y->objective_ms);
	assert_true(x->shed_latency_ms == y->shed_latency_ms);
	assert_int_equal(x->fail_after, y->fail_after);
	assert_int_equal(x->recover_after, y->recover_after);
	assert_true(x->error_ratio == y->error_ratio);
	assert_true(x->cpu_high == y->cpu_high);
	assert_int_equal(x->cpu_high_samples, y->cpu_high_samples);
	assert_memory_equal(&x->step, &y->step, sizeof(x->step));
	assert_string_equal(a->health_url, b->health_url);
	assert_int_equal(a->health_timeout_ms, b->health_timeout_ms);
	assert_string_equal(a->metrics_url, b->metrics_url);
	assert_int_equal(a->metrics_timeout_ms, b->metrics_timeout_ms);
	assert_string_equal(a->latency_metric, b->latency_metric);
	assert_true(a->quantile == b->quantile || !a->latency_metric[0]);
	assert_string_equal(a->requests_metric, b->requests_metric);
	assert_string_equal(a->netns, b->netns);
	assert_int_equal(a->cpu_for_ms, b->cpu_for_ms);
}

static void assert_models_equal(const struct policy *a, const struct policy *b)
{
	assert_int_equal(a->n_classes, b->n_classes);
	for (size_t c = 0; c < a->n_classes; c++) {
		const struct policy_class *x = &a->classes[c], *y = &b->classes[c];

		assert_string_equal(x->name, y->name);
		assert_int_equal(x->mode, y->mode);
		assert_int_equal(x->n_ports, y->n_ports);
		for (size_t i = 0; i < x->n_ports; i++) {
			assert_int_equal(x->ports[i].proto, y->ports[i].proto);
			assert_int_equal(x->ports[i].first, y->ports[i].first);
			assert_int_equal(x->ports[i].last, y->ports[i].last);
		}
		assert_buckets_equal(&x->source, &y->source);
		assert_buckets_equal(&x->global, &y->global);
		assert_int_equal(x->adaptive.adaptive, y->adaptive.adaptive);
		assert_true(x->adaptive.floor == y->adaptive.floor);
		assert_true(x->adaptive.ceiling == y->adaptive.ceiling);
		assert_int_equal(x->adaptive.shed, y->adaptive.shed);
	}
	assert_control_equal(&a->control, &b->control);
	assert_int_equal(a->quota.present, b->quota.present);
	assert_int_equal(a->quota.n_redis, b->quota.n_redis);
	for (size_t i = 0; i < a->quota.n_redis; i++)
		assert_string_equal(a->quota.redis[i], b->quota.redis[i]);
	assert_string_equal(a->quota.username, b->quota.username);
	assert_string_equal(a->quota.password_file, b->quota.password_file);
	assert_string_equal(a->quota.prefix, b->quota.prefix);
	assert_string_equal(a->quota.fleet, b->quota.fleet);
	assert_int_equal(a->quota.sync_ms, b->quota.sync_ms);
	assert_int_equal(a->quota.timeout_ms, b->quota.timeout_ms);
	assert_int_equal(a->quota.lease_ms, b->quota.lease_ms);
	assert_true(a->quota.safe_share == b->quota.safe_share);
	assert_int_equal(a->n_tenants, b->n_tenants);
	for (size_t t = 0; t < a->n_tenants; t++) {
		const struct policy_tenant *x = &a->tenants[t], *y = &b->tenants[t];

		assert_string_equal(x->name, y->name);
		assert_int_equal(x->n_cidrs, y->n_cidrs);
		assert_cidrs_equal(x->cidrs, y->cidrs, x->n_cidrs);
		assert_buckets_equal(&x->all, &y->all);
		for (size_t c = 0; c < RW_MAX_CLASSES; c++)
			assert_buckets_equal(&x->per_class[c], &y->per_class[c]);
		assert_string_equal(x->mesh_node_id, y->mesh_node_id);
	}
	assert_int_equal(a->n_allow, b->n_allow);
	assert_cidrs_equal(a->allow, b->allow, a->n_allow);
	assert_int_equal(a->n_deny, b->n_deny);
	assert_cidrs_equal(a->deny, b->deny, a->n_deny);
	assert_int_equal(a->conn_table, b->conn_table);
	assert_string_equal(a->cgroup, b->cgroup);
	assert_int_equal(a->event_interval_ms, b->event_interval_ms);
	assert_int_equal(a->events_off, b->events_off);
	assert_int_equal(a->client_id, b->client_id);
	assert_string_equal(a->client_key, b->client_key);
}

/* The compiled hash of a model; the image's stored text must be the emitter's. */
static void hash_of(const struct policy *p, const char *emitted, uint8_t hash[32])
{
	struct policy_image *img = policy_image_new(p);

	assert_non_null(img);
	assert_non_null(img->text);
	assert_string_equal(img->text, emitted);
	assert_int_equal(img->text_len, strlen(emitted));
	memcpy(hash, img->policy.hash, 32);
	policy_image_delete(img);
}

/* A document written by the emitter: one document, no markers, ends in a newline. */
static void assert_canonical_shape(const char *text)
{
	size_t len = strlen(text);

	assert_true(len > 0);
	assert_int_equal(text[len - 1], '\n');
	assert_int_equal(strncmp(text, "version: 1\n", 11), 0);
	assert_null(strstr(text, "---"));
	assert_null(strstr(text, "\n...\n"));
	assert_null(strstr(text, "\t"));
}

/*
 * Emits a parsed model and checks the text: it parses with no error to an
 * equal model with an equal hash, and emitting that gives the same bytes.
 * Returns the text (the caller frees it).
 */
static char *round_trip_model(const struct policy *p)
{
	struct policy again;
	uint8_t h1[32], h2[32];
	char *text, *text2;

	text = policy_emit_yaml(p);
	assert_non_null(text);
	assert_canonical_shape(text);
	parse_ok("emitted", text, &again);
	assert_models_equal(p, &again);
	hash_of(p, text, h1);
	text2 = policy_emit_yaml(&again);
	assert_non_null(text2);
	hash_of(&again, text2, h2);
	assert_memory_equal(h1, h2, sizeof(h1));
	if (strcmp(text, text2))
		fail_msg("not a fixed point:\n%s--- then:\n%s", text, text2);
	free(text2);
	policy_free(&again);
	return text;
}

/* The same, from policy text. */
static char *round_trip(const char *yaml)
{
	struct policy p;
	char *text;

	parse_ok("input", yaml, &p);
	text = round_trip_model(&p);
	policy_free(&p);
	return text;
}

static void round_trip_free(const char *yaml)
{
	free(round_trip(yaml));
}

static void the_gateway_example_round_trips(void **state)
{
	/* unit tests run from the repository root (tests/run.sh, the README) */
	const char *path = "examples/gateway-policy.yaml";
	struct policy p;
	char *text;
	int rc;

	(void)state;
	rc = policy_parse_file(path, &p, err, sizeof(err));
	if (rc)
		fail_msg("%s (run from the repository root): %s", path, err);
	text = round_trip_model(&p);
	/* what the comments were around, now as the canonical text says it */
	assert_non_null(strstr(text, "- name: ci_ingest\n  ports: [tcp/8443]\n  mode: observe\n"));
	assert_non_null(strstr(text, "    syn: {rate: 5400/m, burst: 200}\n"));
	assert_non_null(strstr(text, "  ports: [tcp/9443, tcp/9000-9099]\n"));
	assert_non_null(strstr(text, "connections:\n  table: 65536\n"));
	assert_null(strstr(text, "cgroup"));
	free(text);
	policy_free(&p);
}

static void the_fleet_example_round_trips(void **state)
{
	const char *path = "examples/fleet-policy.yaml";
	struct policy p;
	char *text;

	(void)state;
	if (policy_parse_file(path, &p, err, sizeof(err)))
		fail_msg("%s (run from the repository root): %s", path, err);
	assert_true(p.quota.present);
	assert_int_equal(p.quota.n_redis, 2);
	assert_true(p.classes[1].global.syn.shared);
	assert_false(p.classes[1].source.syn.shared);
	text = round_trip_model(&p);
	assert_non_null(strstr(text, "    syn: {rate: 600/s, burst: 120, scope: global}\n"));
	assert_non_null(strstr(text, "quota:\n  redis:\n  - redis://198.18.0.1:6379\n"));
	free(text);
	policy_free(&p);
}

static void the_adaptive_example_round_trips(void **state)
{
	const char *path = "examples/adaptive-policy.yaml";
	struct policy p;
	char *text;

	(void)state;
	if (policy_parse_file(path, &p, err, sizeof(err)))
		fail_msg("%s (run from the repository root): %s", path, err);
	assert_true(p.control.present);
	assert_true(p.classes[1].adaptive.adaptive && p.classes[1].adaptive.shed);
	assert_false(p.classes[2].adaptive.adaptive);
	text = round_trip_model(&p);
	assert_non_null(strstr(text, "  adaptive: {floor: 20%, ceiling: 200%, shed: true}\n"));
	assert_non_null(strstr(text, "control:\n  controller: gradient\n  interval: 500ms\n"));
	free(text);
	policy_free(&p);
}

/* Every bucket of every scope, each written in another unit. */
static const char every_bucket[] =
	"default:\n"
	"  source:\n"
	"    packets: { rate: 200/s, burst: 400 }\n"
	"    syn: { rate: 600/m, burst: 20 }\n"
	"    connections: 16\n"
	"  global:\n"
	"    packets: { rate: 36000000/h, burst: 100000 }\n"
	"    syn: { rate: 2000/s }\n"
	"    connections: 1000000\n"
	"classes:\n"
	"  - name: web\n"
	"    ports: [tcp/443]\n"
	"    source:\n"
	"      packets: { rate: 90/min }\n"
	"      syn: { rate: 7200/h, burst: 9 }\n"
	"      connections: 1\n"
	"    global:\n"
	"      packets: { rate: 100000000/s }\n"
	"      syn: { rate: 4/m }\n"
	"      connections: 64\n"
	"  - name: dns\n"
	"    ports: [udp/53]\n"
	"    global:\n"
	"      packets: { rate: 210/h, burst: 1 }\n"
	"tenants:\n"
	"  - name: ci\n"
	"    cidrs: [198.18.10.0/24]\n"
	"    packets: { rate: 5000/s, burst: 10000000 }\n"
	"    syn: { rate: 120/m }\n"
	"    classes:\n"
	"      dns:\n"
	"        packets: { rate: 50/s }\n"
	"      default:\n"
	"        packets: { rate: 60/m, burst: 3 }\n"
	"        syn: { rate: 3600/h }\n"
	"      web:\n"
	"        syn: { rate: 15/s, burst: 45 }\n"
	"  - name: quiet\n"
	"    cidrs: [198.18.20.0/24]\n";

static void every_bucket_at_every_scope_round_trips(void **state)
{
	char *text;

	(void)state;
	text = round_trip(every_bucket);
	/* default bursts are written out; /min reads back as /m */
	assert_non_null(strstr(text, "    packets: {rate: 90/m, burst: 2}\n"));
	assert_non_null(strstr(text, "    packets: {rate: 100000000/s, burst: 10000000}\n"));
	assert_non_null(strstr(text, "    syn: {rate: 4/m, burst: 1}\n"));
	assert_non_null(strstr(text, "    packets: {rate: 36000000/h, burst: 100000}\n"));
	assert_non_null(strstr(text, "    syn: {rate: 2000/s, burst: 2000}\n"));
	/* a tenant's classes go in class id order: default, web, dns */
	assert_non_null(strstr(text, "  classes:\n"
				     "    default:\n"
				     "      packets: {rate: 60/m, burst: 3}\n"
				     "      syn: {rate: 3600/h, burst: 1}\n"
				     "    web:\n"
				     "      syn: {rate: 15/s, burst: 45}\n"
				     "    dns:\n"
				     "      packets: {rate: 50/s, burst: 50}\n"));
	/* a tenant with no buckets is its name and prefixes */
	assert_non_null(strstr(text, "- name: quiet\n  cidrs:\n  - 198.18.20.0/24\n"));
	free(text);
}

static void rates_keep_the_unit_they_were_written_in(void **state)
{
	static const char *const same[] = {
		"default: { source: { packets: { rate: 60/s, burst: 60 } } }\n",
		"default: { source: { packets: { rate: 3600/m, burst: 60 } } }\n",
		"default: { source: { packets: { rate: 216000/h, burst: 60 } } }\n",
	};
	static const char *const want[] = { "{rate: 60/s, burst: 60}", "{rate: 3600/m, burst: 60}",
					    "{rate: 216000/h, burst: 60}" };
	uint8_t hash[3][32];

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		struct policy p;
		char *text;

		parse_ok("same", same[i], &p);
		text = round_trip_model(&p);
		assert_non_null(strstr(text, want[i]));
		hash_of(&p, text, hash[i]);
		free(text);
		policy_free(&p);
	}
	/* one meaning, three spellings: one hash */
	assert_memory_equal(hash[0], hash[1], 32);
	assert_memory_equal(hash[0], hash[2], 32);
}

static void modes_round_trip(void **state)
{
	static const char *const modes[] = { "enforce", "observe", "shed" };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		for (size_t j = 0; j < 3; j++) {
			char yaml[256], want[128], *text;

			snprintf(yaml, sizeof(yaml),
				 "default: { mode: %s }\n"
				 "classes: [ { name: web, ports: [tcp/80], mode: %s } ]\n",
				 modes[i], modes[j]);
			text = round_trip(yaml);
			snprintf(want, sizeof(want),
				 "default:\n  mode: %s\nclasses:\n- name: web\n  ports: [tcp/80]\n"
				 "  mode: %s\n",
				 modes[i], modes[j]);
			assert_non_null(strstr(text, want));
			free(text);
		}
	}
	/* an unset mode is written as the enforce it means */
	free(round_trip("classes: [ { name: web, ports: [tcp/80] } ]\n"));
}

static void ports_and_prefixes_round_trip(void **state)
{
	static const char yaml[] =
		"classes:\n"
		"  - name: mixed\n"
		"    ports: [udp/8000-8099, tcp/1, tcp/65535, udp/1-7999, tcp/2-3]\n"
		"  - name: web\n"
		"    ports: [tcp/443, tcp/8443-8444]\n"
		"tenants:\n"
		"  - name: everyone\n"
		"    cidrs: [0.0.0.0/0, '::/0']\n"
		"  - name: lab\n"
		"    cidrs: [2001:db8:0:0:0:0:0:0/32, 10.0.0.0/8, 'fe80::/10', 2001:db8:ffff::1/128]\n"
		"allow: [198.18.0.10/32, 2001:db8::10/128, 192.0.2.0/24]\n"
		"deny: [198.19.255.0/24, 2001:db8:dead::/48, 10.1.2.3/32, '::1/128']\n";
	char *text;

	(void)state;
	text = round_trip(yaml);
	assert_non_null(strstr(text, "  ports: [udp/8000-8099, tcp/1, tcp/65535, udp/1-7999, "
				     "tcp/2-3]\n"));
	/* CIDRs as policy_format_cidr writes them: the shortest IPv6 form */
	assert_non_null(strstr(text, "  - 2001:db8::/32\n"));
	assert_non_null(strstr(text, "  - 2001:db8:ffff::1/128\n"));
	assert_non_null(strstr(text, "allow:\n- 198.18.0.10/32\n- 2001:db8::10/128\n"
				     "- 192.0.2.0/24\ndeny:\n"));
	/* whatever quotes libyaml puts on a prefix that starts with ':', it reads back */
	assert_non_null(strstr(text, "::/0"));
	assert_non_null(strstr(text, "::1/128"));
	free(text);
}

static void connections_section_round_trips(void **state)
{
	static const char *const cases[] = {
		"connections: { table: 64 }\n",
		"connections: { table: 16777216, cgroup: /sys/fs/cgroup/gateway.slice }\n",
		"connections: { cgroup: / }\n",
		/* a path YAML would misread unquoted: libyaml quotes it */
		"connections: { cgroup: \"/sys/fs/cgroup/a: b #c, [d] 'e' \\\"f\\\" caf\\u00e9\" }\n",
		"connections: { cgroup: \"/x/\\ttab and trailing space \" }\n",
		"connections: { cgroup: \"/x/\\x01 \\u2028 \\u00a0\" }\n",
		"connections: {}\n",
	};
	char *yaml, *text, *line;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		round_trip_free(cases[i]);
	/* the longest path, with spaces where a writer could fold it: one line */
	yaml = calloc(1, 4200);
	assert_non_null(yaml);
	line = yaml + sprintf(yaml, "connections:\n  cgroup: /");
	for (size_t i = 1; i < 4095; i++)
		*line++ = i % 10 ? 'a' : ' ';
	*line = '\n';
	text = round_trip(yaml);
	line = strstr(text, "  cgroup: /");
	assert_non_null(line);
	assert_int_equal(strchr(line, '\n') - line, strlen("  cgroup: ") + 4095);
	free(text);
	free(yaml);
	/* only what is set is written, and nothing when neither is */
	text = round_trip("connections: { cgroup: /sys/fs/cgroup/gw }\n");
	assert_string_equal(text, "version: 1\ndefault:\n  mode: enforce\n"
				  "connections:\n  cgroup: /sys/fs/cgroup/gw\n");
	free(text);
	text = round_trip("connections: {}\n");
	assert_null(strstr(text, "connections"));
	free(text);
}

/* 15 classes, 1023 tenants and 16,370 prefixes: the largest shape the parser takes. */
static void tenants_and_classes_at_the_limits_round_trip(void **state)
{
	char *yaml = NULL, *text;
	size_t len = 0;
	FILE *f = open_memstream(&yaml, &len);

	(void)state;
	assert_non_null(f);
	fprintf(f, "classes:\n");
	for (int c = 1; c < RW_MAX_CLASSES; c++)
		fprintf(f, "  - name: c%02d_abcdefghijklmnopqrstuvwxyz\n"
			   "    ports: [tcp/%d, udp/%d-%d]\n"
			   "    source: { connections: %d }\n",
			c, 1000 + c, 2000 + 10 * c, 2009 + 10 * c, c);
	fprintf(f, "tenants:\n");
	for (int t = 1; t < RW_MAX_TENANTS; t++) {
		fprintf(f, "  - name: t%d\n    cidrs:\n", t);
		for (int i = 0; i < 8; i++)
			fprintf(f, "      - 10.%d.%d.%d/32\n      - 2001:db8:%x:%x::/64\n", t / 256,
				t % 256, i, t, i);
		fprintf(f, "    classes:\n      c%02d_abcdefghijklmnopqrstuvwxyz:\n"
			   "        syn: { rate: %d/m }\n",
			t % (RW_MAX_CLASSES - 1) + 1, t + 3);
	}
	fprintf(f, "allow: [192.0.2.1/32]\ndeny: ['::/0']\n");
	assert_int_equal(fclose(f), 0);
	text = round_trip(yaml);
	assert_true(strlen(text) > 300000);
	free(text);
	free(yaml);
}

/* Names that another YAML 1.1 reader would take for a boolean or null unquoted. */
static void names_yaml_would_misread_round_trip(void **state)
{
	static const char yaml[] =
		"classes:\n"
		"  - { name: 'null', ports: [tcp/1] }\n"
		"  - { name: 'true', ports: [tcp/2] }\n"
		"  - { name: 'no', ports: [tcp/3] }\n"
		"  - { name: 'y', ports: [tcp/4] }\n"
		"  - { name: e1, ports: [tcp/5] }\n"
		"  - { name: 'abcdefghijklmnopqrstuvwxyz-_012', ports: [tcp/6] }\n"
		"tenants:\n"
		"  - name: 'off'\n"
		"    cidrs: [203.0.113.0/24]\n"
		"    classes: { 'null': { packets: { rate: 1/s } }, 'no': { syn: { rate: 2/s } } }\n";
	char *text;

	(void)state;
	text = round_trip(yaml);
	assert_non_null(strstr(text, "- name: 'null'\n"));
	assert_non_null(strstr(text, "- name: 'true'\n"));
	assert_non_null(strstr(text, "- name: 'no'\n"));
	assert_non_null(strstr(text, "- name: 'y'\n"));
	assert_non_null(strstr(text, "- name: e1\n"));
	assert_non_null(strstr(text, "- name: 'off'\n"));
	assert_non_null(strstr(text, "  classes:\n    'null':\n"));
	free(text);
}

/* Written as the parser would take it in; the golden text pins the format. */
static const char small_input[] =
	"# a comment, keys out of order, /min and a default burst\n"
	"connections:\n"
	"  cgroup: /sys/fs/cgroup/gateway.slice\n"
	"  table: 4096\n"
	"deny: ['::/0']\n"
	"allow: [198.18.0.10/32]\n"
	"tenants:\n"
	"  - classes:\n"
	"      web: { packets: { burst: 60, rate: 50/s } }\n"
	"      default: { syn: { rate: 10/s } }\n"
	"    packets: { rate: 1000/s, burst: 1000 }\n"
	"    cidrs: [198.18.0.0/24, 2001:db8:0::/48]\n"
	"    name: lab\n"
	"classes:\n"
	"  - global: { connections: 500, packets: { rate: 7200/h } }\n"
	"    source: { connections: 8, syn: { rate: 90/min, burst: 5 } }\n"
	"    mode: shed\n"
	"    ports: [tcp/443, udp/8000-8099]\n"
	"    name: web\n"
	"default:\n"
	"  source:\n"
	"    packets: { rate: 200/s, burst: 400 }\n"
	"  mode: observe\n"
	"version: 1\n";

static const char small_golden[] =
	"version: 1\n"
	"default:\n"
	"  mode: observe\n"
	"  source:\n"
	"    packets: {rate: 200/s, burst: 400}\n"
	"classes:\n"
	"- name: web\n"
	"  ports: [tcp/443, udp/8000-8099]\n"
	"  mode: shed\n"
	"  source:\n"
	"    syn: {rate: 90/m, burst: 5}\n"
	"    connections: 8\n"
	"  global:\n"
	"    packets: {rate: 7200/h, burst: 2}\n"
	"    connections: 500\n"
	"tenants:\n"
	"- name: lab\n"
	"  cidrs:\n"
	"  - 198.18.0.0/24\n"
	"  - 2001:db8::/48\n"
	"  packets: {rate: 1000/s, burst: 1000}\n"
	"  classes:\n"
	"    default:\n"
	"      syn: {rate: 10/s, burst: 10}\n"
	"    web:\n"
	"      packets: {rate: 50/s, burst: 60}\n"
	"allow:\n"
	"- 198.18.0.10/32\n"
	"deny:\n"
	"- ::/0\n"
	"connections:\n"
	"  table: 4096\n"
	"  cgroup: /sys/fs/cgroup/gateway.slice\n";

/* The compiled hash of policy text. */
static void hash_of_text(const char *yaml, uint8_t hash[32])
{
	struct policy p;
	struct policy_image *img;

	parse_ok("hashed", yaml, &p);
	img = policy_image_new(&p);
	assert_non_null(img);
	memcpy(hash, img->policy.hash, 32);
	policy_image_delete(img);
	policy_free(&p);
}

static void events_and_mesh_ids_round_trip(void **state)
{
	static const char yaml[] =
		"events:\n"
		"  interval: 1500ms\n"
		"  client_id: hashed\n"
		"  client_key: /etc/ratewall/client.key\n"
		"tenants:\n"
		"  - name: edge\n"
		"    cidrs: [198.18.1.0/24]\n"
		"    mesh_node_id: node-1.eu_west:a\n"
		"  - name: plain\n"
		"    cidrs: [198.18.2.0/24]\n"
		"  - name: core\n"
		"    cidrs: ['2001:db8::/32']\n"
		"    mesh_node_id: \"123\"\n";
	static const char *const cases[] = {
		"events: { interval: 100ms }\n",
		"events: { interval: 2m }\n",
		"events: { interval: 60m }\n",
		"events: { interval: 1s }\n",
		"events: { interval: 90s }\n",
		"events: { interval: off }\n",
		"events: { interval: off, client_id: hashed, client_key: /k }\n",
		/* a path YAML would misread unquoted */
		"events: { client_id: hashed, client_key: \"/k: #x, [y] 'z'\" }\n",
		"tenants:\n  - name: t\n    cidrs: [10.0.0.0/8]\n    mesh_node_id: \"true\"\n",
		"tenants:\n  - name: t\n    cidrs: [10.0.0.0/8]\n    mesh_node_id: \"0x1f\"\n",
		"tenants:\n  - name: t\n    cidrs: [10.0.0.0/8]\n    mesh_node_id: \"-\"\n",
	};
	struct policy p;
	char *text;

	(void)state;
	parse_ok("input", yaml, &p);
	assert_int_equal(p.event_interval_ms, 1500);
	assert_int_equal(p.client_id, POLICY_CLIENT_HASHED);
	assert_string_equal(p.tenants[0].mesh_node_id, "node-1.eu_west:a");
	assert_string_equal(p.tenants[1].mesh_node_id, "");
	assert_string_equal(p.tenants[2].mesh_node_id, "123");
	text = round_trip_model(&p);
	assert_non_null(strstr(text, "events:\n  interval: 1500ms\n  client_id: hashed\n"
				     "  client_key: /etc/ratewall/client.key\n"));
	/* quoted: another YAML reader must read 123 or off as text too */
	assert_non_null(strstr(text, "  mesh_node_id: 'node-1.eu_west:a'\n"));
	assert_non_null(strstr(text, "  mesh_node_id: '123'\n"));
	/* only the tenants with an id have the key */
	assert_non_null(strstr(text, "- name: plain\n  cidrs:\n  - 198.18.2.0/24\n- name: core\n"));
	free(text);
	policy_free(&p);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		round_trip_free(cases[i]);

	/* in the unit it was written in, or the largest that holds it */
	text = round_trip("events: { interval: 120s }\n");
	assert_non_null(strstr(text, "events:\n  interval: 2m\n"));
	free(text);
	text = round_trip("events: { interval: 2000ms }\n");
	assert_non_null(strstr(text, "events:\n  interval: 2s\n"));
	free(text);
	text = round_trip("events: { interval: off }\n");
	assert_non_null(strstr(text, "events:\n  interval: 'off'\n"));
	free(text);
	/* nothing set, nothing written */
	text = round_trip("events: {}\n");
	assert_null(strstr(text, "events"));
	free(text);
	text = round_trip("events: { client_id: address }\n");
	assert_null(strstr(text, "events"));
	free(text);
}

/*
 * Event settings count in the hash by what they do: a policy without them
 * keeps its hash (written with `events: {}`, the default interval or
 * address ids, or not at all), and each other setting changes it.
 */
static void event_settings_in_the_hash_only_when_set(void **state)
{
	static const char base[] = "default:\n  source:\n    packets: { rate: 100/s }\n"
				   "tenants:\n  - name: t\n    cidrs: [198.18.0.0/24]\n";
	static const char *const differ[] = {
		"events: { interval: 500ms }\n",
		"events: { interval: 2s }\n",
		"events: { interval: off }\n",
		"events: { client_id: hashed, client_key: /k1 }\n",
		"events: { client_id: hashed, client_key: /k2 }\n",
	};
	uint8_t plain[32], same[32], h[RW_MAX_CLASSES][32], mesh1[32], mesh2[32];
	char text[512];

	(void)state;
	hash_of_text(base, plain);
	snprintf(text, sizeof(text), "%sevents: {}\n", base);
	hash_of_text(text, same);
	assert_memory_equal(plain, same, 32);
	snprintf(text, sizeof(text), "%sevents: { client_id: address }\n", base);
	hash_of_text(text, same);
	assert_memory_equal(plain, same, 32);
	snprintf(text, sizeof(text), "%sevents: { interval: 1s }\n", base);
	hash_of_text(text, same);
	assert_memory_equal(plain, same, 32);
	for (size_t i = 0; i < sizeof(differ) / sizeof(differ[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", base, differ[i]);
		hash_of_text(text, h[i]);
		assert_memory_not_equal(h[i], plain, 32);
		for (size_t j = 0; j < i; j++)
			assert_memory_not_equal(h[i], h[j], 32);
	}
	/* the same setting, spelled otherwise, hashes alike */
	snprintf(text, sizeof(text), "%sevents: { interval: 2000ms }\n", base);
	hash_of_text(text, same);
	assert_memory_equal(same, h[1], 32);
	/* a tenant's mesh id counts, and which one */
	snprintf(text, sizeof(text), "%s    mesh_node_id: n1\n", base);
	hash_of_text(text, mesh1);
	snprintf(text, sizeof(text), "%s    mesh_node_id: n2\n", base);
	hash_of_text(text, mesh2);
	assert_memory_not_equal(mesh1, plain, 32);
	assert_memory_not_equal(mesh1, mesh2, 32);
}

static void control_section_round_trips(void **state)
{
	static const char *const cases[] = {
		"control: {}\n",
		"control: { controller: step }\n",
		"control: { controller: off, interval: 2s }\n",
		"control: { objective: 250ms }\n",
		"control: { objective: 250ms, shed_latency: off }\n",
		"control: { shed_latency: 3s, cpu_high: off, error_ratio: 0.5% }\n",
		"control: { error_ratio: 0.01%, interval: 7s, objective: 10m }\n",
		"control:\n  metrics: { url: http://g/m, latency: l, quantile: 0.9999 }\n"
		"  step: { up: 1.0001, down: 0.9999, error_cut: 0.0001 }\n",
		"control:\n  health: { url: \"http://[2001:db8::1]:8081/healthz?full=1#x\" }\n",
		"control:\n  metrics: { url: https://gw:9100/metrics, requests: http_requests_total }\n",
		"control:\n  metrics: { url: http://gw/m, latency: lat_milliseconds, quantile: 0.5 }\n",
		"control: { netns: \"/run/netns/gw: a\" }\n",
		"control:\n  step: { fast: 1ms, slow: 10m, up: 9.99, down: 0.01, error_cut: 0.999 }\n",
		"classes:\n  - name: a\n    ports: [tcp/1]\n    source: { packets: { rate: 5/m } }\n"
		"    adaptive: { floor: 1%, ceiling: 1000%, shed: true }\ncontrol: {}\n",
		"classes:\n  - name: a\n    ports: [tcp/1]\n    adaptive: { ceiling: 150%, shed: true }\n"
		"control: {}\n",
		"classes:\n  - name: a\n    ports: [tcp/1]\n    global: { syn: { rate: 1/s } }\n"
		"    adaptive: { floor: 33.3% }\ncontrol: {}\n",
	};
	uint8_t none[32], empty[32], spelled[32], other[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		round_trip_free(cases[i]);
	/* what the section does, not how it is written, makes the hash */
	hash_of_text("version: 1\n", none);
	hash_of_text("control: {}\n", empty);
	hash_of_text("control:\n  controller: gradient\n  interval: 500ms\n  error_ratio: 5%\n"
		     "  cpu_high: 80%\n  cpu_for: 2s\n"
		     "  step: { fast: 150ms, slow: 300ms, up: 1.2, down: 0.7 }\n", spelled);
	hash_of_text("control: { interval: 600ms }\n", other);
	assert_memory_not_equal(none, empty, 32);
	assert_memory_equal(empty, spelled, 32);
	assert_memory_not_equal(empty, other, 32);
}

static void quota_section_round_trips(void **state)
{
	static const char cls[] = "classes:\n  - name: a\n    ports: [udp/1]\n"
				  "    global: { packets: { rate: 3000/s, burst: 300, scope: global } }\n";
	static const char *const cases[] = {
		"quota: { redis: unix:///run/redis.sock }\n",
		"quota:\n  redis: [redis://198.18.0.1:6379, \"redis://[2001:db8::1]:7000\", redis://gw]\n"
		"  username: rw\n  password_file: /etc/rw/pass\n  prefix: \"\"\n  fleet: '123'\n"
		"  sync: 10ms\n  timeout: 1ms\n  lease: 20ms\n  safe_share: 0.01%\n",
		"quota: { redis: redis://r, sync: 1s, safe_share: 100% }\n",
	};
	char text[1024];
	uint8_t local[32], shared[32], spelled[32], other[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", cls, cases[i]);
		round_trip_free(text);
	}
	/* tenants' buckets, per class and across classes */
	round_trip_free("classes:\n  - name: a\n    ports: [tcp/1]\n"
			"tenants:\n  - name: t\n    cidrs: [198.18.0.0/24]\n"
			"    syn: { rate: 20/s, burst: 60, scope: global }\n"
			"    packets: { rate: 20/s, scope: local }\n"
			"    classes: { a: { packets: { rate: 5/m, scope: global } } }\n"
			"quota: { redis: redis://r }\n");
	/* the scope and the section change the hash; written-out defaults do not */
	hash_of_text("classes: [{ name: a, ports: [udp/1], global: { packets: { rate: 3000/s } } }]\n"
		     "quota: { redis: redis://r }\n", local);
	snprintf(text, sizeof(text), "%squota: { redis: redis://r }\n", cls);
	hash_of_text(text, shared);
	snprintf(text, sizeof(text), "%squota: { redis: redis://r, prefix: \"ratewall:\", "
		 "fleet: default, sync: 100ms, timeout: 50ms, lease: 1s, safe_share: 20%% }\n", cls);
	hash_of_text(text, spelled);
	snprintf(text, sizeof(text), "%squota: { redis: redis://r, safe_share: 10%% }\n", cls);
	hash_of_text(text, other);
	assert_memory_not_equal(local, shared, 32);
	assert_memory_equal(shared, spelled, 32);
	assert_memory_not_equal(shared, other, 32);
}

static void small_policy_has_this_exact_text(void **state)
{
	char *text;

	(void)state;
	text = round_trip(small_input);
	assert_string_equal(text, small_golden);
	free(text);
	/* the canonical text is its own canonical text */
	text = round_trip(small_golden);
	assert_string_equal(text, small_golden);
	free(text);
}

static void minimal_policy_is_the_default_class_alone(void **state)
{
	static const char *const empty[] = {
		"{}\n",
		"version: 1\n",
		"default: {}\n",
		"default: { mode: enforce, source: {}, global: {} }\n",
		"classes: []\ntenants: []\nallow: []\ndeny: []\n",
	};
	static const char golden[] = "version: 1\ndefault:\n  mode: enforce\n";

	(void)state;
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		char *text = round_trip(empty[i]);

		assert_string_equal(text, golden);
		free(text);
	}
}

/* Models that come from code, not from a file: the built-in policy, and a
 * live policy after an edit. */
static void models_built_in_code_are_written_as_they_are(void **state)
{
	struct policy p, back;
	char *text;

	(void)state;
	policy_builtin(&p, 1000, 1000);
	text = round_trip_model(&p);
	/* README "The built-in policy", in canonical form */
	assert_string_equal(text, "version: 1\ndefault:\n  mode: enforce\n  source:\n"
				  "    packets: {rate: 1000/s, burst: 1000}\n");
	free(text);

	/* periods the parser never makes go out in the first unit that holds them */
	p.classes[0].source.packets = (struct policy_limit){ .count = 3, .period_ns = 2 * SEC,
							     .burst = 2 };
	p.classes[0].source.syn = (struct policy_limit){ .count = 1, .period_ns = 7 * SEC,
							 .burst = 1 };
	text = policy_emit_yaml(&p);
	assert_non_null(text);
	assert_non_null(strstr(text, "packets: {rate: 90/m, burst: 2}\n"));
	/* 514.28/h rounded down: never more than the model allows */
	assert_non_null(strstr(text, "syn: {rate: 514/h, burst: 1}\n"));
	free(text);

	/* a value the parser refuses is written anyway, so parsing names it */
	policy_builtin(&p, 1000, 0);
	p.classes[0].global.connections = RW_CONN_CAP_MAX + 1;
	text = policy_emit_yaml(&p);
	assert_non_null(text);
	assert_non_null(strstr(text, "    packets: {rate: 1000/s, burst: 0}\n"));
	assert_int_equal(policy_parse_string("edit", text, strlen(text), &back, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "edit:5: burst \"0\" must be a whole number"));
	assert_non_null(strstr(err, "edit:7: connections \"1000001\" must be"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_gateway_example_round_trips),
		cmocka_unit_test(the_adaptive_example_round_trips),
		cmocka_unit_test(the_fleet_example_round_trips),
		cmocka_unit_test(every_bucket_at_every_scope_round_trips),
		cmocka_unit_test(rates_keep_the_unit_they_were_written_in),
		cmocka_unit_test(modes_round_trip),
		cmocka_unit_test(ports_and_prefixes_round_trip),
		cmocka_unit_test(connections_section_round_trips),
		cmocka_unit_test(tenants_and_classes_at_the_limits_round_trip),
		cmocka_unit_test(names_yaml_would_misread_round_trip),
		cmocka_unit_test(events_and_mesh_ids_round_trip),
		cmocka_unit_test(event_settings_in_the_hash_only_when_set),
		cmocka_unit_test(control_section_round_trips),
		cmocka_unit_test(quota_section_round_trips),
		cmocka_unit_test(small_policy_has_this_exact_text),
		cmocka_unit_test(minimal_policy_is_the_default_class_alone),
		cmocka_unit_test(models_built_in_code_are_written_as_they_are),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
