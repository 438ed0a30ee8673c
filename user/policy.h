/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The policy as operators write it (a YAML file, see README "Policy
 * file"), parsed and validated whole into this model before anything
 * touches the kernel. policy_compile.h turns it into map images.
 */
#ifndef RW_POLICY_H
#define RW_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ratewall.h"
#include "controller.h"

/* One token bucket as written: `count` events per `period_ns`, `burst` at once.
 * count == 0 means the bucket is absent (no limit). */
struct policy_limit {
	uint64_t count;
	uint64_t period_ns; /* 1e9 for /s, 60e9 for /m, 3600e9 for /h */
	uint64_t burst;
	int line;           /* where it was written, 0 when absent */
	bool shared;        /* `scope: global`: the whole fleet's bucket, shared through the quota store */
};

/* The two buckets of one scope: packets, and new TCP connections (SYN
 * without ACK); for classes also a cap on open TCP connections. */
struct policy_buckets {
	struct policy_limit packets;
	struct policy_limit syn;
	uint32_t connections; /* 0: no cap */
	int connections_line;
};

/* Destination ports first..last (inclusive) of one protocol. */
struct policy_ports {
	enum rw_port_proto proto;
	uint16_t first, last;
	int line;
};

struct policy_class {
	char name[RW_NAME_MAX];
	int line;
	enum rw_class_mode mode;
	struct policy_ports *ports;
	size_t n_ports;
	struct policy_buckets source; /* per source address (masked by the attach prefix) */
	struct policy_buckets global; /* the whole class, every source together */
	struct control_class_policy adaptive; /* `adaptive:`; .adaptive false when absent */
	int adaptive_line;
};

/* A CIDR with its host bits clear (validation refuses set host bits). */
struct policy_cidr {
	uint8_t family; /* 4 or 6 */
	uint8_t prefix; /* 0..32 or 0..128 */
	uint32_t addr[4]; /* network byte order; IPv4 in addr[0] */
	int line;
};

#define POLICY_MESH_ID_MAX 64

struct policy_tenant {
	char name[RW_NAME_MAX];
	int line;
	struct policy_cidr *cidrs;
	size_t n_cidrs;
	struct policy_buckets all;                      /* all its sources, every class */
	struct policy_buckets per_class[RW_MAX_CLASSES]; /* by class id; absent: count 0 */
	char mesh_node_id[POLICY_MESH_ID_MAX];           /* for its events; "" when not given */
};

/* `control:`, the daemon's adaptive loop; present false when absent. */
#define POLICY_URL_MAX 1024
#define POLICY_METRIC_MAX 128

struct policy_control {
	bool present;
	int line;
	struct control_policy law; /* its knobs; law.classes comes from the classes' adaptive: */
	bool shed_latency_set;     /* shed_latency written (0 then means off) */
	uint32_t cpu_for_ms;       /* how long CPU stays high before it cuts */
	char health_url[POLICY_URL_MAX];
	uint32_t health_timeout_ms;
	char metrics_url[POLICY_URL_MAX];
	uint32_t metrics_timeout_ms;
	char latency_metric[POLICY_METRIC_MAX];
	double quantile;
	char requests_metric[POLICY_METRIC_MAX];
	char netns[4096];          /* the gateway's network namespace; "" the daemon's */
};

/* `quota:`, the store that gateways share their `scope: global` buckets
 * through (README "Several gateways, one quota"); present false when absent. */
#define POLICY_QUOTA_SERVERS 8
#define POLICY_QUOTA_URL_MAX 300
#define POLICY_QUOTA_NAME_MAX 64

struct policy_quota {
	bool present;
	int line;
	char redis[POLICY_QUOTA_SERVERS][POLICY_QUOTA_URL_MAX]; /* redis://HOST:PORT or unix:///PATH */
	size_t n_redis;
	char username[POLICY_QUOTA_NAME_MAX]; /* "": AUTH with the password alone */
	char password_file[4096];             /* "": no AUTH */
	char prefix[POLICY_QUOTA_NAME_MAX];
	char fleet[POLICY_QUOTA_NAME_MAX];
	uint32_t sync_ms;
	uint32_t timeout_ms;
	uint32_t lease_ms;
	double safe_share;  /* fraction of the fleet's rate and burst */
};

/* How events name a client: its address, or a keyed hash of it. */
enum policy_client_id { POLICY_CLIENT_ADDRESS = 0, POLICY_CLIENT_HASHED };

struct policy {
	/* classes[0] is the default class, named "default"; the classes list
	 * of the file follows in file order as ids 1.. */
	struct policy_class classes[RW_MAX_CLASSES];
	size_t n_classes;
	/* tenants[i] gets tenant id i + 1 */
	struct policy_tenant *tenants;
	size_t n_tenants;
	struct policy_cidr *allow, *deny;
	size_t n_allow, n_deny;
	/* `connections:` settings, used at attach (0 / "": not given) */
	uint32_t conn_table;   /* (source, class) pairs with open connections */
	int conn_table_line;
	char cgroup[4096];     /* cgroup v2 directory of the gateway */
	int cgroup_line;
	/* `events:` settings */
	uint32_t event_interval_ms; /* 0: not given (RW_DEFAULT_EVENT_INTERVAL_MS) */
	bool events_off;            /* `interval: off`: the program reports no refusals */
	enum policy_client_id client_id;
	char client_key[4096];      /* the key file of hashed client ids */
	struct policy_control control;
	struct policy_quota quota;
};

/*
 * Parses and validates a policy. On success fills *out and returns 0. On
 * any error returns -EINVAL (-errno when the file cannot be read) and
 * leaves *out empty; `err` then holds every error found, one per line,
 * each "NAME:LINE: message naming the bad value". NAME is the path (or the
 * name given for a string).
 */
int policy_parse_file(const char *path, struct policy *out, char *err, size_t errlen);
int policy_parse_string(const char *name, const char *text, size_t len, struct policy *out,
			char *err, size_t errlen);

/* Frees what a parse allocated; safe on an empty (zeroed) policy. */
void policy_free(struct policy *p);

/* The class id of a class name, or -1. */
int policy_class_id(const struct policy *p, const char *name);

#endif
