// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <string.h>
#include <time.h>

#include "accept_queue.h"
#include "counters.h"
#include "event_line.h"
#include "policy_show.h"

#define QUEUE_READ_EVERY_NS 100000000ULL
#define QUEUE_PORTS_MAX 256

const char *event_action(const struct rw_event_key *key)
{
	if (key->verdict == RW_VERDICT_WOULD_DROP)
		return "would_drop";
	return key->reason == RW_REASON_SHED ? "shed" : "drop";
}

json_object *event_line_timestamp(int64_t realtime_ns)
{
	time_t secs = (time_t)(realtime_ns / 1000000000);
	char buf[64];
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%03dZ",
		 (int)(realtime_ns / 1000000 % 1000));
	return json_object_new_string(buf);
}

static bool syn_reason(unsigned int reason)
{
	return reason == RW_REASON_SRC_SYN || reason == RW_REASON_TENANT_SYN ||
	       reason == RW_REASON_CLASS_SYN || reason == RW_REASON_SHED ||
	       reason == RW_REASON_SRC_CONN || reason == RW_REASON_CLASS_CONN;
}

/*
 * Until the refusing limit admits again: the longest wait among the
 * buckets of that reason; null for a limit no wait opens (a list, shed, a
 * connection cap), 0 when it admits now.
 */
static json_object *retry_after(const struct explain_result *x, unsigned int reason)
{
	uint64_t wait = 0;

	if (reason == RW_REASON_DENY || reason == RW_REASON_SHED || reason == RW_REASON_SRC_CONN ||
	    reason == RW_REASON_CLASS_CONN)
		return NULL;
	for (unsigned int i = 0; i < x->n_checks; i++)
		if (x->checks[i].reason == reason && x->checks[i].wait_ns > wait)
			wait = x->checks[i].wait_ns;
	return json_object_new_int64((int64_t)((wait + 999999) / 1000000));
}

/* The accept-queue depth of the class's TCP listeners, or -1. */
static int64_t queue_depth(struct event_line_ctx *c, uint32_t class_id, uint64_t now_ns)
{
	const struct policy_class *cl;
	uint16_t ports[QUEUE_PORTS_MAX];
	struct accept_queue q;
	size_t n = 0;

	if (class_id >= c->model->n_classes)
		return -1;
	if (c->queue[class_id].read_at_ns && now_ns - c->queue[class_id].read_at_ns < QUEUE_READ_EVERY_NS)
		return c->queue[class_id].depth;
	cl = &c->model->classes[class_id];
	for (size_t i = 0; i < cl->n_ports; i++) {
		if (cl->ports[i].proto != RW_PROTO_TCP)
			continue;
		for (uint32_t p = cl->ports[i].first; p <= cl->ports[i].last && n < QUEUE_PORTS_MAX; p++)
			ports[n++] = (uint16_t)p;
	}
	c->queue[class_id].read_at_ns = now_ns;
	c->queue[class_id].depth = -1;
	if (n && accept_queue_read(ports, n, &q) == 0 && q.listeners)
		c->queue[class_id].depth = q.depth;
	return c->queue[class_id].depth;
}

static const char *mesh_node_id(const struct policy *p, const char *tenant)
{
	for (size_t i = 0; tenant[0] && i < p->n_tenants; i++)
		if (!strcmp(p->tenants[i].name, tenant))
			return p->tenants[i].mesh_node_id[0] ? p->tenants[i].mesh_node_id : NULL;
	return NULL;
}

json_object *event_line_build(struct event_line_ctx *c, const struct event_record *r,
			      uint64_t now_ns)
{
	static const struct client_key no_key;
	const struct rw_event_key *k = &r->key;
	json_object *o = json_object_new_object();
	json_object *client = NULL, *wait = NULL, *tenant = NULL, *mesh = NULL;
	char class_name[RW_NAME_MAX], id[CLIENT_ID_MAX];
	int64_t depth;

	if (!o)
		return NULL;
	/* "other sources" have no address to name or to look a wait up for */
	if (k->family == 4 || k->family == 6) {
		struct explain_packet pkt = {
			.family = k->family,
			.proto = RW_PROTO_MAX,
			.syn = syn_reason(k->reason),
			.by_class = true,
			.class_id = k->class_id,
		};
		struct explain_result x;

		memcpy(pkt.addr, k->addr, sizeof(pkt.addr));
		/* never the address when the policy that judged it, or the
		 * live one, asks to hide it */
		bool hash = r->hashed_client_ids == 1 || (r->hashed_client_ids < 0 && c->redact);

		if (!hash || c->key.len) {
			client_id_format(hash ? &c->key : &no_key, k->family, k->addr, id);
			client = json_object_new_string(id);
		}
		if (explain(&c->maps, &pkt, now_ns, &x) == 0) {
			wait = retry_after(&x, k->reason);
			if (x.tenant_id) {
				const char *m = mesh_node_id(c->model, x.tenant_name);

				tenant = json_object_new_string(x.tenant_name);
				mesh = m ? json_object_new_string(m) : NULL;
			}
		}
	}
	depth = queue_depth(c, k->class_id, now_ns);
	json_object_object_add(o, "ts", event_line_timestamp((int64_t)r->ts_ns + c->realtime_offset_ns));
	json_object_object_add(o, "gateway_instance_id", json_object_new_string(c->instance_id));
	json_object_object_add(o, "mesh_node_id", mesh);
	json_object_object_add(o, "tenant", tenant);
	json_object_object_add(o, "route_class",
			       json_object_new_string(r->class_name[0] ? r->class_name
								       : live_class_name(c->active, k->class_id,
											 class_name,
											 sizeof(class_name))));
	json_object_object_add(o, "limit_name", json_object_new_string(reason_name(k->reason)));
	json_object_object_add(o, "client_id", client);
	json_object_object_add(o, "action", json_object_new_string(event_action(k)));
	json_object_object_add(o, "packets", json_object_new_int64((int64_t)r->packets));
	json_object_object_add(o, "retry_after_ms", wait);
	json_object_object_add(o, "queue_depth_hint", depth < 0 ? NULL : json_object_new_int64(depth));
	return o;
}

json_object *event_line_head(const char *instance_id, int64_t realtime_ns)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ts", event_line_timestamp(realtime_ns));
	json_object_object_add(o, "gateway_instance_id", json_object_new_string(instance_id));
	return o;
}
