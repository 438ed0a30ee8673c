// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <bpf/bpf.h>

#include "clocks.h"
#include "live_rates.h"
#include "map_mmap.h"
#include "policy_values.h"

/* A record is fresh for this many of its intervals after its last sample. */
#define FRESH_INTERVALS 4
#define FRESH_MIN_NS 2000000000ULL

uint64_t live_rate_word(uint64_t written, double mult)
{
	uint64_t interval = rw_limit_interval(written), burst = rw_limit_burst(written);
	double scaled;

	if (!written)
		return 0;
	if (!(mult > 0) || !isfinite(mult) || mult == 1.0)
		return written;
	/* rounded up, like the written one: never admits more than the rate */
	scaled = ceil((double)interval / mult);
	if (scaled < 1)
		scaled = 1;
	if (scaled > (double)(POLICY_INTERVAL_LIMIT - 1))
		scaled = (double)(POLICY_INTERVAL_LIMIT - 1);
	if (burst && scaled > (double)(RW_WINDOW_MAX / burst))
		scaled = (double)(RW_WINDOW_MAX / burst);
	return rw_limit_pack((uint64_t)scaled, burst);
}

void live_rate_scale(struct rw_class_limits *l, const struct rw_class_limits *written, double mult)
{
	l->src_pkt = live_rate_word(written->src_pkt, mult);
	l->src_syn = live_rate_word(written->src_syn, mult);
	l->class_pkt = live_rate_word(written->class_pkt, mult);
	l->class_syn = live_rate_word(written->class_syn, mult);
}

bool live_rates_stored(const struct rw_adapt *a, const char *name, double *mult, bool *shed)
{
	for (int i = 0; i < RW_MAX_CLASSES; i++) {
		const struct rw_adapt_class *c = &a->classes[i];

		if (c->name[0] && c->mult_ppm && !strncmp(c->name, name, RW_NAME_MAX)) {
			*mult = (double)c->mult_ppm / RW_ADAPT_PPM;
			*shed = c->shed;
			return true;
		}
	}
	return false;
}

bool live_rates_fresh(const struct rw_adapt *a, uint64_t now_ns)
{
	uint64_t span = (uint64_t)a->interval_ms * 1000000ULL * FRESH_INTERVALS;

	if (span < FRESH_MIN_NS)
		span = FRESH_MIN_NS;
	int64_t age = (int64_t)(now_ns - a->sampled_at_ns);

	return a->samples && age > -(int64_t)span && age < (int64_t)span;
}

int live_rates_seed(int adapt_fd, const struct policy_image *img, struct rw_policy *next)
{
	struct rw_adapt a;
	uint32_t zero = 0;
	bool fresh;

	if (bpf_map_lookup_elem(adapt_fd, &zero, &a))
		return -errno;
	fresh = live_rates_fresh(&a, realtime_ns());
	for (uint32_t id = 0; id < next->n_classes && id < RW_MAX_CLASSES; id++) {
		const struct control_class_policy *b = &img->adaptive[id];
		double mult;
		bool shed;

		if (!b->adaptive || !live_rates_stored(&a, next->class_names[id], &mult, &shed))
			continue;
		mult = fmin(fmax(mult, b->floor), b->ceiling);
		live_rate_scale(&next->classes[id], &img->policy.classes[id], mult);
		next->classes[id].control_shed = shed && b->shed && fresh;
	}
	return 0;
}

int live_rates_write(const struct policy_maps *m, const struct live_rates_base *base,
		     const struct rw_adapt *a)
{
	size_t stride = map_mmap_stride(sizeof(struct rw_policy)), len;
	struct rw_config cfg;
	struct rw_policy *pol;
	uint32_t zero = 0, slot;
	char *maps;
	int err = 0;

	if (bpf_map_lookup_elem(m->config_fd, &zero, &cfg))
		return -errno;
	slot = cfg.policy_slot & (RW_POLICY_SLOTS - 1);
	maps = map_mmap(m->policy_fd, stride * RW_POLICY_SLOTS, &len);
	if (!maps)
		return -errno;
	pol = (struct rw_policy *)(maps + stride * slot);
	if (pol->generation != base->generation || memcmp(pol->hash, base->hash, sizeof(pol->hash))) {
		munmap(maps, len);
		return -ESTALE;
	}
	for (uint32_t id = 0; id < base->n_classes && id < RW_MAX_CLASSES; id++) {
		struct rw_class_limits *live = &pol->classes[id], want = *live;
		double mult = 1.0;
		bool shed = false;

		/* only what the loop owns: the adaptive classes it read */
		if (!base->adaptive[id] || strncmp(pol->class_names[id], base->names[id], RW_NAME_MAX))
			continue;
		live_rates_stored(a, base->names[id], &mult, &shed);
		live_rate_scale(&want, &base->written[id], mult);
		/* one store per word: a packet sees the old rate or the new, never half */
		__atomic_store_n(&live->src_pkt, want.src_pkt, __ATOMIC_RELAXED);
		__atomic_store_n(&live->src_syn, want.src_syn, __ATOMIC_RELAXED);
		__atomic_store_n(&live->class_pkt, want.class_pkt, __ATOMIC_RELAXED);
		__atomic_store_n(&live->class_syn, want.class_syn, __ATOMIC_RELAXED);
		__atomic_store_n(&live->control_shed, (uint8_t)shed, __ATOMIC_RELEASE);
	}
	munmap(maps, len);
	if (bpf_map_update_elem(m->adapt_fd, &zero, a, BPF_ANY))
		err = -errno;
	return err;
}

int live_rates_record(const struct policy_maps *m, const struct rw_adapt *a)
{
	uint32_t zero = 0;

	return bpf_map_update_elem(m->adapt_fd, &zero, a, BPF_ANY) ? -errno : 0;
}

void live_rates_base_of(const struct policy *p, const struct rw_policy *active,
			struct live_rates_base *out)
{
	memset(out, 0, sizeof(*out));
	out->generation = active->generation;
	memcpy(out->hash, active->hash, sizeof(out->hash));
	out->n_classes = (uint32_t)p->n_classes;
	for (size_t id = 0; id < p->n_classes && id < RW_MAX_CLASSES; id++) {
		snprintf(out->names[id], RW_NAME_MAX, "%s", p->classes[id].name);
		out->adaptive[id] = p->classes[id].adaptive.adaptive;
		policy_class_limits(&p->classes[id], &out->written[id]);
	}
}
