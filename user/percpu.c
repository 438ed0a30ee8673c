// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "percpu.h"

int percpu_sum(int fd, uint32_t n_keys, size_t words, uint64_t *sums)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *percpu;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	/* The kernel hands back one value per possible CPU, each 8-byte aligned. */
	percpu = calloc((size_t)ncpu * words, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	memset(sums, 0, n_keys * words * sizeof(*sums));
	for (uint32_t key = 0; key < n_keys; key++) {
		if (bpf_map_lookup_elem(fd, &key, percpu)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++)
			for (size_t w = 0; w < words; w++)
				sums[key * words + w] += percpu[c * words + w];
	}
	free(percpu);
	return err;
}
