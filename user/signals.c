// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <math.h>
#include <string.h>

#include "signals.h"

void signal_sample_clear(struct signal_sample *s)
{
	/* zero first so the strings are empty and padding is defined */
	memset(s, 0, sizeof(*s));
	s->at_ns = 0;
	s->seq = 0;
	s->health = SIGNAL_HEALTH_NONE;
	s->health_status = 0;
	s->probe_ms = NAN;
	s->latency_ms = NAN;
	s->error_ratio = NAN;
	s->requests = NAN;
	s->cpu = NAN;
	s->queue_depth = -1;
	s->queue_backlog = -1;
	s->listen_drops = -1;
}
