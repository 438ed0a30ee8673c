// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * From a parsed policy to the words of one policy slot: class limits, the
 * port table, tenant limits, the merged allow/deny/tenant prefixes, and a
 * hash that follows what the policy decides, not how it is written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "policy.h"
#include "policy_compile.h"

static struct policy_image *compile_text(const char *yaml)
{
	struct policy_image *img = calloc(1, sizeof(*img));
	struct policy p;
	char err[2048];

	assert_non_null(img);
	if (policy_parse_string("t.yaml", yaml, strlen(yaml), &p, err, sizeof(err)))
		fail_msg("policy refused: %s", err);
	assert_int_equal(policy_compile(&p, img), 0);
	policy_free(&p);
	return img;
}

static void release(struct policy_image *img)
{
	policy_image_free(img);
	free(img);
}

/* The merged entry of one exact prefix; fails the test when absent. */
static const struct policy_image_cidr *entry(const struct policy_image *img, const char *cidr)
{
	char addr[64];
	uint32_t bin[4] = { 0 };
	const char *slash = strchr(cidr, '/');
	int family = strchr(cidr, ':') ? 6 : 4;

	assert_non_null(slash);
	memcpy(addr, cidr, (size_t)(slash - cidr));
	addr[slash - cidr] = '\0';
	assert_int_equal(inet_pton(family == 4 ? AF_INET : AF_INET6, addr, bin), 1);
	for (size_t i = 0; i < img->n_cidrs; i++) {
		const struct policy_image_cidr *c = &img->cidrs[i];

		if (c->family == family && c->prefix == atoi(slash + 1) &&
		    !memcmp(c->addr, bin, sizeof(bin)))
			return c;
	}
	fail_msg("no merged entry for %s", cidr);
	return NULL;
}

/* Each prefix carries the longest list and the longest tenant containing it. */
static void merged_prefixes_carry_longest_list_and_tenant(void **state)
{
	struct policy_image *img = compile_text(
		"deny: [198.18.0.0/16, 198.18.4.4/32, 2001:db8::/32]\n"
		"allow: [198.18.4.0/24, 2001:db8:1::/48]\n"
		"tenants:\n"
		"  - name: wide\n"
		"    cidrs: [198.18.0.0/15]\n"
		"  - name: narrow\n"
		"    cidrs: [198.18.4.0/25, 2001:db8:1:2::/64]\n");

	(void)state;
	assert_int_equal(img->n_cidrs, 8);
	assert_int_equal(img->policy.has_cidrs4, 1);
	assert_int_equal(img->policy.has_cidrs6, 1);
	assert_int_equal(entry(img, "198.18.0.0/15")->info.list, RW_LIST_NONE);
	assert_int_equal(entry(img, "198.18.0.0/15")->info.tenant_id, 1);
	assert_int_equal(entry(img, "198.18.0.0/16")->info.list, RW_LIST_DENY);
	assert_int_equal(entry(img, "198.18.0.0/16")->info.tenant_id, 1);
	assert_int_equal(entry(img, "198.18.4.0/24")->info.list, RW_LIST_ALLOW);
	assert_int_equal(entry(img, "198.18.4.0/24")->info.tenant_id, 1);
	assert_int_equal(entry(img, "198.18.4.0/25")->info.list, RW_LIST_ALLOW);
	assert_int_equal(entry(img, "198.18.4.0/25")->info.tenant_id, 2);
	assert_int_equal(entry(img, "198.18.4.4/32")->info.list, RW_LIST_DENY);
	assert_int_equal(entry(img, "198.18.4.4/32")->info.tenant_id, 2);
	assert_int_equal(entry(img, "2001:db8::/32")->info.list, RW_LIST_DENY);
	assert_int_equal(entry(img, "2001:db8::/32")->info.tenant_id, 0);
	assert_int_equal(entry(img, "2001:db8:1::/48")->info.list, RW_LIST_ALLOW);
	assert_int_equal(entry(img, "2001:db8:1:2::/64")->info.list, RW_LIST_ALLOW);
	assert_int_equal(entry(img, "2001:db8:1:2::/64")->info.tenant_id, 2);
	release(img);
}

/* No prefixes of a family: the fast path skips the trie for it. */
static void empty_family_skips_the_trie(void **state)
{
	struct policy_image *img = compile_text("allow: [198.18.0.10/32]\n");

	(void)state;
	assert_int_equal(img->policy.has_cidrs4, 1);
	assert_int_equal(img->policy.has_cidrs6, 0);
	release(img);
	img = compile_text("version: 1\n");
	assert_int_equal(img->n_cidrs, 0);
	assert_int_equal(img->policy.has_cidrs4, 0);
	release(img);
}

static uint8_t port_class(const struct policy_image *img, enum rw_port_proto proto, unsigned port)
{
	return img->ports[proto][port / RW_PORTS_PER_ENTRY].class_id[port % RW_PORTS_PER_ENTRY];
}

static void ports_limits_and_tenants_land_in_their_words(void **state)
{
	struct policy_image *img = compile_text(
		"default:\n"
		"  source:\n"
		"    packets: { rate: 100/s, burst: 7 }\n"
		"classes:\n"
		"  - name: web\n"
		"    ports: [tcp/443, tcp/8000-8063, udp/65535]\n"
		"    mode: shed\n"
		"    global:\n"
		"      syn: { rate: 60/m, burst: 9 }\n"
		"  - name: api\n"
		"    ports: [udp/443]\n"
		"    mode: observe\n"
		"tenants:\n"
		"  - name: team\n"
		"    cidrs: [198.18.7.0/24]\n"
		"    syn: { rate: 2/s, burst: 3 }\n"
		"    classes:\n"
		"      api:\n"
		"        packets: { rate: 10/s, burst: 11 }\n");
	const struct rw_class_limits *def = &img->policy.classes[0], *web = &img->policy.classes[1];
	const struct rw_tenant_limits *team = &img->tenants[1];

	(void)state;
	assert_int_equal(img->policy.n_classes, 3);
	assert_string_equal(img->policy.class_names[2], "api");
	assert_int_equal(port_class(img, RW_PROTO_TCP, 443), 1);
	assert_int_equal(port_class(img, RW_PROTO_UDP, 443), 2);
	assert_int_equal(port_class(img, RW_PROTO_TCP, 7999), 0);
	assert_int_equal(port_class(img, RW_PROTO_TCP, 8000), 1);
	assert_int_equal(port_class(img, RW_PROTO_TCP, 8063), 1);
	assert_int_equal(port_class(img, RW_PROTO_TCP, 8064), 0);
	assert_int_equal(port_class(img, RW_PROTO_UDP, 65535), 1);
	assert_int_equal(port_class(img, RW_PROTO_TCP, 65535), 0);

	assert_int_equal(rw_limit_interval(def->src_pkt), 10000000ULL << RW_TICK_SHIFT);
	assert_int_equal(rw_limit_burst(def->src_pkt), 7);
	assert_int_equal(def->mode, RW_CLASS_ENFORCE);
	assert_int_equal(web->mode, RW_CLASS_SHED);
	assert_int_equal(img->policy.classes[2].mode, RW_CLASS_OBSERVE);
	assert_int_equal(web->src_pkt, 0);
	assert_int_equal(web->class_pkt, 0);
	assert_int_equal(rw_limit_interval(web->class_syn), RW_NS_PER_SEC << RW_TICK_SHIFT);
	assert_int_equal(rw_limit_burst(web->class_syn), 9);

	assert_string_equal(team->name, "team");
	assert_int_equal(team->pkt, 0);
	assert_int_equal(rw_limit_interval(team->syn), 500000000ULL << RW_TICK_SHIFT);
	assert_int_equal(rw_limit_burst(team->syn), 3);
	assert_int_equal(rw_limit_burst(team->class_pkt[2]), 11);
	assert_int_equal(team->class_pkt[1], 0);
	assert_int_equal(team->class_syn[2], 0);
	release(img);
}

/* Comments, key order, list order and equivalent units do not change the
 * hash; any limit, mode, port or prefix does. */
static void connection_caps_land_in_the_class(void **state)
{
	struct policy_image *img = compile_text("classes:\n"
						"  - name: web\n"
						"    ports: [tcp/443]\n"
						"    source: { connections: 8 }\n"
						"    global: { connections: 500 }\n"
						"connections: { table: 2048, cgroup: /sys/fs/cgroup/gw }\n");

	(void)state;
	assert_int_equal(img->policy.classes[1].src_conn, 8);
	assert_int_equal(img->policy.classes[1].class_conn, 500);
	assert_int_equal(img->policy.classes[0].src_conn, 0);
	assert_int_equal(img->policy.classes[0].class_conn, 0);
	assert_int_equal(img->conn_table, 2048);
	assert_string_equal(img->cgroup, "/sys/fs/cgroup/gw");
	release(img);
}

static void hash_follows_meaning_not_spelling(void **state)
{
	static const char base[] = "classes:\n"
				   "  - name: web\n"
				   "    ports: [tcp/443]\n"
				   "    source:\n"
				   "      syn: { rate: 20/s, burst: 60 }\n"
				   "allow: [198.18.0.10/32, 198.18.0.11/32]\n";
	static const char same[] = "# a comment\n"
				   "allow: [198.18.0.11/32, 198.18.0.10/32]\n"
				   "classes:\n"
				   "  - ports: [tcp/443]\n"
				   "    name: web\n"
				   "    source:\n"
				   "      syn: { burst: 60, rate: 1200/m }\n";
	static const char *const different[] = {
		"classes:\n  - name: web\n    ports: [tcp/443]\n    source:\n"
		"      syn: { rate: 21/s, burst: 60 }\nallow: [198.18.0.10/32, 198.18.0.11/32]\n",
		"classes:\n  - name: web\n    ports: [tcp/443]\n    source:\n"
		"      syn: { rate: 20/s, burst: 61 }\nallow: [198.18.0.10/32, 198.18.0.11/32]\n",
		"classes:\n  - name: web\n    ports: [tcp/444]\n    source:\n"
		"      syn: { rate: 20/s, burst: 60 }\nallow: [198.18.0.10/32, 198.18.0.11/32]\n",
		"classes:\n  - name: web\n    ports: [tcp/443]\n    mode: observe\n    source:\n"
		"      syn: { rate: 20/s, burst: 60 }\nallow: [198.18.0.10/32, 198.18.0.11/32]\n",
		"classes:\n  - name: web\n    ports: [tcp/443]\n    source:\n"
		"      syn: { rate: 20/s, burst: 60 }\nallow: [198.18.0.10/32, 198.18.0.12/32]\n",
		"classes:\n  - name: web\n    ports: [tcp/443]\n    source:\n"
		"      syn: { rate: 20/s, burst: 60 }\ndeny: [198.18.0.10/32, 198.18.0.11/32]\n",
		"classes:\n  - name: web\n    ports: [tcp/443]\n    source:\n      connections: 8\n"
		"      syn: { rate: 20/s, burst: 60 }\nallow: [198.18.0.10/32, 198.18.0.11/32]\n",
		"classes:\n  - name: web\n    ports: [tcp/443]\n    global: { connections: 8 }\n"
		"    source:\n"
		"      syn: { rate: 20/s, burst: 60 }\nallow: [198.18.0.10/32, 198.18.0.11/32]\n",
		"classes:\n  - name: web\n    ports: [tcp/443]\n    source:\n"
		"      syn: { rate: 20/s, burst: 60 }\nallow: [198.18.0.10/32, 198.18.0.11/32]\n"
		"connections: { table: 4096 }\n",
	};
	struct policy_image *a = compile_text(base), *b = compile_text(same);

	(void)state;
	assert_memory_equal(a->policy.hash, b->policy.hash, 32);
	for (size_t i = 0; i < sizeof(different) / sizeof(different[0]); i++) {
		struct policy_image *d = compile_text(different[i]);

		assert_memory_not_equal(a->policy.hash, d->policy.hash, 32);
		release(d);
	}
	release(a);
	release(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(merged_prefixes_carry_longest_list_and_tenant),
		cmocka_unit_test(empty_family_skips_the_trie),
		cmocka_unit_test(ports_limits_and_tenants_land_in_their_words),
		cmocka_unit_test(connection_caps_land_in_the_class),
		cmocka_unit_test(hash_follows_meaning_not_spelling),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
