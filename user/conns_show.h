/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The open-connection part of `status`: counts by class, top sources, events. */
#ifndef RW_CONNS_SHOW_H
#define RW_CONNS_SHOW_H

#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>
#include "conns.h"

#define CONNS_TOP 10

struct conns_view {
	uint64_t by_class[RW_MAX_CLASSES];
	struct conn_source top[CONNS_TOP];
	size_t n_top;
	uint64_t sources;                   /* (source, class) entries with open connections */
	uint64_t events[RW_CONN_EVENT_MAX];
	/* false once the cgroup was removed: its link counts nothing any more */
	bool cgroup_attached;
};

/* `sockops_link_fd`: the pinned link whose cgroup is checked; `cgroup_id`:
 * the cgroup it was attached to. */
int conns_view_read(const struct conn_maps *cm, int sockops_link_fd, uint64_t cgroup_id,
		    struct conns_view *v);

/* A key's source as shown: the address, with /prefix when the key masks it. */
void conn_source_format(const struct rw_src_key *key, uint32_t prefix4, uint32_t prefix6,
			char *buf, size_t len);

/* Classes are named by the live policy; ids it no longer has show as classN. */
void conns_view_print(FILE *f, const struct conns_view *v, const struct rw_config *cfg,
		      const struct rw_policy *pol);
json_object *conns_view_to_json(const struct conns_view *v, const struct rw_config *cfg,
				const struct rw_policy *pol);

#endif
