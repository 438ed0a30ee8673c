// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <bpf/bpf.h>

#include "map_count.h"

#define BATCH 1024
#define ITEM_MAX 64

int map_count_step(struct map_count *c, unsigned int max_batches, int64_t *total)
{
	/* only the number matters: one scratch buffer for keys and values */
	static char keys[BATCH * ITEM_MAX], values[BATCH * ITEM_MAX];
	uint64_t next = 0;

	if (!c->running) {
		struct bpf_map_info info = { 0 };
		uint32_t len = sizeof(info);

		if (bpf_obj_get_info_by_fd(c->fd, &info, &len))
			return -errno;
		if (info.key_size > ITEM_MAX || info.value_size > ITEM_MAX)
			return -EINVAL;
		c->running = true;
		c->partial = 0;
	}
	for (unsigned int i = 0; i < max_batches; i++) {
		uint32_t count = BATCH;
		int err = bpf_map_lookup_batch(c->fd, c->token || c->partial ? &c->token : NULL,
					       &next, keys, values, &count, NULL);

		c->partial += count;
		c->token = next;
		if (err) {
			err = errno;
			c->running = false;
			c->token = 0;
			if (err != ENOENT)
				return -err;
			*total = c->partial;
			return 1;
		}
	}
	return 0;
}

int64_t map_count_entries(int fd)
{
	struct map_count c = { .fd = fd };
	int64_t total = 0;
	int rc;

	while ((rc = map_count_step(&c, 64, &total)) == 0)
		;
	return rc < 0 ? rc : total;
}
