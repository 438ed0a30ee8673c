// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Keyword matching and number parsing of the command line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "args.h"

static const char *const kws[] = { "prefix4", "prefix6", "rate", "burst", NULL };

static void exact_and_unique_prefixes_match(void **state)
{
	(void)state;
	assert_int_equal(arg_match("rate", kws), 2);
	assert_int_equal(arg_match("r", kws), 2);
	assert_int_equal(arg_match("bu", kws), 3);
	assert_int_equal(arg_match("prefix6", kws), 1);
}

static void ambiguous_and_unknown_words_are_told_apart(void **state)
{
	(void)state;
	assert_int_equal(arg_match("pre", kws), -2);
	assert_int_equal(arg_match("rates", kws), -1);
	assert_int_equal(arg_match("", kws), -1);
	assert_int_equal(arg_match("x", kws), -1);
}

static void interface_names_follow_the_kernel_rules(void **state)
{
	(void)state;
	assert_true(arg_ifname_valid("eth0"));
	assert_true(arg_ifname_valid("a"));
	assert_true(arg_ifname_valid("veth-gw.100"));
	assert_true(arg_ifname_valid("...")); /* odd, but the kernel takes it */
	assert_true(arg_ifname_valid("abcdefghijklmno"));   /* 15 bytes */
	assert_false(arg_ifname_valid("abcdefghijklmnop")); /* 16 bytes */
	assert_false(arg_ifname_valid(""));
	assert_false(arg_ifname_valid("."));
	assert_false(arg_ifname_valid(".."));
	assert_false(arg_ifname_valid("a/b"));
	assert_false(arg_ifname_valid("netns:1"));
	assert_false(arg_ifname_valid("eth 0"));
	assert_false(arg_ifname_valid("eth0\n"));
	assert_false(arg_ifname_valid("\teth0"));
}

static void negative_numbers_are_values_not_options(void **state)
{
	(void)state;
	assert_true(arg_is_option("-j"));
	assert_true(arg_is_option("--json"));
	assert_true(arg_is_option("-x"));
	assert_false(arg_is_option("-5"));
	assert_false(arg_is_option("-0"));
	assert_false(arg_is_option("-"));
	assert_false(arg_is_option("rate"));
}

static void numbers_within_bounds_parse(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(arg_parse_u64("rate", "1", 1, 100, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(arg_parse_u64("rate", "100", 1, 100, &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(arg_parse_u64("prefix4", "0", 0, 32, &v), 0);
	assert_int_equal(v, 0);
}

static void bad_numbers_are_refused_and_leave_output_alone(void **state)
{
	const char *bad[] = { "0", "101", "-1", "+5", "5x", "", " 5", "1e3", "0x10",
			      "99999999999999999999999" };
	uint64_t v = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(arg_parse_u64("rate", bad[i], 1, 100, &v), -1);
		assert_int_equal(v, 42);
	}
}

static void values_are_taken_in_order(void **state)
{
	char *argv[] = { "10", "burst" };
	struct arg_cursor cur = { .argc = 2, .argv = argv };
	struct arg_cursor empty = { .argc = 0, .argv = NULL };
	const char *value = NULL;

	(void)state;
	assert_int_equal(arg_take_value(&cur, "rate", &value), 0);
	assert_string_equal(value, "10");
	assert_int_equal(cur.argc, 1);
	assert_string_equal(cur.argv[0], "burst");
	assert_int_equal(arg_take_value(&empty, "rate", &value), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exact_and_unique_prefixes_match),
		cmocka_unit_test(ambiguous_and_unknown_words_are_told_apart),
		cmocka_unit_test(interface_names_follow_the_kernel_rules),
		cmocka_unit_test(negative_numbers_are_values_not_options),
		cmocka_unit_test(numbers_within_bounds_parse),
		cmocka_unit_test(bad_numbers_are_refused_and_leave_output_alone),
		cmocka_unit_test(values_are_taken_in_order),
	};

	return cmocka_run_group_tests_name("unit_args", tests, NULL, NULL);
}
