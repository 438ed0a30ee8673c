// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "percpu.h"
#include "ratewall.h"

int percpu_sum_key(int fd, uint32_t key, size_t words, uint64_t *sums)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *percpu;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	percpu = calloc((size_t)ncpu * words, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	memset(sums, 0, words * sizeof(*sums));
	if (bpf_map_lookup_elem(fd, &key, percpu))
		err = -errno;
	for (int c = 0; !err && c < ncpu; c++)
		for (size_t w = 0; w < words; w++)
			sums[w] += percpu[c * words + w];
	free(percpu);
	return err;
}

int percpu_sum(int fd, uint32_t n_keys, size_t words, uint64_t *sums)
{
	int err = 0;

	for (uint32_t key = 0; key < n_keys && !err; key++)
		err = percpu_sum_key(fd, key, words, sums + (size_t)key * words);
	return err;
}

/* Writes `value` as every CPU's value of keys[0..n-1]. 0 or -errno. */
static int set_keys(int fd, const uint32_t *keys, size_t n, const void *value, size_t value_size)
{
	int ncpu = libbpf_num_possible_cpus();
	char *all;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	all = malloc((size_t)ncpu * value_size);
	if (!all)
		return -ENOMEM;
	for (int c = 0; c < ncpu; c++)
		memcpy(all + (size_t)c * value_size, value, value_size);
	for (size_t i = 0; i < n && !err; i++)
		if (bpf_map_update_elem(fd, &keys[i], all, BPF_ANY))
			err = -errno;
	free(all);
	return err;
}

int percpu_set_class(int fd, uint32_t class_id, const void *value, size_t value_size)
{
	uint32_t keys[RW_REASON_MAX * RW_VERDICT_MAX];
	size_t n = 0;

	for (uint32_t r = 0; r < RW_REASON_MAX; r++)
		for (uint32_t v = 0; v < RW_VERDICT_MAX; v++)
			keys[n++] = rw_counter_index(class_id, r, v);
	return set_keys(fd, keys, n, value, value_size);
}

int percpu_set_range(int fd, uint32_t first, uint32_t n, const void *value, size_t value_size)
{
	uint32_t keys[256];
	int err = 0;

	for (uint32_t done = 0; done < n && !err; done += 256) {
		uint32_t k = n - done < 256 ? n - done : 256;

		for (uint32_t i = 0; i < k; i++)
			keys[i] = first + done + i;
		err = set_keys(fd, keys, k, value, value_size);
	}
	return err;
}
