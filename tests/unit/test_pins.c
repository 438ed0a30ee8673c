// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Pin paths: one directory per interface, per network namespace, named
 * so that bpffs takes it and it maps back to the interface name. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pins.h"

static void host_namespace_uses_the_plain_path(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(pins_dev_dir(buf, sizeof(buf), true, 1, "eth0"), 0);
	assert_string_equal(buf, "/sys/fs/bpf/ratewall/eth0");
}

static void other_namespaces_are_kept_apart_by_cookie(void **state)
{
	char a[256], b[256];

	(void)state;
	assert_int_equal(pins_dev_dir(a, sizeof(a), false, 4105, "eth0"), 0);
	assert_int_equal(pins_dev_dir(b, sizeof(b), false, 4106, "eth0"), 0);
	assert_string_equal(a, "/sys/fs/bpf/ratewall/netns:4105/eth0");
	assert_string_equal(b, "/sys/fs/bpf/ratewall/netns:4106/eth0");
}

static void short_buffers_are_refused(void **state)
{
	char buf[16];

	(void)state;
	assert_int_not_equal(pins_dev_dir(buf, sizeof(buf), true, 1, "eth0"), 0);
	assert_int_not_equal(pins_path(buf, sizeof(buf), "/sys/fs/bpf/x", "counters"), 0);
}

static void dots_are_escaped_because_bpffs_refuses_them(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(pins_dev_dir(buf, sizeof(buf), true, 1, "eth0.100"), 0);
	assert_string_equal(buf, "/sys/fs/bpf/ratewall/eth0%2e100");
	assert_int_equal(pins_dev_dir(buf, sizeof(buf), false, 7, "veth-gw.100"), 0);
	assert_string_equal(buf, "/sys/fs/bpf/ratewall/netns:7/veth-gw%2e100");
	/* '%' is escaped too, so a name spelling an escape keeps its own directory. */
	assert_int_equal(pins_name_encode(buf, sizeof(buf), "a%2eb"), 0);
	assert_string_equal(buf, "a%252eb");
	assert_int_equal(pins_name_encode(buf, sizeof(buf), "a.b"), 0);
	assert_string_equal(buf, "a%2eb");
	/* Nothing a path could be made of gets through. */
	assert_int_not_equal(pins_name_encode(buf, sizeof(buf), ".."), 0);
	assert_int_not_equal(pins_name_encode(buf, sizeof(buf), "a/b"), 0);
	assert_int_not_equal(pins_dev_dir(buf, sizeof(buf), true, 1, "."), 0);
}

static void encoded_names_decode_to_the_same_name(void **state)
{
	static const char *const names[] = {
		"eth0", "eth0.100", "...", ".x", "x.", "%", "%%", "%2e", "%25", "a%2eb",
		"a.b.c.d.e.f.g.h", "...............", "abcdefghijklmno", "v%.%.",
	};
	char enc[16][64], dec[64];
	size_t n = sizeof(names) / sizeof(names[0]);

	(void)state;
	assert_true(n <= sizeof(enc) / sizeof(enc[0]));
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(pins_name_encode(enc[i], sizeof(enc[i]), names[i]), 0);
		/* bpffs takes no '.' and ':' marks netns directories. */
		assert_null(strchr(enc[i], '.'));
		assert_null(strchr(enc[i], ':'));
		assert_int_equal(pins_name_decode(dec, sizeof(dec), enc[i]), 0);
		assert_string_equal(dec, names[i]);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(enc[i], enc[j]);
	}
}

static void only_what_encoding_produces_decodes(void **state)
{
	static const char *const bad[] = {
		"a.b",      /* a raw dot: never written by ratewall */
		"%2E",      /* upper case: a second spelling of "." */
		"%", "a%", "a%2", "%zz", "%2f",
		"netns:42", /* another namespace's directory */
		".", "..", "%2e", "%2e%2e", "",
		"abcdefghijklmnop", /* 16 bytes: no interface name */
		"a%2eb%2ec%2ed%2ee%2ef%2eg%2eh%2e", /* decodes to 16 bytes */
	};
	char dec[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (pins_name_decode(dec, sizeof(dec), bad[i]) == 0)
			fail_msg("'%s' decoded to '%s'", bad[i], dec);
	}
	assert_int_not_equal(pins_name_decode(dec, 4, "eth0"), 0);
	assert_int_equal(pins_name_decode(dec, 5, "eth0"), 0);
}

static bool exists(const char *base, const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", base, rel);
	return stat(path, &st) == 0;
}

/* A failed mkdir takes back the parents it made, and only those. */
static void a_failed_mkdir_leaves_no_parents_behind(void **state)
{
	char base[] = "/tmp/rw-unit-pins.XXXXXX", long_name[300], path[1024];

	(void)state;
	assert_non_null(mkdtemp(base));
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';

	/* The last component is longer than NAME_MAX: only it can fail. */
	snprintf(path, sizeof(path), "%s/ratewall/netns:1/%s", base, long_name);
	assert_int_equal(pins_mkdir(path), -ENAMETOOLONG);
	assert_false(exists(base, "ratewall"));

	snprintf(path, sizeof(path), "%s/ratewall/eth0", base);
	assert_int_equal(pins_mkdir(path), 0);
	assert_true(exists(base, "ratewall/eth0"));
	assert_int_equal(pins_mkdir(path), -EEXIST);
	assert_true(exists(base, "ratewall/eth0"));

	/* ratewall/ was there before: it stays, netns:1/ made here goes. */
	snprintf(path, sizeof(path), "%s/ratewall/netns:1/%s", base, long_name);
	assert_int_equal(pins_mkdir(path), -ENAMETOOLONG);
	assert_false(exists(base, "ratewall/netns:1"));
	assert_true(exists(base, "ratewall/eth0"));

	snprintf(path, sizeof(path), "%s/ratewall/eth0", base);
	assert_int_equal(rmdir(path), 0);
	snprintf(path, sizeof(path), "%s/ratewall", base);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rmdir(base), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_namespace_uses_the_plain_path),
		cmocka_unit_test(other_namespaces_are_kept_apart_by_cookie),
		cmocka_unit_test(short_buffers_are_refused),
		cmocka_unit_test(dots_are_escaped_because_bpffs_refuses_them),
		cmocka_unit_test(encoded_names_decode_to_the_same_name),
		cmocka_unit_test(only_what_encoding_produces_decodes),
		cmocka_unit_test(a_failed_mkdir_leaves_no_parents_behind),
	};

	return cmocka_run_group_tests_name("unit_pins", tests, NULL, NULL);
}
