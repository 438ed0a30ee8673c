// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "talkers.h"
#include "clocks.h"

static int by_key(const void *a, const void *b)
{
	return memcmp(&((const struct talker *)a)->key, &((const struct talker *)b)->key,
		      sizeof(struct rw_src_key));
}

static enum talker_order sort_order;

static int heaviest_first(const void *a, const void *b)
{
	const struct talker *x = a, *y = b;
	uint64_t vx = sort_order == TALKERS_BY_DROPS ? x->drops : x->packets;
	uint64_t vy = sort_order == TALKERS_BY_DROPS ? y->drops : y->packets;

	if (vx != vy)
		return vx < vy ? 1 : -1;
	if (x->packets != y->packets)
		return x->packets < y->packets ? 1 : -1;
	return by_key(a, b);
}

int talkers_read(int fd, enum talker_order by, struct talker **out, size_t *n)
{
	int ncpu = libbpf_num_possible_cpus();
	struct rw_talker *per_cpu;
	struct talker *all;
	size_t used = 0, merged = 0;
	uint32_t epoch;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	/* The program's clock for epochs (bpf_ktime_get_ns). */
	epoch = (uint32_t)(monotonic_ns() >> RW_TALKER_EPOCH_SHIFT);
	per_cpu = calloc((size_t)ncpu, sizeof(*per_cpu));
	all = calloc((size_t)ncpu * RW_TALKER_SLOTS, sizeof(*all));
	if (!per_cpu || !all) {
		free(per_cpu);
		free(all);
		return -ENOMEM;
	}
	for (uint32_t slot = 0; slot < RW_TALKER_SLOTS; slot++) {
		if (bpf_map_lookup_elem(fd, &slot, per_cpu)) {
			int err = -errno;

			free(per_cpu);
			free(all);
			return err;
		}
		for (int c = 0; c < ncpu; c++) {
			/* Empty, or a holder gone quiet for a minute: not a talker now. */
			if (!per_cpu[c].packets ||
			    (uint32_t)(epoch - per_cpu[c].epoch) > RW_TALKER_IDLE_EPOCHS)
				continue;
			all[used].key = per_cpu[c].key;
			all[used].packets = per_cpu[c].packets;
			all[used].drops = per_cpu[c].drops;
			used++;
		}
	}
	free(per_cpu);
	/* One source may hold a slot on every CPU: sum them. */
	qsort(all, used, sizeof(*all), by_key);
	for (size_t i = 0; i < used; i++) {
		if (merged && by_key(&all[merged - 1], &all[i]) == 0) {
			all[merged - 1].packets += all[i].packets;
			all[merged - 1].drops += all[i].drops;
		} else {
			all[merged++] = all[i];
		}
	}
	sort_order = by;
	qsort(all, merged, sizeof(*all), heaviest_first);
	*out = all;
	*n = merged;
	return 0;
}
