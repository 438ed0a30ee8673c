// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <bpf/bpf.h>

#include "live_rates.h"
#include "map_mmap.h"
#include "policy_values.h"

uint64_t live_rate_word(uint64_t written, double mult)
{
	uint64_t interval = rw_limit_interval(written), burst = rw_limit_burst(written);
	double scaled;

	if (!written)
		return 0;
	if (!(mult > 0) || mult == 1.0)
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

int live_rates_seed(int adapt_fd, const struct policy_image *img, struct rw_policy *next)
{
	struct rw_adapt a;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(adapt_fd, &zero, &a))
		return -errno;
	for (uint32_t id = 0; id < next->n_classes && id < RW_MAX_CLASSES; id++) {
		const struct control_class_policy *b = &img->adaptive[id];
		double mult;
		bool shed;

		if (!b->adaptive || !live_rates_stored(&a, next->class_names[id], &mult, &shed))
			continue;
		mult = fmin(fmax(mult, b->floor), b->ceiling);
		live_rate_scale(&next->classes[id], &img->policy.classes[id], mult);
		next->classes[id].control_shed = shed && b->shed;
	}
	return 0;
}

int live_rates_write(const struct policy_maps *m, uint32_t slot,
		     const struct rw_class_limits written[RW_MAX_CLASSES], uint32_t n_classes,
		     const struct rw_adapt *a)
{
	size_t stride = map_mmap_stride(sizeof(struct rw_policy)), len;
	uint32_t zero = 0;
	char *base;
	struct rw_policy *pol;
	int err = 0;

	base = map_mmap(m->policy_fd, stride * RW_POLICY_SLOTS, &len);
	if (!base)
		return -errno;
	pol = (struct rw_policy *)(base + stride * (slot & (RW_POLICY_SLOTS - 1)));
	for (uint32_t id = 0; id < n_classes && id < RW_MAX_CLASSES; id++) {
		struct rw_class_limits *live = &pol->classes[id], want = *live;
		double mult = 1.0;
		bool shed = false;

		live_rates_stored(a, pol->class_names[id], &mult, &shed);
		live_rate_scale(&want, &written[id], mult);
		/* one store per word: a packet sees the old rate or the new, never half */
		__atomic_store_n(&live->src_pkt, want.src_pkt, __ATOMIC_RELAXED);
		__atomic_store_n(&live->src_syn, want.src_syn, __ATOMIC_RELAXED);
		__atomic_store_n(&live->class_pkt, want.class_pkt, __ATOMIC_RELAXED);
		__atomic_store_n(&live->class_syn, want.class_syn, __ATOMIC_RELAXED);
		__atomic_store_n(&live->control_shed, (uint8_t)shed, __ATOMIC_RELEASE);
	}
	munmap(base, len);
	if (bpf_map_update_elem(m->adapt_fd, &zero, a, BPF_ANY))
		err = -errno;
	return err;
}

void live_rates_written(const struct policy *p, struct rw_class_limits out[RW_MAX_CLASSES])
{
	memset(out, 0, sizeof(struct rw_class_limits) * RW_MAX_CLASSES);
	for (size_t id = 0; id < p->n_classes && id < RW_MAX_CLASSES; id++) {
		out[id].src_pkt = policy_limit_word(&p->classes[id].source.packets);
		out[id].src_syn = policy_limit_word(&p->classes[id].source.syn);
		out[id].class_pkt = policy_limit_word(&p->classes[id].global.packets);
		out[id].class_syn = policy_limit_word(&p->classes[id].global.syn);
	}
}
