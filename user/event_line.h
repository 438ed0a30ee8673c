/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * One refusal record as the JSON line operators grep across gateways
 * (README "Shed events" lists the fields). Names come from the live
 * policy, the wait from the live buckets, the queue depth from the
 * gateway's listeners: each is null when not known, never guessed.
 */
#ifndef RW_EVENT_LINE_H
#define RW_EVENT_LINE_H

#include <stdint.h>
#include <json-c/json.h>
#include "client_id.h"
#include "event_stream.h"
#include "explain.h"
#include "policy.h"

struct event_line_ctx {
	const char *instance_id;
	const struct policy *model;      /* the live policy */
	const struct rw_policy *active;  /* its slot, for class names */
	struct explain_maps maps;
	bool redact;                     /* the live policy asks for hashed client ids (or
					  * could not be read: then no id is written) */
	struct client_key key;           /* their key; len 0 while it cannot be read */
	int64_t realtime_offset_ns;      /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	/* accept-queue depth by class, read at most every 100 ms */
	struct {
		uint64_t read_at_ns;
		int64_t depth; /* -1: not known */
	} queue[RW_MAX_CLASSES];
};

/* A CLOCK_REALTIME time as the lines write it: 2026-11-23T16:24:24.592Z. */
json_object *event_line_timestamp(int64_t realtime_ns);

/* The head of a line the daemon writes itself (control loop, quota):
 * ts and gateway_instance_id. */
json_object *event_line_head(const char *instance_id, int64_t realtime_ns);

/* The line's object; NULL when out of memory. `now_ns`: CLOCK_MONOTONIC. */
json_object *event_line_build(struct event_line_ctx *c, const struct event_record *r,
			      uint64_t now_ns);

/* "shed", "would_drop" or "drop". */
const char *event_action(const struct rw_event_key *key);

#endif
