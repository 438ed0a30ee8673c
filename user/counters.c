// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "counters.h"
#include "percpu.h"

static const char *const reason_names[RW_REASON_MAX] = {
	[RW_REASON_ADMITTED] = "admitted",
	[RW_REASON_NON_IP] = "non_ip",
	[RW_REASON_MALFORMED] = "malformed",
	[RW_REASON_SRC_PKT] = "src_pkt",
	[RW_REASON_CONTENDED] = "contended",
	[RW_REASON_NO_STATE] = "no_state",
	[RW_REASON_SRC_NEW] = "src_new",
	[RW_REASON_DENY] = "deny",
	[RW_REASON_ALLOW] = "allow",
	[RW_REASON_SHED] = "shed",
	[RW_REASON_SRC_SYN] = "src_syn",
	[RW_REASON_TENANT_SYN] = "tenant_syn",
	[RW_REASON_TENANT_PKT] = "tenant_pkt",
	[RW_REASON_CLASS_SYN] = "class_syn",
	[RW_REASON_CLASS_PKT] = "class_pkt",
	[RW_REASON_SRC_CONN] = "src_conn",
	[RW_REASON_CLASS_CONN] = "class_conn",
};

static const char *const verdict_names[RW_VERDICT_MAX] = {
	[RW_VERDICT_PASS] = "pass",
	[RW_VERDICT_DROP] = "drop",
	[RW_VERDICT_WOULD_DROP] = "would_drop",
};

const char *reason_name(unsigned int reason)
{
	return reason < RW_REASON_MAX ? reason_names[reason] : "unknown";
}

const char *verdict_name(unsigned int verdict)
{
	return verdict < RW_VERDICT_MAX ? verdict_names[verdict] : "unknown";
}

int counters_read(int map_fd, struct counter_table *out)
{
	_Static_assert(sizeof(struct rw_counter) == 2 * sizeof(uint64_t),
		       "a counter is two 64-bit words: packets, bytes");
	return percpu_sum(map_fd, RW_COUNTER_SLOTS, 2, (uint64_t *)out->slot);
}

uint64_t counters_verdict_packets(const struct counter_table *t, unsigned int verdict)
{
	uint64_t sum = 0;

	for (unsigned int c = 0; c < RW_MAX_CLASSES; c++)
		for (unsigned int r = 0; r < RW_REASON_MAX; r++)
			sum += t->slot[rw_counter_index(c, r, verdict)].packets;
	return sum;
}
