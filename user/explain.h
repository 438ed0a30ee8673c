/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * What the XDP program would do with one packet from an address, worked
 * out from the live maps without changing them: each check in the
 * program's order, whether it would pass or refuse, and how long until
 * every bucket would admit (the retry_after of a 429). Read-only.
 */
#ifndef RW_EXPLAIN_H
#define RW_EXPLAIN_H

#include <stdbool.h>
#include <stdint.h>
#include "ratewall.h"
#include "conns.h"
#include "policy_maps.h"

struct explain_maps {
	struct policy_maps policy;
	struct conn_maps conns;
	int sources_fd;
	int global_fd;
};

/* The packet: from `addr`, to `port` over `proto` (RW_PROTO_MAX: no ports). */
struct explain_packet {
	uint8_t family;
	uint32_t addr[4];
	enum rw_port_proto proto;
	uint16_t port;
	bool syn;
	/* with `by_class`, judged in class_id whatever the port says: an
	 * event knows its class, not a port */
	bool by_class;
	uint32_t class_id;
};

enum explain_outcome {
	EXPLAIN_PASS = 0,   /* this check admits it */
	EXPLAIN_REFUSE,     /* this check refuses it */
	EXPLAIN_DECIDES,    /* allow list: admitted without further checks */
};

struct explain_check {
	char name[48];        /* "source packets", "tenant ci syn in web", ... */
	enum rw_reason reason;
	enum explain_outcome outcome;
	bool bucket;          /* a token bucket: tokens and wait are known */
	uint64_t tokens;      /* buckets: how many it would admit now */
	uint64_t wait_ns;     /* buckets: until it admits one (0 when it does now) */
	char detail[64];      /* "20/s burst 40", "3 open, cap 3" */
};

#define EXPLAIN_MAX_CHECKS 16

struct explain_result {
	uint32_t class_id;
	char class_name[RW_NAME_MAX];
	uint32_t tenant_id;
	char tenant_name[RW_NAME_MAX];
	enum rw_list list;
	struct rw_src_key key;  /* the source key the program uses */
	bool known_source;      /* it has an entry in the per-source table */
	struct explain_check checks[EXPLAIN_MAX_CHECKS];
	unsigned int n_checks;
	enum rw_verdict verdict;
	enum rw_reason reason;  /* the first refusal, or admitted/allow */
	/* Until every check would admit: -1 when a refusal has no time (deny,
	 * shed, a connection cap), 0 when it is admitted now. */
	int64_t retry_after_ms;
};

/* The maps explain reads, from an opened attachment. */
struct attachment;
void explain_maps_of(const struct attachment *a, struct explain_maps *m);

/* Fills *out; 0 or -errno when a map cannot be read. `now_ns`: CLOCK_MONOTONIC. */
int explain(const struct explain_maps *m, const struct explain_packet *pkt, uint64_t now_ns,
	    struct explain_result *out);

/* The key of `addr` in `class_id` under the config's prefix masks. */
void explain_source_key(const struct rw_config *cfg, uint8_t family, const uint32_t addr[4],
			uint32_t class_id, struct rw_src_key *key);

/* GCRA arithmetic of one bucket, as gcra.h runs it, for readers. */
uint64_t bucket_tokens(uint64_t tat, uint64_t limit, uint64_t now_ticks);
uint64_t bucket_wait_ns(uint64_t tat, uint64_t limit, uint64_t now_ticks);

#endif
