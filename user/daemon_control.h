/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The daemon's adaptive loop: it takes each sample of the gateway's
 * signals from the sampler thread, reads how much each class refused,
 * runs the controller, writes the live multipliers and shed flags into
 * the kernel (live_rates.h) and reports every change as a JSON line.
 */
#ifndef RW_DAEMON_CONTROL_H
#define RW_DAEMON_CONTROL_H

#include <stdbool.h>
#include <stdint.h>
#include "controller.h"
#include "policy.h"
#include "policy_maps.h"
#include "live_rates.h"
#include "sampler.h"

struct daemon_control {
	bool running;                 /* the live policy has a control section and it samples */
	struct sampler *sampler;
	struct control_policy law;
	struct control_state state;
	struct live_rates_base base;  /* the policy the loop read: names, written limits */
	struct signal_sample last;    /* the last sample acted on */
	struct control_decision decision;
	struct rw_adapt adapt;        /* what the kernel should hold */
	bool dirty;                   /* adapt not yet written (the pins were busy) */
	uint64_t refused[RW_MAX_CLASSES]; /* rate-limit refusals at the last sample */
	bool have_refused;
	char error[256];              /* why the loop cannot run ("" when fine) */
	char write_error[256];        /* why the last write failed ("" when it did not) */
	char said_errors[512];        /* the signal errors last said on stderr */
};

/* A JSON line for the events output; the daemon writes it (or drops it
 * when it has no events output). */
typedef void (*control_line_fn)(void *ctx, const char *line);

/*
 * (Re)configures from the live policy: starts, reconfigures or stops the
 * sampler, and carries each class's multiplier over by name (from the
 * pins on the first call, so a restarted daemon resumes). 0 or -errno
 * (said on stderr, and kept in dc->error).
 */
int daemon_control_configure(struct daemon_control *dc, const struct policy *p,
			     const struct rw_policy *active, const struct policy_maps *m);

/* The sampler's fd for epoll, or -1 when no loop runs. */
int daemon_control_fd(const struct daemon_control *dc);

/* A sample is ready: run the controller, write what changed, report it. */
void daemon_control_on_sample(struct daemon_control *dc, const struct policy_maps *m,
			      const char *instance_id, int64_t realtime_offset_ns,
			      control_line_fn line, void *ctx);

/* At each tick: retries a write the pins' lock held up. */
void daemon_control_tick(struct daemon_control *dc, const struct policy_maps *m);

/* Stops the sampler. `restore`: give every adaptive class its written
 * rates back, stop shedding and forget the multipliers (waits for the
 * pins' lock). */
void daemon_control_stop(struct daemon_control *dc, const struct policy_maps *m, bool restore);

#endif
