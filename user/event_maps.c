// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "event_maps.h"

static int forget_entries(int fd, const bool classes[RW_MAX_CLASSES])
{
	struct rw_event_key key, next;
	int err = bpf_map_get_next_key(fd, NULL, &next) ? -errno : 0;

	while (err == 0) {
		key = next;
		/* the next key first: deleting this one may end the walk */
		err = bpf_map_get_next_key(fd, &key, &next) ? -errno : 0;
		if (classes[key.class_id & (RW_MAX_CLASSES - 1)] &&
		    bpf_map_delete_elem(fd, &key) && errno != ENOENT)
			return -errno;
	}
	return err == -ENOENT ? 0 : err;
}

static int renew_other_slots(int fd, const bool classes[RW_MAX_CLASSES])
{
	int ncpus = libbpf_num_possible_cpus();
	struct rw_event_entry *fresh;
	struct timespec ts;
	int err = 0;

	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	fresh = calloc((size_t)ncpus, sizeof(*fresh));
	if (!fresh)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (int cpu = 0; cpu < ncpus; cpu++)
		fresh[cpu].born_ns = (uint64_t)ts.tv_sec * RW_NS_PER_SEC + (uint64_t)ts.tv_nsec;
	for (uint32_t c = 0; c < RW_MAX_CLASSES && !err; c++) {
		if (!classes[c])
			continue;
		for (uint32_t r = 0; r < RW_REASON_MAX && !err; r++)
			for (uint32_t v = 0; v < RW_VERDICT_MAX && !err; v++) {
				uint32_t idx = rw_counter_index(c, r, v);

				if (bpf_map_update_elem(fd, &idx, fresh, BPF_ANY))
					err = -errno;
			}
	}
	free(fresh);
	return err;
}

int event_entries_forget_classes(const struct event_maps *m, const bool classes[RW_MAX_CLASSES])
{
	int err = forget_entries(m->entries_fd, classes);

	return err ? err : renew_other_slots(m->other_fd, classes);
}
