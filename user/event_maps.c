// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <bpf/bpf.h>

#include "event_maps.h"
#include "clocks.h"
#include "percpu.h"

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

/* A new incarnation of the classes' other-sources slots on every CPU. */
static int renew_other_slots(int fd, const bool classes[RW_MAX_CLASSES])
{
	struct rw_event_entry fresh = { .born_ns = monotonic_ns() };
	int err = 0;

	for (uint32_t c = 0; c < RW_MAX_CLASSES && !err; c++)
		if (classes[c])
			err = percpu_set_class(fd, c, &fresh, sizeof(fresh));
	return err;
}

int event_entries_forget_classes(const struct event_maps *m, const bool classes[RW_MAX_CLASSES])
{
	int err = forget_entries(m->entries_fd, classes);

	return err ? err : renew_other_slots(m->other_fd, classes);
}
