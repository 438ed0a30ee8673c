// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Pin paths: one directory per interface, per network namespace. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_namespace_uses_the_plain_path),
		cmocka_unit_test(other_namespaces_are_kept_apart_by_cookie),
		cmocka_unit_test(short_buffers_are_refused),
	};

	return cmocka_run_group_tests_name("unit_pins", tests, NULL, NULL);
}
