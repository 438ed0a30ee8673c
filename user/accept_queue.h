/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* How full the accept queues of TCP listeners on given ports are, read with sock_diag. */
#ifndef RW_ACCEPT_QUEUE_H
#define RW_ACCEPT_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct accept_queue {
	uint32_t depth;     /* connections waiting in accept queues, summed over the listeners found */
	uint32_t backlog;   /* their backlog limits, summed */
	uint32_t listeners; /* listening sockets found on those ports */
};

/*
 * Sums the listeners on any of ports[0..n) (host byte order), IPv4 and IPv6,
 * in the calling process's network namespace. 0 on success (listeners may be
 * 0: nothing listens there), or -errno when the netlink query fails.
 */
int accept_queue_read(const uint16_t *ports, size_t n, struct accept_queue *out);

#endif
