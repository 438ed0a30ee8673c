/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The adaptive controller: a pure function (no I/O, no clock) from
 * (state, one signal sample, per-class input, policy) to a live rate
 * multiplier per class and the shed switch. The daemon multiplies each
 * adaptive class's written rates by its multiplier; the operator's
 * floor and ceiling bound it and are never crossed. README "The adaptive
 * control loop" explains both controllers.
 */
#ifndef RW_CONTROLLER_H
#define RW_CONTROLLER_H

#include <stdbool.h>
#include <stdint.h>
#include "ratewall.h"
#include "signals.h"

/* The gradient steers latency to this share of the objective. */
#define CONTROL_SETPOINT 0.7

enum controller_kind {
	CONTROLLER_OFF = 0, /* no control section: multipliers stay 1, no shedding */
	CONTROLLER_GRADIENT, /* the default */
	CONTROLLER_STEP,     /* the seeds' step controller */
};

/* A class's adaptive bounds as written: `adaptive: { floor, ceiling, shed }`. */
struct control_class_policy {
	bool adaptive;  /* false: multiplier 1, never changed */
	double floor;   /* lowest multiplier, > 0 */
	double ceiling; /* highest multiplier, >= floor */
	bool shed;      /* refuses new connections while the controller sheds */
};

/* The seeds' thresholds (`control.step`). */
struct control_step_policy {
	double fast_ms;        /* latency below: x up */
	double slow_ms;        /* latency above: x down */
	double up, down;       /* 1.2, 0.7 */
	double error_cut;      /* 0.5 when errors exceed control.error_ratio */
	uint32_t latency_every_ms; /* 5000: how often the latency rule runs */
	uint32_t errors_every_ms;  /* 10000: how often the error rule runs */
};

struct control_policy {
	enum controller_kind kind;
	uint32_t interval_ms;     /* sampling interval */
	double objective_ms;      /* latency objective; 0: none (gradient uses its baseline) */
	double shed_latency_ms;   /* latency above this counts as a failed sample for shedding; 0: never */
	uint32_t fail_after;      /* failed samples in a row that turn shedding on */
	uint32_t recover_after;   /* healthy samples in a row that turn it off */
	double error_ratio;       /* 5xx ratio above this cuts, 0..1 */
	double cpu_high;          /* CPU above this (0..1) tightens; 0: ignored */
	uint32_t cpu_high_samples; /* ... once it lasted this many samples in a row */
	struct control_step_policy step;
	uint32_t n_classes;
	struct control_class_policy classes[RW_MAX_CLASSES]; /* by class id */
};

/* What the daemon knows about each class over the last interval. */
struct control_class_input {
	/* packets or connections refused by the class's rate limits (source,
	 * tenant or class buckets, counted or would-be): the limit binds, so
	 * traffic is not below it. false: app-limited, no growth. */
	bool limited;
};

/* Why a class's multiplier moved (or held) at the last step. */
enum control_reason {
	CONTROL_HOLD = 0,        /* nothing to do */
	CONTROL_GROW,            /* latency under target and the limit binds */
	CONTROL_APP_LIMITED,     /* would grow, but traffic is below the limit */
	CONTROL_LATENCY,         /* latency over target: cut */
	CONTROL_ERRORS,          /* 5xx ratio over its threshold: cut */
	CONTROL_CPU,             /* CPU high for long enough: cut */
	CONTROL_QUEUE,           /* accept queue overflowing or drops: cut */
	CONTROL_HEALTH,          /* the health probe failed: no growth */
	CONTROL_NO_SIGNAL,       /* no latency signal: no growth */
	CONTROL_BOUND,           /* pushed back inside floor/ceiling (policy change) */
	CONTROL_REASON_MAX,
};

/* Why the shed switch is what it is. */
enum control_shed_reason {
	CONTROL_SHED_NONE = 0,
	CONTROL_SHED_HEALTH,     /* fail_after failed probes in a row */
	CONTROL_SHED_LATENCY,    /* fail_after samples above shed_latency_ms */
};

struct control_state {
	double mult[RW_MAX_CLASSES]; /* live multiplier per class id */
	bool shed;
	enum control_shed_reason shed_reason;
	uint32_t failed_run;     /* failed samples in a row */
	uint32_t healthy_run;    /* healthy samples in a row */
	uint32_t cpu_high_run;
	/* gradient */
	double latency_ms;       /* smoothed latency; NAN before the first sample */
	double baseline_ms;      /* learned no-load latency; NAN before the first sample */
	double ramp;             /* the growth factor allowed at the next step (grows after a cut) */
	/* gradient: congestion episodes. Latency is measured on requests that
	 * complete, so it shows a cut's effect only about one latency later. */
	bool congested;          /* latency over target since the last cut */
	uint32_t settle;         /* samples left before a cut's effect can show */
	double cut_latency_ms;   /* the latency the last cut answered */
	double knee[RW_MAX_CLASSES]; /* where the last cut left the class: fast growth
				      * stops here, beyond it growth is gentle; 0: none yet */
	uint32_t gentle_steps;   /* growth steps past the knee since the last cut */
	int64_t queue_depth;     /* the accept queue at the previous sample; -1 unknown */
	/* step */
	uint64_t elapsed_ms;     /* time since init, in intervals */
	uint64_t last_latency_rule_ms, last_errors_rule_ms;
};

struct control_decision {
	double mult[RW_MAX_CLASSES];
	enum control_reason reason[RW_MAX_CLASSES];
	bool changed[RW_MAX_CLASSES]; /* mult differs from the state's before */
	bool shed;
	bool shed_changed;
	enum control_shed_reason shed_reason;
	double target_ms;        /* the latency the gradient steered to; NAN for step/unknown */
};

/* A fresh state: every multiplier 1 moved inside its class's bounds, or
 * the given ones (from the pins, after a daemon restart; NULL: none). */
void control_init(struct control_state *s, const struct control_policy *p,
		  const double *mult_or_null);

/* One step. Updates *s and fills *out (which is also what *s now holds). */
void control_step(struct control_state *s, const struct signal_sample *in,
		  const struct control_class_input *classes, const struct control_policy *p,
		  struct control_decision *out);

/* Names for events, metrics and status: "grow", "latency", ... */
const char *control_reason_name(enum control_reason r);
const char *control_shed_reason_name(enum control_shed_reason r);
const char *controller_kind_name(enum controller_kind k);

/* The defaults of every knob for `kind` (classes left not adaptive). */
void control_policy_defaults(struct control_policy *p, enum controller_kind kind);

#endif
