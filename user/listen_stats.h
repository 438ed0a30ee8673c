/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The TCP listen-queue drop counters of a network namespace (TcpExt in netstat). */
#ifndef RW_LISTEN_STATS_H
#define RW_LISTEN_STATS_H

#include <stdint.h>

struct listen_stats {
	uint64_t overflows; /* ListenOverflows: a full accept queue refused a handshake */
	uint64_t drops;     /* ListenDrops: any drop at a listener (overflows included) */
};

/* Parses the text of /proc/net/netstat. 0, or -EINVAL without both counters. */
int listen_stats_parse(const char *text, struct listen_stats *out);

/*
 * Reads /proc/thread-self/net/netstat: the calling thread's network
 * namespace, which after setns is not the process's. 0 or -errno.
 */
int listen_stats_read(struct listen_stats *out);

#endif
