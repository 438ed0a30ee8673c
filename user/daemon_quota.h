/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The daemon's part in the fleet's shared buckets (README "Several
 * gateways, one quota"). Every sync interval it reads what reached each
 * shared bucket here, hands the batch to the store's client thread
 * (quota_redis.h), and writes the shares that come back into the kernel
 * under a lease. When the store does not answer, every shared bucket goes
 * to its safe share at once; the first answer brings the shares back.
 * Each switch is one JSON line.
 */
#ifndef RW_DAEMON_QUOTA_H
#define RW_DAEMON_QUOTA_H

#include <stdbool.h>
#include <stdint.h>
#include "policy.h"
#include "policy_maps.h"
#include "quota_redis.h"

/* Round trips of a sync, by upper bound in seconds (the metrics' histogram). */
#define QUOTA_RTT_BUCKETS 9
extern const double quota_rtt_bounds[QUOTA_RTT_BUCKETS];

enum quota_mode { QUOTA_STARTING = 0, QUOTA_SHARED, QUOTA_SAFE };

/* Syncs after joining the fleet (or coming back to it) in which the safe
 * share stays in force while the grant is smaller: the time the others
 * take to give their parts back. */
#define QUOTA_JOIN_SYNCS 3

/* What the daemon counts of its syncs, for the metrics. */
struct quota_sync_stats {
	bool configured;          /* the live policy shares buckets */
	enum quota_mode mode;
	uint64_t ok, failed;      /* syncs the store answered, and did not */
	uint64_t skipped;         /* intervals whose sync was not sent: the last was still out */
	uint64_t to_safe, to_shared;
	uint64_t rtt_le[QUOTA_RTT_BUCKETS]; /* answered syncs by round trip, cumulative */
	double rtt_sum_s;
	double degraded_s;        /* time this daemon kept the buckets in safe share */
	uint32_t replicas;        /* gateways in the fleet at the last answer */
};

/* What the last sync read of one shared bucket, by name. */
struct quota_seen {
	char name[RW_QUOTA_NAME_MAX];
	uint64_t reached, admitted;
	double demand;
};

struct daemon_quota {
	bool running;                     /* a client runs for the live policy */
	struct quota_client *client;
	struct quota_redis_config cfg;
	struct policy_quota section;      /* the settings it runs with */
	int timer_fd;                     /* fires every sync interval */
	struct rw_quota *table;           /* the rw_quotas map, mapped */
	size_t table_len;
	struct quota_seen seen[RW_MAX_QUOTAS]; /* by id in `slot` */
	uint32_t slot;
	uint64_t generation;
	uint64_t read_ns;                 /* CLOCK_MONOTONIC of the last read */
	bool in_flight;
	struct quota_batch out;           /* the batch out, or the last one */
	uint8_t out_ids[RW_MAX_QUOTAS];   /* the id of each of its buckets */
	uint32_t out_slot;
	uint64_t out_generation;
	uint64_t mode_since_ns;           /* CLOCK_MONOTONIC; degraded time is counted up to here */
	uint64_t safe_at_ns;              /* CLOCK_MONOTONIC of the last switch to safe share */
	uint32_t joining;                 /* answered syncs left in which a share below the
					   * safe share is not written (QUOTA_JOIN_SYNCS) */
	struct quota_sync_stats stats;
	char error[256];                  /* why the shares cannot be synced ("" when fine) */
	bool refused;                     /* error is the store refusing our credentials */
};

/* A JSON line for the events output (written, or dropped without one). */
typedef void (*quota_line_fn)(void *ctx, const char *line);

void daemon_quota_init(struct daemon_quota *dq);

/*
 * Follows the live policy: starts the client when it shares buckets (or
 * restarts it when the quota section changed), stops it when it no longer
 * does. `member` names this gateway in the fleet. A failure (an
 * unreadable password file, no thread) is said on stderr, kept in
 * dq->error, and leaves every shared bucket at its safe share.
 */
int daemon_quota_configure(struct daemon_quota *dq, const struct policy *p,
			   const struct policy_maps *m, const char *member);

/* The fds to poll: the sync timer and the client's, or -1. */
int daemon_quota_timer_fd(const struct daemon_quota *dq);
int daemon_quota_client_fd(const struct daemon_quota *dq);

/* The timer fired: read the counts and send the batch. */
void daemon_quota_on_timer(struct daemon_quota *dq, const struct policy_maps *m);

/* The client answered (or failed): write the shares, or go to safe share. */
void daemon_quota_on_result(struct daemon_quota *dq, const struct policy_maps *m,
			    const char *instance_id, int64_t realtime_offset_ns, quota_line_fn line,
			    void *ctx);

/* Stops the client and leaves the fleet: the buckets go to their safe
 * share and the store gives this gateway's shares to the others. */
void daemon_quota_stop(struct daemon_quota *dq);

#endif
