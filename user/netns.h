/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Which network and mount namespace this process runs in. */
#ifndef RW_NETNS_H
#define RW_NETNS_H

#include <stdbool.h>
#include <stdint.h>

/* The current network namespace's cookie: unique and never reused. */
int netns_cookie(uint64_t *cookie);

/* True when this process is in the host (initial) network namespace. */
bool netns_is_host(void);

/*
 * True when this process's mount namespace is not the host's (PID 1's),
 * as under `ip netns exec` or `unshare -m`: a bpffs mounted there would
 * die with the command.
 */
bool mntns_is_private(void);

#endif
