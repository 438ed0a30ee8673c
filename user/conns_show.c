// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <inttypes.h>
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

#include "conns_show.h"
#include "policy_show.h"

int conns_view_read(const struct conn_maps *cm, int sockops_link_fd, uint64_t cgroup_id,
		    struct conns_view *v)
{
	struct bpf_link_info link = { 0 };
	__u32 len = sizeof(link);
	int err;

	memset(v, 0, sizeof(*v));
	/* A removed cgroup leaves its links in place, attached to nothing (id 0). */
	if (bpf_obj_get_info_by_fd(sockops_link_fd, &link, &len))
		return -errno;
	v->cgroup_attached = link.cgroup.cgroup_id == cgroup_id;
	err = conns_by_class(cm->class_conns_fd, v->by_class);
	if (!err)
		err = conns_top(cm->conns_fd, v->top, CONNS_TOP, &v->n_top, &v->sources);
	if (!err)
		err = conn_events_read(cm->events_fd, v->events);
	return err;
}

void conn_source_format(const struct rw_src_key *key, uint32_t prefix4, uint32_t prefix6,
			char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	uint32_t prefix = key->family == 4 ? prefix4 : prefix6;

	inet_ntop(key->family == 4 ? AF_INET : AF_INET6, key->addr, addr, sizeof(addr));
	if (prefix == (key->family == 4 ? 32U : 128U))
		snprintf(buf, len, "%s", addr);
	else
		snprintf(buf, len, "%s/%u", addr, prefix);
}

static void cap_format(uint32_t cap, char *buf, size_t len)
{
	if (cap)
		snprintf(buf, len, "%u", cap);
	else
		snprintf(buf, len, "-");
}

void conns_view_print(FILE *f, const struct conns_view *v, const struct rw_config *cfg,
		      const struct rw_policy *pol)
{
	char name[RW_NAME_MAX], src[64], a[16], b[16];

	fprintf(f, "  connections counted in cgroup %s; %" PRIu64 " of %u table entries in use\n",
		cfg->cgroup_path, v->sources, cfg->conn_entries);
	if (!v->cgroup_attached)
		fprintf(f, "  WARNING: that cgroup was removed: new connections are not counted and "
			   "the caps do not hold; detach and attach again, to a directory that "
			   "outlives the gateway's restarts (its slice)\n");
	fprintf(f, "  %-16s %10s %12s %12s\n", "class", "open", "source cap", "class cap");
	for (uint32_t id = 0; id < RW_MAX_CLASSES; id++) {
		const struct rw_class_limits *cl = &pol->classes[id];

		/* Classes the policy no longer has still show while they hold some. */
		if (id >= pol->n_classes && !v->by_class[id])
			continue;
		cap_format(id < pol->n_classes ? cl->src_conn : 0, a, sizeof(a));
		cap_format(id < pol->n_classes ? cl->class_conn : 0, b, sizeof(b));
		fprintf(f, "  %-16s %10" PRIu64 " %12s %12s\n",
			live_class_name(pol, id, name, sizeof(name)), v->by_class[id], a, b);
	}
	if (v->n_top) {
		fprintf(f, "  %-40s %-16s %10s\n", "top sources by open connections", "class",
			"open");
		for (size_t i = 0; i < v->n_top; i++) {
			conn_source_format(&v->top[i].key, cfg->prefix4, cfg->prefix6, src,
					   sizeof(src));
			fprintf(f, "  %-40s %-16s %10" PRIu64 "\n", src,
				live_class_name(pol, v->top[i].key.class_id, name, sizeof(name)),
				v->top[i].open);
		}
	}
	fprintf(f, "  connection events:");
	for (unsigned int e = 0; e < RW_CONN_EVENT_MAX; e++)
		fprintf(f, " %s %" PRIu64, conn_event_name(e), v->events[e]);
	fprintf(f, "\n");
}

json_object *conns_view_to_json(const struct conns_view *v, const struct rw_config *cfg,
				const struct rw_policy *pol)
{
	json_object *o = json_object_new_object();
	json_object *classes = json_object_new_array();
	json_object *top = json_object_new_array();
	json_object *events = json_object_new_object();
	char name[RW_NAME_MAX], src[64];

	json_object_object_add(o, "cgroup", json_object_new_string(cfg->cgroup_path));
	json_object_object_add(o, "cgroup_id", json_object_new_uint64(cfg->cgroup_id));
	json_object_object_add(o, "cgroup_attached", json_object_new_boolean(v->cgroup_attached));
	json_object_object_add(o, "table_size", json_object_new_uint64(cfg->conn_entries));
	json_object_object_add(o, "sources", json_object_new_uint64(v->sources));
	for (uint32_t id = 0; id < RW_MAX_CLASSES; id++) {
		json_object *c;

		if (id >= pol->n_classes && !v->by_class[id])
			continue;
		c = json_object_new_object();
		json_object_object_add(c, "class", json_object_new_string(
							   live_class_name(pol, id, name, sizeof(name))));
		json_object_object_add(c, "open", json_object_new_uint64(v->by_class[id]));
		json_object_array_add(classes, c);
	}
	json_object_object_add(o, "classes", classes);
	for (size_t i = 0; i < v->n_top; i++) {
		json_object *e = json_object_new_object();

		conn_source_format(&v->top[i].key, cfg->prefix4, cfg->prefix6, src, sizeof(src));
		json_object_object_add(e, "source", json_object_new_string(src));
		json_object_object_add(e, "class", json_object_new_string(live_class_name(
							   pol, v->top[i].key.class_id, name,
							   sizeof(name))));
		json_object_object_add(e, "open", json_object_new_uint64(v->top[i].open));
		json_object_array_add(top, e);
	}
	json_object_object_add(o, "top_sources", top);
	for (unsigned int e = 0; e < RW_CONN_EVENT_MAX; e++)
		json_object_object_add(events, conn_event_name(e),
				       json_object_new_uint64(v->events[e]));
	json_object_object_add(o, "events", events);
	return o;
}
