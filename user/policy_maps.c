// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <bpf/libbpf.h>

#include "policy_maps.h"
#include "ratewall.skel.h"

void policy_maps_of_skeleton(struct ratewall_bpf *skel, struct policy_maps *m)
{
	m->config_fd = bpf_map__fd(skel->maps.rw_config);
	m->policy_fd = bpf_map__fd(skel->maps.rw_policy);
	m->ports_fd = bpf_map__fd(skel->maps.rw_ports);
	m->cidrs_fd = bpf_map__fd(skel->maps.rw_cidrs);
	m->tenants_fd = bpf_map__fd(skel->maps.rw_tenants);
	m->tenant_state_fd = bpf_map__fd(skel->maps.rw_tenant_state);
	m->class_state_fd = bpf_map__fd(skel->maps.rw_class_state);
	m->counters_fd = bpf_map__fd(skel->maps.rw_counters);
	m->text_fd = bpf_map__fd(skel->maps.rw_policy_text);
	m->events.ring_fd = bpf_map__fd(skel->maps.rw_events);
	m->events.entries_fd = bpf_map__fd(skel->maps.rw_event_entries);
	m->events.acct_fd = bpf_map__fd(skel->maps.rw_event_acct);
	m->events.stats_fd = bpf_map__fd(skel->maps.rw_event_stats);
	m->events.other_fd = bpf_map__fd(skel->maps.rw_event_other);
	m->adapt_fd = bpf_map__fd(skel->maps.rw_adapt);
	m->quotas_fd = bpf_map__fd(skel->maps.rw_quotas);
	m->quota_counts_fd = bpf_map__fd(skel->maps.rw_quota_counts);
}
