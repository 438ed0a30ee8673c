// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <string.h>

#include "policy_builtin.h"

void policy_builtin(struct policy *p, uint64_t rate, uint64_t burst)
{
	struct policy_class *def = &p->classes[0];

	memset(p, 0, sizeof(*p));
	p->n_classes = 1;
	strcpy(def->name, "default");
	def->mode = RW_CLASS_ENFORCE;
	def->source.packets.count = rate;
	def->source.packets.period_ns = RW_NS_PER_SEC;
	def->source.packets.burst = burst;
}
