// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Counting a hash map's entries (user/map_count.c), at once and a few
 * batches at a time, against maps filled with a known number of keys:
 * the count the daemon exports as ratewall_map_entries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "map_count.h"

static int filled_map(enum bpf_map_type type, uint32_t max, uint32_t n)
{
	int fd = bpf_map_create(type, "count_test", sizeof(uint32_t), sizeof(uint64_t), max, NULL);

	assert_true(fd >= 0);
	for (uint32_t k = 0; k < n; k++) {
		uint64_t v = k;

		assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_NOEXIST), 0);
	}
	return fd;
}

static void counts_every_entry_at_once(void **state)
{
	static const uint32_t sizes[] = { 0, 1, 1023, 1024, 1025, 5000 };

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int fd = filled_map(BPF_MAP_TYPE_HASH, 8192, sizes[i]);

		assert_int_equal(map_count_entries(fd), sizes[i]);
		close(fd);
		fd = filled_map(BPF_MAP_TYPE_LRU_HASH, 8192, sizes[i]);
		assert_int_equal(map_count_entries(fd), sizes[i]);
		close(fd);
	}
}

/* One batch a step: 5000 entries take several steps, end with the total,
 * and the next pass starts afresh and counts the change. */
static void counts_in_steps(void **state)
{
	int fd = filled_map(BPF_MAP_TYPE_HASH, 8192, 5000);
	struct map_count c = { .fd = fd };
	int64_t total = -1;
	int steps = 0, rc;
	uint32_t k = 7;

	(void)state;
	while ((rc = map_count_step(&c, 1, &total)) == 0)
		steps++;
	assert_int_equal(rc, 1);
	assert_int_equal(total, 5000);
	assert_true(steps >= 4);
	assert_int_equal(bpf_map_delete_elem(fd, &k), 0);
	while ((rc = map_count_step(&c, 2, &total)) == 0)
		;
	assert_int_equal(rc, 1);
	assert_int_equal(total, 4999);
	close(fd);
}

static void refuses_a_map_it_cannot_read(void **state)
{
	struct map_count c = { .fd = -1 };
	int64_t total;

	(void)state;
	assert_true(map_count_step(&c, 1, &total) < 0);
	assert_true(map_count_entries(-1) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counts_every_entry_at_once),
		cmocka_unit_test(counts_in_steps),
		cmocka_unit_test(refuses_a_map_it_cannot_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
