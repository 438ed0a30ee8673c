// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The adaptive controller (see controller.h). Pure: the result depends on
 * the state, the sample and the policy only, so the same sequence of
 * samples always gives the same multipliers.
 *
 * The gradient controller steers the gateway's latency to a target: the
 * objective's setpoint, or a tolerance over a learned no-load baseline.
 * Each interval it computes g = target / latency clamped to [0.5, 2]
 * (as Envoy and Netflix Gradient2 do) and multiplies by it, with a dead
 * band around the target so a steady input settles, a growth cap (ramp)
 * that restarts small after every cut, and guards that stop growth when
 * the limit does not bind or a signal says the gateway is in trouble.
 */
#include <math.h>
#include <string.h>

#include "controller.h"

/* EWMA weight of a new latency sample: half, so a sustained change shows
 * within two samples while one noisy sample moves it only half way. */
#define GRAD_ALPHA 0.5
/* The baseline follows a rise by this share of the gap per sample (about
 * 35 s at 500 ms to close half of it): a gateway that became slower for
 * good is eventually accepted, a load-induced rise barely moves it. */
#define GRAD_BASELINE_CREEP 0.01
/* Steer to CONTROL_SETPOINT of the objective: p95 scatters around the
 * smoothed value (near the capacity the queue comes and goes), and the
 * objective is a ceiling, not the aim. */
#define GRAD_SETPOINT CONTROL_SETPOINT
/* Without an objective: latency up to this many times the no-load
 * baseline is queueing we accept. */
#define GRAD_TOLERANCE 2.0
/* ... but never closer to the baseline than this: a sub-millisecond
 * baseline would otherwise read scheduling jitter as queueing. */
#define GRAD_TOLERANCE_MIN_MS 5.0
/* Dead band, as a share of the target: inside it nothing moves, so a
 * steady input near the target cannot make the multiplier hunt. */
#define GRAD_BAND 0.10
/* A raw sample this far over the target is acted on at once, without
 * waiting for the average to confirm it. */
#define GRAD_SPIKE 1.5
#define GRAD_MIN 0.5
#define GRAD_MAX 2.0
/* Growth cap: restarts at RAMP_START after a cut, and its excess over 1
 * grows by RAMP_GAIN each growth step up to RAMP_MAX, so recovery probes
 * carefully first and speeds up once the gateway keeps up. */
#define RAMP_START 1.05
#define RAMP_GAIN 1.5
#define RAMP_MAX 1.25
/* Past the knee (where the last cut left a class) growth starts at +2 %
 * a sample and adds 2 % each step: near the capacity it overshoots
 * little before the lagging latency says so, far below it it still
 * doubles within about 8 samples. */
#define GENTLE_STEP 0.02
#define GENTLE_MAX 1.10
/* A later cut in the same congestion episode whose latency no longer
 * rises: the queue is not growing but still there; cut by at most this,
 * enough to drain it within a few intervals. */
#define DRAIN_CUT 0.7
/* ... "still rising" means by more than this: a queue at the capacity
 * wanders by a few percent without growing. */
#define GRAD_RISE 1.25
/* Samples to wait for a cut's effect: about one latency, at most this. */
#define SETTLE_MAX 4
/* The other signals' cuts: 5xx by their ratio (at least 10 %, at most
 * half), CPU gently but every sample it lasts, queue overflow hard since
 * it means connections are already being dropped. */
#define ERRORS_CUT_MIN 0.5
#define ERRORS_CUT_MAX 0.9
#define CPU_CUT 0.9
#define QUEUE_CUT 0.7

/* What one step decided for every adaptive class, before each class's
 * bounds and `limited` flag apply. */
struct verdict {
	double cut;                /* < 1: cut by this */
	enum control_reason cut_reason;
	double grow;               /* > 1: grow by up to this */
	double g_up;               /* the gradient's growth factor (past the knee) */
	bool knee_growth;          /* the gradient: fast up to each class's knee, gentle past it */
	bool app_guard;            /* growth only where the limit binds */
	enum control_reason reason; /* when neither cut nor growth */
};

static bool known(double v)
{
	return isfinite(v) && v >= 0;
}

/*
 * The latency a request arriving now can expect: the scraped quantile (or
 * the probe's latency), plus the wait in the accept queue when the
 * gateway's listeners have one. A gateway measures from accept(), so its
 * histogram never holds that wait, and it shows at once, while the
 * histogram hears of any queue only as its requests complete: depth over
 * the completions per interval is the wait, in intervals.
 */
static double latency_signal(const struct signal_sample *in, uint32_t interval_ms)
{
	double l = known(in->latency_ms) ? in->latency_ms : known(in->probe_ms) ? in->probe_ms : NAN;

	if (in->queue_depth > 0 && known(in->requests) && interval_ms) {
		/* nothing completed while connections wait: at least an interval each */
		double done = in->requests > 0 ? in->requests : 1;

		return (known(l) ? l : 0) + (double)in->queue_depth * interval_ms / done;
	}
	return l;
}

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* The class's bounds, made usable even if the policy holds nonsense. */
static void class_bounds(const struct control_class_policy *c, double *lo, double *hi)
{
	*lo = (isfinite(c->floor) && c->floor > 0) ? c->floor : 1e-3;
	*hi = (c->ceiling >= *lo) ? c->ceiling : *lo; /* NaN compares false */
}

static bool class_adaptive(const struct control_policy *p, uint32_t i)
{
	return i < p->n_classes && i < RW_MAX_CLASSES && p->classes[i].adaptive;
}

/* A multiplier inside the class's bounds; anything not a positive number
 * counts as 1. */
static double bounded_mult(const struct control_policy *p, uint32_t i, double m)
{
	double lo, hi;

	class_bounds(&p->classes[i], &lo, &hi);
	if (!isfinite(m) || m <= 0)
		m = 1.0;
	return clamp(m, lo, hi);
}

void control_init(struct control_state *s, const struct control_policy *p,
		  const double *mult_or_null)
{
	memset(s, 0, sizeof(*s));
	for (uint32_t i = 0; i < RW_MAX_CLASSES; i++) {
		if (class_adaptive(p, i))
			s->mult[i] = bounded_mult(p, i, mult_or_null ? mult_or_null[i] : 1.0);
		else
			s->mult[i] = 1.0;
	}
	s->shed = false;
	s->shed_reason = CONTROL_SHED_NONE;
	s->latency_ms = NAN;
	s->baseline_ms = NAN;
	s->ramp = RAMP_START;
	s->queue_depth = -1;
	s->elapsed_ms = 0;
	s->last_latency_rule_ms = 0;
	s->last_errors_rule_ms = 0;
}

/* Smoothed latency and baseline, kept by every controller so a switch
 * to the gradient starts informed and status can show them. */
static void track_latency(struct control_state *s, double l)
{
	if (!known(l))
		return;
	if (!known(s->latency_ms))
		s->latency_ms = l;
	else
		s->latency_ms += GRAD_ALPHA * (l - s->latency_ms);
	/* from the smoothed value: one lucky sample must not lower the bar */
	if (!known(s->baseline_ms) || s->latency_ms < s->baseline_ms)
		s->baseline_ms = s->latency_ms;
	else
		s->baseline_ms += GRAD_BASELINE_CREEP * (s->latency_ms - s->baseline_ms);
}

static bool cpu_high(const struct signal_sample *in, const struct control_policy *p)
{
	return p->cpu_high > 0 && isfinite(in->cpu) && in->cpu > p->cpu_high;
}

static bool queue_overflowing(const struct signal_sample *in)
{
	if (in->listen_drops > 0)
		return true;
	return in->queue_depth > 0 && in->queue_backlog > 0 &&
	       in->queue_depth * 2 >= in->queue_backlog;
}

static void update_shed(struct control_state *s, const struct signal_sample *in, double l,
			const struct control_policy *p)
{
	bool probe_failed = in->health == SIGNAL_HEALTH_FAILED;
	bool slow = p->shed_latency_ms > 0 && known(l) && l > p->shed_latency_ms;
	bool failed = probe_failed || slow;
	/* a sample that knows nothing proves nothing either way */
	bool anything = in->health != SIGNAL_HEALTH_NONE || known(l);
	uint32_t fail_after = p->fail_after ? p->fail_after : 1;
	uint32_t recover_after = p->recover_after ? p->recover_after : 1;

	if (failed) {
		if (s->failed_run < UINT32_MAX)
			s->failed_run++;
		s->healthy_run = 0;
	} else if (anything) {
		if (s->healthy_run < UINT32_MAX)
			s->healthy_run++;
		s->failed_run = 0;
	}
	if (!s->shed && failed && s->failed_run >= fail_after) {
		s->shed = true;
		s->shed_reason = probe_failed ? CONTROL_SHED_HEALTH : CONTROL_SHED_LATENCY;
		s->ramp = RAMP_START;
	} else if (s->shed && !failed && anything && s->healthy_run >= recover_after) {
		s->shed = false;
		s->shed_reason = CONTROL_SHED_NONE;
	}
}

/* Take the smaller cut; on a tie the first reason found stays. */
static void cut_by(struct verdict *v, double f, enum control_reason why)
{
	if (f < v->cut) {
		v->cut = f;
		v->cut_reason = why;
	}
}

static void gradient(struct control_state *s, const struct signal_sample *in, double l,
		     const struct control_policy *p, struct verdict *v, double *target_out)
{
	double target = NAN, sm = s->latency_ms;
	bool latency_low = false, settling = false;
	double g_up = 1.0;
	bool queue_growing = in->queue_depth > 0 && s->queue_depth >= 0 &&
			     in->queue_depth > s->queue_depth;

	if (p->objective_ms > 0)
		target = GRAD_SETPOINT * p->objective_ms;
	else if (known(s->baseline_ms) && s->baseline_ms >= 0)
		target = fmax(GRAD_TOLERANCE * s->baseline_ms, s->baseline_ms + GRAD_TOLERANCE_MIN_MS);
	*target_out = target;

	if (known(l) && known(sm) && isfinite(target) && target > 0) {
		/* Cut when the raw sample and the average agree that latency is
		 * high (one noisy sample, or the tail of a spike already answered,
		 * does not cut), or at once when the raw sample is far over. */
		double lc = l > GRAD_SPIKE * target ? fmax(l, sm) : fmin(l, sm);
		/* grow only when both say latency is low */
		double lg = fmax(l, sm);

		if (lc > target * (1 + GRAD_BAND)) {
			double f = clamp(target / lc, GRAD_MIN, GRAD_MAX);

			/* The latency of requests admitted before the last cut says
			 * nothing of it: wait about one latency, unless latency
			 * jumps far past what was cut for (the gateway got slower).
			 * After that, latency still rising means the cut was not
			 * enough; merely high, that the queue drains slowly. */
			if (s->congested && s->settle > 0 &&
			    !(l > GRAD_SPIKE * fmax(s->cut_latency_ms, target))) {
				s->settle--;
				settling = true;
			} else {
				if (s->congested && !(l > s->cut_latency_ms * GRAD_RISE))
					f = fmax(f, DRAIN_CUT);
				cut_by(v, f, CONTROL_LATENCY);
			}
		} else if (known(sm) && sm < target) {
			s->congested = false;
			s->settle = 0;
		}
		if (lg < target * (1 - GRAD_BAND)) {
			latency_low = true;
			g_up = lg > 0 ? clamp(target / lg, GRAD_MIN, GRAD_MAX) : GRAD_MAX;
		}
	}
	if (isfinite(in->error_ratio) && in->error_ratio > p->error_ratio)
		cut_by(v, clamp(1 - in->error_ratio, ERRORS_CUT_MIN, ERRORS_CUT_MAX),
		       CONTROL_ERRORS);
	if (cpu_high(in, p) && s->cpu_high_run >= (p->cpu_high_samples ? p->cpu_high_samples : 1))
		cut_by(v, CPU_CUT, CONTROL_CPU);
	if (queue_overflowing(in))
		cut_by(v, QUEUE_CUT, CONTROL_QUEUE);

	if (v->cut < 1.0) {
		if (v->cut_reason == CONTROL_LATENCY) {
			s->congested = true;
			s->cut_latency_ms = l;
			s->settle = (uint32_t)fmin(SETTLE_MAX, fmax(1, ceil(sm / p->interval_ms)));
		}
		return;
	}
	/* no cut: growth, unless something says the gateway is not fine */
	if (s->shed || in->health == SIGNAL_HEALTH_FAILED)
		v->reason = CONTROL_HEALTH;
	else if (cpu_high(in, p))
		v->reason = CONTROL_CPU;
	else if (settling)
		v->reason = CONTROL_LATENCY;
	else if (!known(l) || !isfinite(target))
		v->reason = CONTROL_NO_SIGNAL;
	else if (queue_growing && latency_low)
		v->reason = CONTROL_QUEUE; /* the queue leads the latency: wait */
	else if (latency_low) {
		v->grow = fmin(g_up, s->ramp);
		v->g_up = g_up;
		v->knee_growth = true;
		v->app_guard = true;
	}
}

/* The seeds' rules, each on its own timer; the most restrictive wins. */
static void step_rules(struct control_state *s, const struct signal_sample *in, double l,
		       const struct control_policy *p, struct verdict *v)
{
	const struct control_step_policy *st = &p->step;
	double f = 1.0;
	enum control_reason why = CONTROL_HOLD;

	if (s->elapsed_ms - s->last_latency_rule_ms >= st->latency_every_ms) {
		s->last_latency_rule_ms = s->elapsed_ms;
		if (!known(l)) {
			why = CONTROL_NO_SIGNAL;
		} else if (l < st->fast_ms) {
			f = st->up;
			why = CONTROL_GROW;
		} else if (l > st->slow_ms) {
			f = st->down;
			why = CONTROL_LATENCY;
		}
	}
	if (s->elapsed_ms - s->last_errors_rule_ms >= st->errors_every_ms) {
		s->last_errors_rule_ms = s->elapsed_ms;
		if (isfinite(in->error_ratio) && in->error_ratio > p->error_ratio &&
		    st->error_cut <= f) {
			f = st->error_cut;
			why = CONTROL_ERRORS;
		}
	}
	if (!isfinite(f) || f <= 0)
		f = 1.0;
	if (f < 1.0)
		cut_by(v, f, why);
	else if (f > 1.0 && s->shed)
		v->reason = CONTROL_HEALTH;
	else if (f > 1.0)
		v->grow = f;
	else
		v->reason = why == CONTROL_NO_SIGNAL ? why : CONTROL_HOLD;
}

void control_step(struct control_state *s, const struct signal_sample *in,
		  const struct control_class_input *classes, const struct control_policy *p,
		  struct control_decision *out)
{
	struct verdict v = { .cut = 1.0, .cut_reason = CONTROL_HOLD, .grow = 1.0,
			     .app_guard = false, .reason = CONTROL_HOLD };
	bool was_shed = s->shed, grew = false, grew_gently = false;
	bool was_congested = s->congested;
	double l = latency_signal(in, p->interval_ms);

	memset(out, 0, sizeof(*out));
	out->target_ms = NAN;
	s->elapsed_ms += p->interval_ms;
	track_latency(s, l);
	if (cpu_high(in, p))
		s->cpu_high_run += s->cpu_high_run < UINT32_MAX;
	else
		s->cpu_high_run = 0; /* unknown breaks the run too */

	switch (p->kind) {
	case CONTROLLER_GRADIENT:
		update_shed(s, in, l, p);
		gradient(s, in, l, p, &v, &out->target_ms);
		break;
	case CONTROLLER_STEP:
		update_shed(s, in, l, p);
		step_rules(s, in, l, p, &v);
		break;
	default: /* off: no shedding, multipliers held */
		s->shed = false;
		s->shed_reason = CONTROL_SHED_NONE;
		s->failed_run = s->healthy_run = 0;
		break;
	}

	for (uint32_t i = 0; i < RW_MAX_CLASSES; i++) {
		double old = s->mult[i], m, lo, hi;
		enum control_reason why;

		if (!class_adaptive(p, i)) {
			m = 1.0;
			why = CONTROL_HOLD;
		} else {
			double start = bounded_mult(p, i, old);

			class_bounds(&p->classes[i], &lo, &hi);
			m = start;
			if (v.cut < 1.0) {
				m = clamp(start * v.cut, lo, hi);
				why = v.cut_reason;
				/* The first cut of an episode marks where the gateway
				 * copes; later ones answer latency that lags the first,
				 * so growth returns there fast. */
				s->knee[i] = was_congested && s->knee[i] > 0 ? fmin(s->knee[i], start) : m;
			} else if (v.grow > 1.0) {
				if (v.app_guard && !(classes && classes[i].limited)) {
					why = CONTROL_APP_LIMITED;
				} else {
					double f = v.grow, knee = s->knee[i];
					bool gentle = v.knee_growth && knee > 0 && start >= knee;

					if (gentle)
						f = fmin(v.g_up, fmin(1 + GENTLE_STEP * (s->gentle_steps + 1),
								      GENTLE_MAX));
					m = start * f;
					/* fast back to where the last cut left it, no further */
					if (v.knee_growth && knee > 0 && start < knee)
						m = fmin(m, knee);
					m = clamp(m, lo, hi);
					why = m > start ? CONTROL_GROW : CONTROL_HOLD;
					grew |= m > start;
					grew_gently |= gentle && m > start;
				}
			} else {
				why = v.reason;
			}
			/* pushed inside new bounds and nothing else moved it */
			if (start != old && m == start)
				why = CONTROL_BOUND;
		}
		s->mult[i] = m;
		out->mult[i] = m;
		out->reason[i] = why;
		/* NaN in the old state compares unequal: that is a change */
		out->changed[i] = !(m == old);
	}

	if (p->kind == CONTROLLER_GRADIENT) {
		if (v.cut < 1.0) {
			s->ramp = RAMP_START;
			s->gentle_steps = 0;
		} else if (grew) {
			s->ramp = 1 + fmin((s->ramp - 1) * RAMP_GAIN, RAMP_MAX - 1);
		}
		if (grew_gently)
			s->gentle_steps++;
	}
	s->queue_depth = in->queue_depth;
	if (!isfinite(s->ramp) || s->ramp < 1.0)
		s->ramp = RAMP_START;
	out->shed = s->shed;
	out->shed_changed = s->shed != was_shed;
	out->shed_reason = s->shed_reason;
}

const char *control_reason_name(enum control_reason r)
{
	static const char *const names[CONTROL_REASON_MAX] = {
		[CONTROL_HOLD] = "hold",
		[CONTROL_GROW] = "grow",
		[CONTROL_APP_LIMITED] = "app_limited",
		[CONTROL_LATENCY] = "latency",
		[CONTROL_ERRORS] = "errors",
		[CONTROL_CPU] = "cpu",
		[CONTROL_QUEUE] = "queue",
		[CONTROL_HEALTH] = "health",
		[CONTROL_NO_SIGNAL] = "no_signal",
		[CONTROL_BOUND] = "bound",
	};

	if ((unsigned)r < CONTROL_REASON_MAX && names[r])
		return names[r];
	return "unknown";
}

const char *control_shed_reason_name(enum control_shed_reason r)
{
	switch (r) {
	case CONTROL_SHED_NONE:
		return "none";
	case CONTROL_SHED_HEALTH:
		return "health";
	case CONTROL_SHED_LATENCY:
		return "latency";
	}
	return "unknown";
}

const char *controller_kind_name(enum controller_kind k)
{
	switch (k) {
	case CONTROLLER_OFF:
		return "off";
	case CONTROLLER_GRADIENT:
		return "gradient";
	case CONTROLLER_STEP:
		return "step";
	}
	return "unknown";
}

void control_policy_defaults(struct control_policy *p, enum controller_kind kind)
{
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->interval_ms = 500;
	p->objective_ms = 0;
	p->shed_latency_ms = 0;
	p->fail_after = 2;
	p->recover_after = 4;
	p->error_ratio = 0.05;
	p->cpu_high = 0.8;
	p->cpu_high_samples = 4;
	p->step.fast_ms = 150;
	p->step.slow_ms = 300;
	p->step.up = 1.2;
	p->step.down = 0.7;
	p->step.error_cut = 0.5;
	p->step.latency_every_ms = 5000;
	p->step.errors_every_ms = 10000;
	p->n_classes = 0;
}
