/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The fleet's shared store of quotas: one Redis, reached with hiredis.
 * Each sync is one atomic Lua script (user/quota_script.lua) covering
 * every shared bucket of this gateway, sent in one round trip: it records
 * the gateway's demand and admissions, renews its membership, and answers
 * with its share of each bucket for the next interval. Every key of a
 * fleet carries the fleet's hash tag, so a Redis Cluster keeps them in one
 * slot and one script can touch them all.
 *
 * quota_conn is the synchronous client (tests use it directly); quota_client
 * runs it on its own thread so that a Redis that does not answer never
 * holds up the daemon's loop.
 */
#ifndef RW_QUOTA_REDIS_H
#define RW_QUOTA_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ratewall.h"

#define QUOTA_SERVERS_MAX 8
#define QUOTA_ERROR_MAX 256

/* One Redis address: a TCP host and port, or a unix socket path. */
struct quota_server {
	char host[256];      /* "" for a unix socket */
	uint16_t port;
	char unix_path[108]; /* "" for TCP */
};

struct quota_redis_config {
	/* Tried in order until one answers as a master (ROLE): a Sentinel-
	 * managed set is listed whole and the promoted replica is found. */
	struct quota_server servers[QUOTA_SERVERS_MAX];
	size_t n_servers;
	char username[64];   /* "": AUTH with the password alone */
	char password[256];  /* "": no AUTH */
	char prefix[64];     /* every key starts with it */
	char fleet[64];      /* the gateways sharing quotas; the keys' hash tag */
	char member[160];    /* this gateway, unique in the fleet */
	uint32_t timeout_ms; /* for the connect, and for each reply */
	uint32_t ttl_ms;     /* a member's record and its grants live this long after its sync */
};

/* What this gateway says about one shared bucket. */
struct quota_request {
	char name[RW_QUOTA_NAME_MAX]; /* "class/api/syn", see rw_quota */
	double rate;         /* the fleet's rate, per second */
	double burst;        /* the fleet's burst */
	double demand;       /* what reaches the bucket here, per second */
	uint64_t admitted;   /* what it admitted here since the last sync */
};

/* What the store answers for it. */
struct quota_grant {
	double rate;         /* this gateway's share of the rate, per second (0..rate) */
	double burst;        /* its share of the burst: burst x share / rate (not rounded),
			      * of the smallest rate and burst any live gateway declares */
	uint32_t members;    /* gateways with a live record for the bucket, this one included */
	uint64_t admitted;   /* the fleet's admissions reported for it while its key lived */
	uint32_t mismatched; /* other gateways declaring another rate or burst; the
			      * smallest declared is shared meanwhile */
};

struct quota_batch {
	size_t n;
	struct quota_request req[RW_MAX_QUOTAS];
	struct quota_grant grant[RW_MAX_QUOTAS];   /* filled by a sync that answered */
	uint32_t replicas;   /* live members of the fleet */
	int err;             /* 0; -ETIMEDOUT: no answer in time; other -errno */
	char error[QUOTA_ERROR_MAX]; /* what failed, naming the server ("" when err is 0) */
	char server[300];    /* the server that answered, "host:port" or the socket path */
	uint64_t started_ns, finished_ns; /* CLOCK_MONOTONIC around the sync */
};

struct quota_conn;

struct quota_conn *quota_conn_new(void);
void quota_conn_free(struct quota_conn *c);

/*
 * One sync. Connects first when not connected (each server in order, with
 * the timeout; AUTH when a password is set; a server whose ROLE is not
 * master is skipped; a Cluster MOVED answer is followed once), then runs
 * the script for the n buckets of b in one round trip. Fills b->grant,
 * b->replicas and b->server, or b->err and b->error; after a failure the
 * connection is dropped and the next call connects again. Returns b->err.
 */
int quota_conn_sync(struct quota_conn *c, const struct quota_redis_config *cfg,
		    struct quota_batch *b);

/* Removes this member's records for the buckets named in b and its
 * membership, so the others can take its shares at once. Best effort,
 * one round trip bounded by the timeout; 0 or -errno. */
int quota_conn_leave(struct quota_conn *c, const struct quota_redis_config *cfg,
		     const struct quota_batch *b);

struct quota_client;

/* Starts the thread; NULL with the reason in err when it cannot. */
struct quota_client *quota_client_start(const struct quota_redis_config *cfg, char *err,
					size_t len);
/* Readable (epoll) when a submitted batch is done. */
int quota_client_fd(const struct quota_client *qc);
/* Hands a batch to the thread; false, changing nothing, while the last one is out. */
bool quota_client_submit(struct quota_client *qc, const struct quota_batch *b);
/* The finished batch into *out, if there is one (true); drains the fd. */
bool quota_client_result(struct quota_client *qc, struct quota_batch *out);
/* Stops the thread, after the batch in flight (bounded by its timeouts:
 * connect and reply for each server tried, plus one retry). `leave`: then
 * removes this member's records for the buckets of *leave
 * (quota_conn_leave) if the connection is open; NULL: leaves them to
 * expire. */
void quota_client_stop(struct quota_client *qc, const struct quota_batch *leave);

#endif
