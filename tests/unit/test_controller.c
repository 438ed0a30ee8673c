// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The adaptive controller (user/controller.c) driven by scripted signal
 * sequences: steady inputs settle without hunting, overload cuts at once
 * and within bounds, recovery ramps up gradually, shedding follows the
 * probe's runs exactly, and the seeds' step controller acts on its timers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "controller.h"
#include "signals.h"

#define EPS 1e-9

/* One adaptive class 0 in [floor, ceiling], class 1 written but not
 * adaptive, and the objective whose setpoint (CONTROL_SETPOINT x it) is
 * `target` ms, the latency the gradient steers to (0: no objective, the
 * learned baseline). */
static void policy(struct control_policy *p, enum controller_kind kind, double floor,
		   double ceiling, double target)
{
	control_policy_defaults(p, kind);
	p->objective_ms = target / CONTROL_SETPOINT;
	p->n_classes = 2;
	p->classes[0] = (struct control_class_policy){ .adaptive = true, .floor = floor,
						       .ceiling = ceiling, .shed = true };
	p->classes[1] = (struct control_class_policy){ .adaptive = false };
}

static struct signal_sample lat(double ms)
{
	struct signal_sample in;

	signal_sample_clear(&in);
	in.health = SIGNAL_HEALTH_OK;
	in.latency_ms = ms;
	return in;
}

static struct signal_sample failed_probe(void)
{
	struct signal_sample in;

	signal_sample_clear(&in);
	in.health = SIGNAL_HEALTH_FAILED;
	return in;
}

static void all_limited(struct control_class_input *c, bool limited)
{
	for (int i = 0; i < RW_MAX_CLASSES; i++)
		c[i].limited = limited;
}

/* One step of class 0; returns its multiplier. */
static double step(struct control_state *s, const struct signal_sample *in, bool limited,
		   const struct control_policy *p, struct control_decision *d)
{
	struct control_class_input c[RW_MAX_CLASSES];

	all_limited(c, limited);
	control_step(s, in, c, p, d);
	/* what every step must hold, whatever the input */
	for (int i = 0; i < RW_MAX_CLASSES; i++) {
		assert_false(isnan(d->mult[i]));
		assert_true(d->mult[i] == s->mult[i]);
		if (i < (int)p->n_classes && p->classes[i].adaptive) {
			assert_true(d->mult[i] >= p->classes[i].floor - EPS);
			assert_true(d->mult[i] <= p->classes[i].ceiling + EPS);
		} else {
			assert_true(d->mult[i] == 1.0);
			assert_int_equal(d->reason[i], CONTROL_HOLD);
		}
	}
	assert_int_equal(d->shed, s->shed);
	return d->mult[0];
}

static void signal_sample_clear_knows_nothing(void **state)
{
	struct signal_sample in;

	(void)state;
	memset(&in, 0x5a, sizeof(in));
	signal_sample_clear(&in);
	assert_true(in.at_ns == 0 && in.seq == 0);
	assert_int_equal(in.health, SIGNAL_HEALTH_NONE);
	assert_int_equal(in.health_status, 0);
	assert_true(isnan(in.probe_ms) && isnan(in.latency_ms) && isnan(in.error_ratio));
	assert_true(isnan(in.requests) && isnan(in.cpu));
	assert_int_equal(in.queue_depth, -1);
	assert_int_equal(in.queue_backlog, -1);
	assert_int_equal(in.listen_drops, -1);
	assert_string_equal(in.health_error, "");
	assert_string_equal(in.scrape_error, "");
	assert_string_equal(in.cpu_error, "");
	assert_string_equal(in.queue_error, "");
	assert_string_equal(in.netstat_error, "");
}

static void defaults_and_names(void **state)
{
	struct control_policy p;

	(void)state;
	memset(&p, 0x5a, sizeof(p));
	control_policy_defaults(&p, CONTROLLER_STEP);
	assert_int_equal(p.kind, CONTROLLER_STEP);
	assert_int_equal(p.interval_ms, 500);
	assert_true(p.objective_ms == 0 && p.shed_latency_ms == 0);
	assert_int_equal(p.fail_after, 2);
	assert_int_equal(p.recover_after, 4);
	assert_true(p.error_ratio == 0.05 && p.cpu_high == 0.8);
	assert_int_equal(p.cpu_high_samples, 4);
	assert_true(p.step.fast_ms == 150 && p.step.slow_ms == 300);
	assert_true(p.step.up == 1.2 && p.step.down == 0.7 && p.step.error_cut == 0.5);
	assert_int_equal(p.step.latency_every_ms, 5000);
	assert_int_equal(p.step.errors_every_ms, 10000);
	assert_int_equal(p.n_classes, 0);
	assert_false(p.classes[RW_MAX_CLASSES - 1].adaptive);

	static const char *const reasons[] = { "hold", "grow", "app_limited", "latency", "errors",
					       "cpu", "queue", "health", "no_signal", "bound" };
	for (int r = 0; r < CONTROL_REASON_MAX; r++)
		assert_string_equal(control_reason_name(r), reasons[r]);
	assert_string_equal(control_shed_reason_name(CONTROL_SHED_NONE), "none");
	assert_string_equal(control_shed_reason_name(CONTROL_SHED_HEALTH), "health");
	assert_string_equal(control_shed_reason_name(CONTROL_SHED_LATENCY), "latency");
	assert_string_equal(controller_kind_name(CONTROLLER_OFF), "off");
	assert_string_equal(controller_kind_name(CONTROLLER_GRADIENT), "gradient");
	assert_string_equal(controller_kind_name(CONTROLLER_STEP), "step");
}

/* Start at 1 or at the pinned values, always inside the bounds. */
static void init_clamps_into_bounds(void **state)
{
	struct control_policy p;
	struct control_state s;
	double pinned[RW_MAX_CLASSES];

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 1.5, 4, 80);
	control_init(&s, &p, NULL);
	assert_true(s.mult[0] == 1.5);
	assert_true(s.mult[1] == 1.0 && s.mult[RW_MAX_CLASSES - 1] == 1.0);
	assert_false(s.shed);
	assert_int_equal(s.failed_run, 0);
	assert_int_equal(s.healthy_run, 0);
	assert_true(isnan(s.latency_ms) && isnan(s.baseline_ms));
	assert_true(s.ramp > 1.0 && s.ramp <= 1.1);
	assert_true(s.elapsed_ms == 0);

	for (int i = 0; i < RW_MAX_CLASSES; i++)
		pinned[i] = 3.0;
	pinned[1] = 7; /* not adaptive: ignored */
	control_init(&s, &p, pinned);
	assert_true(s.mult[0] == 3.0 && s.mult[1] == 1.0);
	pinned[0] = 9;
	control_init(&s, &p, pinned);
	assert_true(s.mult[0] == 4.0);
	pinned[0] = NAN;
	control_init(&s, &p, pinned);
	assert_true(s.mult[0] == 1.5);
	pinned[0] = -2;
	p.classes[0].floor = 0.2;
	control_init(&s, &p, pinned);
	assert_true(s.mult[0] == 1.0);
}

/* Low latency and a binding limit: up to the ceiling, never over it, and
 * it stays there. */
static void steady_low_latency_grows_to_ceiling(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample in = lat(30);
	double prev = 1.0;
	int reached = -1;

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.25, 3, 80);
	control_init(&s, &p, NULL);
	for (int n = 0; n < 100; n++) {
		double m = step(&s, &in, true, &p, &d);

		assert_true(m >= prev);
		assert_true(m <= 3.0);
		if (m == 3.0 && reached < 0)
			reached = n;
		if (reached >= 0 && n > reached) {
			assert_true(m == 3.0);
			assert_false(d.changed[0]);
			assert_int_equal(d.reason[0], CONTROL_HOLD);
		} else if (reached < 0) {
			assert_true(m > prev);
			assert_true(d.changed[0]);
			assert_int_equal(d.reason[0], CONTROL_GROW);
		}
		assert_true(fabs(d.target_ms - 80) < EPS);
		prev = m;
	}
	assert_true(reached > 0 && reached < 20);
}

/* Latency inside the dead band around the target: nothing moves. */
static void steady_in_band_holds(void **state)
{
	static const double in_band[] = { 73, 80, 87 };
	struct control_policy p;
	struct control_state s;
	struct control_decision d;

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.25, 3, 80);
	for (size_t k = 0; k < sizeof(in_band) / sizeof(in_band[0]); k++) {
		struct signal_sample in = lat(in_band[k]);

		control_init(&s, &p, NULL);
		for (int n = 0; n < 100; n++) {
			assert_true(step(&s, &in, true, &p, &d) == 1.0);
			assert_false(d.changed[0]);
			assert_int_equal(d.reason[0], CONTROL_HOLD);
		}
	}
}

/* Latency over the target: down to the floor, never under it, never up.
 * After each cut it waits for the cut to show (about one latency, at most
 * SETTLE samples), so a cut comes at least every SETTLE + 1 samples. */
#define SETTLE 4
static void steady_overload_shrinks_to_floor(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample in = lat(130);
	double prev = 1.0;
	bool reached = false;
	int since_cut = 0;

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.25, 3, 80);
	control_init(&s, &p, NULL);
	for (int n = 0; n < 100; n++) {
		double m = step(&s, &in, true, &p, &d);

		assert_true(m <= prev);
		assert_true(m >= 0.25);
		assert_int_equal(d.reason[0], CONTROL_LATENCY);
		if (!reached) {
			/* a bounded step: never more than halved */
			assert_true(m >= prev * 0.5 - EPS);
			since_cut = m < prev ? 0 : since_cut + 1;
			assert_true(since_cut <= SETTLE);
		} else {
			assert_true(m == 0.25);
		}
		reached |= m == 0.25;
		prev = m;
	}
	assert_true(reached);
}

/* The lag the settling answers: latency that stays high right after a
 * cut (requests admitted before it) does not cut again at once; latency
 * still rising after the wait cuts by the gradient, latency merely high
 * by at most DRAIN_CUT (0.7). */
static void cuts_wait_for_their_effect(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample hi = lat(400), higher = lat(800);
	double m;

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.01, 3, 200); /* target 200 ms */
	p.interval_ms = 500;
	control_init(&s, &p, NULL);
	m = step(&s, &hi, true, &p, &d);
	assert_true(fabs(m - 0.5) < EPS); /* 200 / 400 */
	/* smoothed 400 ms: one sample's wait */
	m = step(&s, &hi, true, &p, &d);
	assert_true(fabs(m - 0.5) < EPS);
	assert_int_equal(d.reason[0], CONTROL_LATENCY);
	assert_false(d.changed[0]);
	/* still 400 after the wait: not growing but not draining, a bounded cut */
	m = step(&s, &hi, true, &p, &d);
	assert_true(fabs(m - 0.35) < EPS);
	/* rising past the latency that was cut for: the gradient again */
	step(&s, &hi, true, &p, &d);
	m = step(&s, &higher, true, &p, &d);
	assert_true(m < 0.35 * 0.7);
	assert_true(m >= 0.35 * 0.5 - EPS);
}

/* While a cut settles, latency jumping past 1.5 x what was cut for (the
 * gateway itself got slower) cuts at once. */
static void a_jump_while_settling_cuts_at_once(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample hi = lat(1000), jump = lat(1600);
	double m;

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.01, 3, 200); /* target 200 ms */
	p.interval_ms = 500;
	control_init(&s, &p, NULL);
	m = step(&s, &hi, true, &p, &d); /* 0.5, then two samples to settle */
	assert_true(fabs(m - 0.5) < EPS);
	assert_true(step(&s, &hi, true, &p, &d) == m);
	m = step(&s, &jump, true, &p, &d);
	assert_true(fabs(m - 0.25) < EPS);
	assert_int_equal(d.reason[0], CONTROL_LATENCY);
}

/* After a cut, growth is fast back to where the cut left the class (the
 * knee) and gentle past it: +2 %, +4 %, ... a sample. */
static void growth_is_gentle_past_the_knee(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample hi = lat(400), low = lat(20);
	double knee, prev;

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.01, 3, 200);
	p.interval_ms = 500;
	control_init(&s, &p, NULL);
	knee = step(&s, &hi, true, &p, &d); /* 0.5 */
	prev = knee;
	for (int n = 0; n < 30 && prev < knee * 1.2; n++) {
		double m = step(&s, &low, true, &p, &d);
		double f = m / prev;

		if (prev >= knee - EPS)
			assert_true(f <= 1 + 0.02 * (n + 1) + EPS);
		assert_true(m >= prev);
		prev = m;
	}
	/* past the knee the first steps are small */
	assert_true(prev >= knee * 1.2);
}

/* No growth while the accept queue grows, even with low latency: the
 * queue leads the latency. */
static void a_growing_queue_stops_growth(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample in = lat(20);
	double m;

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.1, 3, 200);
	control_init(&s, &p, NULL);
	in.queue_depth = 5;
	in.queue_backlog = 128;
	m = step(&s, &in, true, &p, &d); /* no previous depth: grows */
	assert_true(m > 1.0);
	in.queue_depth = 9;
	assert_true(step(&s, &in, true, &p, &d) == m);
	assert_int_equal(d.reason[0], CONTROL_QUEUE);
	/* a queue that stopped growing lets it grow again */
	assert_true(step(&s, &in, true, &p, &d) > m);
}

/* A constant input of any kind: the multiplier moves one way or not at
 * all, and settles. */
static void constant_inputs_never_oscillate(void **state)
{
	struct signal_sample inputs[16];
	int n_in = 0;
	static const double latencies[] = { 1, 30, 60, 72, 75, 79, 80, 85, 88, 89, 95, 150, 5000 };

	(void)state;
	inputs[n_in++] = lat(30);
	inputs[n_in] = lat(30);
	inputs[n_in++].error_ratio = 0.2;
	inputs[n_in] = lat(30);
	inputs[n_in++].cpu = 0.95;
	inputs[n_in] = lat(30);
	inputs[n_in++].listen_drops = 5;
	inputs[n_in++] = failed_probe();
	signal_sample_clear(&inputs[n_in++]);
	inputs[n_in] = lat(NAN);
	inputs[n_in++].probe_ms = 40;

	for (int kind = CONTROLLER_GRADIENT; kind <= CONTROLLER_STEP; kind++) {
		for (int objective = 0; objective <= 100; objective += 100) {
			for (int limited = 0; limited <= 1; limited++) {
				for (int k = 0; k < n_in + (int)(sizeof(latencies) / sizeof(latencies[0])); k++) {
					struct control_policy p;
					struct control_state s;
					struct control_decision d;
					struct signal_sample in;
					double prev;
					int dir = 0;

					if (k < n_in)
						in = inputs[k];
					else
						in = lat(latencies[k - n_in]);
					/* the seeds' rules run on two timers and may
					 * disagree: that is what the gradient fixes */
					if (kind == CONTROLLER_STEP && isfinite(in.error_ratio))
						continue;
					policy(&p, kind, 0.1, 5, objective);
					p.step.latency_every_ms = 1000;
					p.step.errors_every_ms = 1500;
					control_init(&s, &p, NULL);
					prev = s.mult[0];
					for (int n = 0; n < 200; n++) {
						double m = step(&s, &in, limited, &p, &d);
						int now = m > prev ? 1 : m < prev ? -1 : 0;

						if (now && dir)
							assert_int_equal(now, dir);
						if (now)
							dir = now;
						prev = m;
					}
					/* settled: the last steps move nothing */
					for (int n = 0; n < 5; n++) {
						step(&s, &in, limited, &p, &d);
						assert_false(d.changed[0]);
					}
				}
			}
		}
	}
}

/* One sample at 10x the target cuts in that same sample, by half at most;
 * the average still remembering it afterwards does not cut again. */
static void spike_cuts_in_the_same_sample(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample calm = lat(80), spike = lat(800);
	double before;

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.1, 3, 80);
	control_init(&s, &p, NULL);
	for (int n = 0; n < 10; n++)
		step(&s, &calm, true, &p, &d);
	before = s.mult[0];
	step(&s, &spike, true, &p, &d);
	assert_int_equal(d.reason[0], CONTROL_LATENCY);
	assert_true(d.changed[0]);
	assert_true(fabs(d.mult[0] - before * 0.5) < EPS);
	before = d.mult[0];
	for (int n = 0; n < 5; n++) {
		step(&s, &calm, true, &p, &d);
		assert_true(d.mult[0] >= before);
		assert_int_not_equal(d.reason[0], CONTROL_LATENCY);
	}
}

/* Latency creeping up 2 % a sample: the cuts start while it is still
 * under the objective, and keep coming. */
static void slow_degradation_cuts_before_the_objective(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	double l = 30, first_cut_at = NAN;
	int since_cut = 0;

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.1, 3, 80);
	control_init(&s, &p, NULL);
	for (int n = 0; n < 100; n++, l *= 1.02) {
		struct signal_sample in = lat(l);
		double before = s.mult[0];

		step(&s, &in, false, &p, &d);
		/* over the objective: never up, and a cut at least every SETTLE + 1 samples */
		if (l > 100) {
			assert_true(d.mult[0] <= before);
			since_cut = d.mult[0] < before || d.mult[0] == 0.1 ? 0 : since_cut + 1;
			assert_true(since_cut <= SETTLE);
		}
		if (d.mult[0] < before && isnan(first_cut_at))
			first_cut_at = l;
	}
	assert_false(isnan(first_cut_at));
	assert_true(first_cut_at < 100);
}

/* Low latency but the limit does not bind: no growth, and said why. */
static void app_limited_does_not_grow(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample in = lat(10);

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.1, 3, 80);
	control_init(&s, &p, NULL);
	for (int n = 0; n < 50; n++) {
		assert_true(step(&s, &in, false, &p, &d) == 1.0);
		assert_int_equal(d.reason[0], CONTROL_APP_LIMITED);
		assert_false(d.changed[0]);
	}
	/* per class: only the class whose limit binds grows */
	{
		struct control_class_input c[RW_MAX_CLASSES];

		p.classes[1] = p.classes[0];
		control_init(&s, &p, NULL);
		all_limited(c, false);
		c[1].limited = true;
		control_step(&s, &in, c, &p, &d);
		assert_int_equal(d.reason[0], CONTROL_APP_LIMITED);
		assert_true(d.mult[0] == 1.0);
		assert_int_equal(d.reason[1], CONTROL_GROW);
		assert_true(d.mult[1] > 1.0);
	}
}

/* After a cut the first growth steps are small, later ones larger, and
 * none is more than the ramp's cap. */
static void recovery_ramps_up_gradually(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample hot = lat(1000), cool = lat(10);
	double factors[8], first = NAN;

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.01, 100, 80);
	control_init(&s, &p, NULL);
	step(&s, &hot, true, &p, &d);
	step(&s, &hot, true, &p, &d);
	assert_int_equal(d.reason[0], CONTROL_LATENCY);
	/* let the average forget the overload */
	for (int n = 0; n < 4; n++) {
		double before = s.mult[0], m = step(&s, &cool, true, &p, &d);

		assert_true(m >= before);
		if (m > before && isnan(first))
			first = m / before;
	}
	/* the cut left it at the knee: past it, +2 %, +4 %, ... up to +10 % */
	for (int n = 0; n < 8; n++) {
		double before = s.mult[0], m = step(&s, &cool, true, &p, &d);

		assert_int_equal(d.reason[0], CONTROL_GROW);
		factors[n] = m / before;
		if (isnan(first))
			first = factors[n];
		assert_true(factors[n] > 1.0 && factors[n] <= 1.10 + EPS);
		if (n)
			assert_true(factors[n] >= factors[n - 1] - EPS);
	}
	assert_true(first <= 1.02 + EPS);
	assert_true(factors[7] >= 1.10 - EPS);

	/* a fresh cut restarts it small */
	step(&s, &hot, true, &p, &d);
	first = NAN;
	for (int n = 0; n < 10 && isnan(first); n++) {
		double before = s.mult[0], m = step(&s, &cool, true, &p, &d);

		if (m > before)
			first = m / before;
	}
	assert_true(first <= 1.02 + EPS);
}

/* A second cut in one episode answers latency that lags the first; the
 * knee stays where the first cut left the class, and growth goes back
 * there fast (the ramp, +5 % then more), then gently. */
static void overcut_returns_fast_to_the_knee(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample hi = lat(400), higher = lat(900), cool = lat(20);
	double m, prev;
	bool passed_knee = false;

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.01, 3, 200); /* target 200 ms */
	p.interval_ms = 500;
	control_init(&s, &p, NULL);
	m = step(&s, &hi, true, &p, &d); /* 0.5: the knee */
	assert_true(fabs(m - 0.5) < EPS);
	step(&s, &hi, true, &p, &d);     /* settling */
	m = step(&s, &higher, true, &p, &d);
	assert_true(m < 0.5 * 0.6);      /* rising: cut again, by the gradient */
	/* the average forgets the overload; then fast to 0.5, no further, then gently */
	prev = m;
	for (int n = 0; n < 40 && !passed_knee; n++) {
		m = step(&s, &cool, true, &p, &d);
		if (m > prev && prev < 0.5 - EPS) {
			assert_true(m <= 0.5 + EPS);
			assert_true(m / prev >= 1.05 - EPS || fabs(m - 0.5) < EPS);
		}
		if (prev >= 0.5 - EPS && m > prev) {
			assert_true(m / prev <= 1.02 + EPS); /* the first step past the knee */
			passed_knee = true;
		}
		prev = m;
	}
	assert_true(passed_knee);
}

/* 5xx over the threshold cut even with fast answers, boundedly; under it
 * they do nothing. */
static void errors_cut_even_with_low_latency(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample in = lat(10);

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.1, 3, 80);
	control_init(&s, &p, NULL);
	in.error_ratio = 0.2;
	step(&s, &in, true, &p, &d);
	assert_int_equal(d.reason[0], CONTROL_ERRORS);
	assert_true(d.mult[0] < 1.0 && d.mult[0] >= 0.5);
	in.error_ratio = 0.9; /* bounded: at most halved */
	step(&s, &in, true, &p, &d);
	assert_true(fabs(d.mult[0] - 0.8 * 0.5) < EPS);
	in.error_ratio = 0.04;
	step(&s, &in, true, &p, &d);
	assert_int_equal(d.reason[0], CONTROL_GROW);
}

/* fail, ok, fail, ok... with fail_after 2: never two failures in a row,
 * never shed. */
static void flapping_health_never_sheds(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample ok = lat(20), bad = failed_probe();

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.1, 3, 80);
	control_init(&s, &p, NULL);
	for (int n = 0; n < 40; n++) {
		step(&s, n % 2 ? &ok : &bad, true, &p, &d);
		assert_false(d.shed);
		assert_false(d.shed_changed);
		assert_int_equal(d.shed_reason, CONTROL_SHED_NONE);
	}
}

/* Shedding turns on at the fail_after-th failure and off at the
 * recover_after-th healthy sample exactly; nothing grows while shed. */
static void shed_and_recover_on_exact_runs(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample ok = lat(10), bad = failed_probe();

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.1, 3, 80);
	p.fail_after = 3;
	p.recover_after = 4;
	control_init(&s, &p, NULL);
	for (int n = 1; n <= 3; n++) {
		step(&s, &bad, true, &p, &d);
		assert_int_equal(d.shed, n == 3);
		assert_int_equal(d.shed_changed, n == 3);
		assert_false(d.mult[0] > 1.0);
		assert_int_equal(d.reason[0], CONTROL_HEALTH);
	}
	assert_int_equal(d.shed_reason, CONTROL_SHED_HEALTH);
	/* healthy and fast, but still shed: no class grows */
	for (int n = 1; n <= 4; n++) {
		double before = s.mult[0];

		step(&s, &ok, true, &p, &d);
		assert_int_equal(d.shed, n < 4);
		assert_int_equal(d.shed_changed, n == 4);
		if (d.shed) {
			assert_true(d.mult[0] <= before);
			assert_int_equal(d.reason[0], CONTROL_HEALTH);
			assert_int_equal(d.shed_reason, CONTROL_SHED_HEALTH);
		}
	}
	assert_int_equal(d.shed_reason, CONTROL_SHED_NONE);
	/* a failure in the middle of recovery starts the count again */
	for (int n = 0; n < 3; n++)
		step(&s, &bad, true, &p, &d);
	assert_true(d.shed);
	step(&s, &ok, true, &p, &d);
	step(&s, &ok, true, &p, &d);
	step(&s, &bad, true, &p, &d);
	for (int n = 1; n <= 4; n++) {
		step(&s, &ok, true, &p, &d);
		assert_int_equal(d.shed, n < 4);
	}
}

/* fail_after 1: shed within one interval, for a failed probe or for
 * latency over shed_latency_ms. */
static void fail_after_one_sheds_at_the_first_failure(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample ok = lat(10), bad = failed_probe(), slow = lat(900);

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.1, 3, 80);
	p.fail_after = 1;
	p.recover_after = 1;
	p.shed_latency_ms = 500;
	control_init(&s, &p, NULL);
	step(&s, &ok, true, &p, &d);
	assert_false(d.shed);
	step(&s, &bad, true, &p, &d);
	assert_true(d.shed && d.shed_changed);
	assert_int_equal(d.shed_reason, CONTROL_SHED_HEALTH);
	step(&s, &ok, true, &p, &d);
	assert_true(!d.shed && d.shed_changed);
	step(&s, &slow, true, &p, &d);
	assert_true(d.shed && d.shed_changed);
	assert_int_equal(d.shed_reason, CONTROL_SHED_LATENCY);
	/* the step controller sheds the same way */
	policy(&p, CONTROLLER_STEP, 0.1, 3, 0);
	p.fail_after = 1;
	control_init(&s, &p, NULL);
	step(&s, &bad, true, &p, &d);
	assert_true(d.shed && d.shed_changed);
}

/* Nothing known at all: nothing changes, not even the shed runs. */
static void missing_signals_change_nothing(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample none, bad = failed_probe();

	(void)state;
	signal_sample_clear(&none);
	policy(&p, CONTROLLER_GRADIENT, 0.1, 3, 80);
	control_init(&s, &p, NULL);
	step(&s, &bad, true, &p, &d); /* one failure of two */
	for (int n = 0; n < 50; n++) {
		step(&s, &none, true, &p, &d);
		assert_true(d.mult[0] == 1.0);
		assert_false(d.changed[0]);
		assert_int_equal(d.reason[0], CONTROL_NO_SIGNAL);
		assert_false(d.shed);
		assert_int_equal(s.failed_run, 1);
	}
	step(&s, &bad, true, &p, &d);
	assert_true(d.shed);

	policy(&p, CONTROLLER_STEP, 0.1, 3, 0);
	control_init(&s, &p, NULL);
	for (int n = 0; n < 50; n++) {
		step(&s, &none, true, &p, &d);
		assert_true(d.mult[0] == 1.0);
		assert_false(d.shed);
	}
}

/* Every probe times out and nothing else is known: shed after fail_after,
 * never grow. */
static void timeouts_everywhere_shed_and_never_grow(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample bad = failed_probe();

	(void)state;
	for (int kind = CONTROLLER_GRADIENT; kind <= CONTROLLER_STEP; kind++) {
		policy(&p, kind, 0.1, 3, 100);
		p.step.latency_every_ms = 500;
		control_init(&s, &p, NULL);
		for (int n = 1; n <= 60; n++) {
			step(&s, &bad, true, &p, &d);
			assert_false(d.mult[0] > 1.0);
			assert_int_equal(d.shed, n >= 2);
			assert_int_equal(d.shed_changed, n == 2);
		}
	}
}

/* The seeds' rules: latency every latency_every_ms, errors every
 * errors_every_ms, most restrictive wins. */
static void step_controller_acts_on_its_timers(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample fast = lat(100), slow = lat(400), mid = lat(200);

	(void)state;
	policy(&p, CONTROLLER_STEP, 0.1, 10, 0);
	control_init(&s, &p, NULL);
	for (int n = 1; n <= 20; n++) {
		step(&s, &fast, false, &p, &d); /* no app-limited guard */
		if (n == 10 || n == 20) {
			assert_int_equal(d.reason[0], CONTROL_GROW);
			assert_true(d.changed[0]);
		} else {
			assert_int_equal(d.reason[0], CONTROL_HOLD);
			assert_false(d.changed[0]);
		}
		assert_true(isnan(d.target_ms));
	}
	assert_true(fabs(s.mult[0] - 1.44) < EPS);

	control_init(&s, &p, NULL);
	for (int n = 1; n <= 10; n++)
		step(&s, &slow, true, &p, &d);
	assert_int_equal(d.reason[0], CONTROL_LATENCY);
	assert_true(fabs(d.mult[0] - 0.7) < EPS);
	for (int n = 1; n <= 10; n++)
		step(&s, &mid, true, &p, &d);
	assert_int_equal(d.reason[0], CONTROL_HOLD);
	assert_true(fabs(d.mult[0] - 0.7) < EPS);

	/* errors: at 10 s both rules run and x0.5 beats x1.2 (and x0.7) */
	fast.error_ratio = 0.1;
	control_init(&s, &p, NULL);
	for (int n = 1; n <= 10; n++)
		step(&s, &fast, true, &p, &d);
	assert_true(fabs(d.mult[0] - 1.2) < EPS); /* 5 s: latency rule only */
	for (int n = 11; n <= 20; n++)
		step(&s, &fast, true, &p, &d);
	assert_int_equal(d.reason[0], CONTROL_ERRORS);
	assert_true(fabs(d.mult[0] - 0.6) < EPS);
	slow.error_ratio = 0.1;
	p.step.error_cut = 0.8; /* now the latency rule is the stricter */
	control_init(&s, &p, NULL);
	for (int n = 1; n <= 20; n++)
		step(&s, &slow, true, &p, &d);
	assert_int_equal(d.reason[0], CONTROL_LATENCY);
	assert_true(fabs(d.mult[0] - 0.49) < EPS);

	/* the hard ceiling */
	control_init(&s, &p, NULL);
	fast.error_ratio = 0;
	for (int n = 0; n < 400; n++)
		step(&s, &fast, true, &p, &d);
	assert_true(d.mult[0] == 10);
}

/* CPU over cpu_high cuts once it lasted cpu_high_samples samples, and
 * blocks growth before that. */
static void cpu_high_long_enough_cuts(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample in = lat(10);

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.1, 3, 80);
	control_init(&s, &p, NULL);
	in.cpu = 0.95;
	for (int n = 1; n <= 6; n++) {
		double before = s.mult[0];

		step(&s, &in, true, &p, &d);
		assert_int_equal(d.reason[0], CONTROL_CPU);
		if (n < 4)
			assert_true(d.mult[0] == before);
		else
			assert_true(fabs(d.mult[0] - before * 0.9) < EPS);
	}
	/* an interruption restarts the count */
	in.cpu = 0.5;
	step(&s, &in, true, &p, &d);
	in.cpu = 0.95;
	{
		double before = s.mult[0];

		step(&s, &in, true, &p, &d);
		assert_true(d.mult[0] == before);
	}
}

/* Listen drops, or an accept queue half full, cut; a short queue does not. */
static void queue_overflow_cuts(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample in = lat(80);

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.1, 3, 80);
	control_init(&s, &p, NULL);
	in.listen_drops = 3;
	step(&s, &in, true, &p, &d);
	assert_int_equal(d.reason[0], CONTROL_QUEUE);
	assert_true(fabs(d.mult[0] - 0.7) < EPS);
	in.listen_drops = 0;
	in.queue_depth = 64;
	in.queue_backlog = 128;
	step(&s, &in, true, &p, &d);
	assert_int_equal(d.reason[0], CONTROL_QUEUE);
	assert_true(fabs(d.mult[0] - 0.49) < EPS);
	in.queue_depth = 3;
	step(&s, &in, true, &p, &d);
	assert_int_equal(d.reason[0], CONTROL_HOLD);
	assert_false(d.changed[0]);
}

/* A policy change that moves the bounds pushes the multiplier back inside
 * at the next step, reason bound. */
static void bounds_clamp_after_a_policy_change(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample in = lat(80), none;

	(void)state;
	signal_sample_clear(&none);
	policy(&p, CONTROLLER_GRADIENT, 0.1, 3, 80);
	control_init(&s, &p, NULL);
	p.classes[0].ceiling = 0.6;
	step(&s, &in, true, &p, &d);
	assert_true(d.mult[0] == 0.6 && d.changed[0]);
	assert_int_equal(d.reason[0], CONTROL_BOUND);
	p.classes[0].floor = 0.6;
	p.classes[0].ceiling = 3;
	step(&s, &in, true, &p, &d);
	assert_int_equal(d.reason[0], CONTROL_HOLD);
	p.classes[0].floor = 2;
	step(&s, &none, true, &p, &d);
	assert_true(d.mult[0] == 2 && d.changed[0]);
	assert_int_equal(d.reason[0], CONTROL_BOUND);
	/* an impossible state value is repaired, never propagated */
	s.mult[0] = NAN;
	step(&s, &none, true, &p, &d);
	assert_true(d.mult[0] == 2 && d.changed[0]);
	assert_int_equal(d.reason[0], CONTROL_BOUND);
	/* a class that stops being adaptive goes back to 1 */
	p.classes[0].adaptive = false;
	step(&s, &in, true, &p, &d);
	assert_true(d.mult[0] == 1.0 && d.changed[0]);
}

/* Classes not adaptive, or past n_classes, stay at 1 whatever happens. */
static void non_adaptive_classes_stay_at_one(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample hot = lat(900), cool = lat(5);

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.1, 3, 80);
	p.classes[5] = p.classes[0]; /* beyond n_classes: ignored */
	control_init(&s, &p, NULL);
	for (int n = 0; n < 30; n++) {
		step(&s, n < 10 ? &hot : &cool, true, &p, &d);
		for (int i = 1; i < RW_MAX_CLASSES; i++) {
			assert_true(d.mult[i] == 1.0);
			assert_false(d.changed[i]);
			assert_int_equal(d.reason[i], CONTROL_HOLD);
		}
	}
}

/* With no objective the target is twice the learned no-load latency,
 * which drops at once and rises only slowly. */
static void baseline_is_learned(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample in = lat(20);

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.1, 3, 0);
	control_init(&s, &p, NULL);
	step(&s, &in, true, &p, &d);
	assert_true(fabs(d.target_ms - 40) < EPS);
	assert_int_equal(d.reason[0], CONTROL_GROW);
	in = lat(10);
	for (int n = 0; n < 20; n++)
		step(&s, &in, true, &p, &d);
	assert_true(fabs(s.baseline_ms - 10) < 0.01);
	/* a load-induced rise: cut, and the baseline barely moves */
	in = lat(30);
	step(&s, &in, true, &p, &d);
	step(&s, &in, true, &p, &d);
	assert_int_equal(d.reason[0], CONTROL_LATENCY);
	assert_true(s.baseline_ms < 10.5);
	/* a gateway slower for good is eventually accepted */
	for (int n = 0; n < 400; n++)
		step(&s, &in, true, &p, &d);
	assert_true(s.baseline_ms > 25);
	assert_int_not_equal(d.reason[0], CONTROL_LATENCY);
	/* no sample yet: no target, no growth */
	control_init(&s, &p, NULL);
	signal_sample_clear(&in);
	in.health = SIGNAL_HEALTH_OK;
	step(&s, &in, true, &p, &d);
	assert_true(isnan(d.target_ms));
	assert_int_equal(d.reason[0], CONTROL_NO_SIGNAL);
}

/* The probe's latency stands in when the scrape has none. */
static void probe_latency_is_the_fallback(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample in;

	(void)state;
	policy(&p, CONTROLLER_GRADIENT, 0.1, 3, 80);
	control_init(&s, &p, NULL);
	signal_sample_clear(&in);
	in.health = SIGNAL_HEALTH_OK;
	in.probe_ms = 900;
	step(&s, &in, true, &p, &d);
	assert_int_equal(d.reason[0], CONTROL_LATENCY);
	in.latency_ms = 10; /* the scrape wins when known */
	control_init(&s, &p, NULL);
	step(&s, &in, true, &p, &d);
	assert_int_equal(d.reason[0], CONTROL_GROW);
}

/* Controller off: multipliers held, never shed. */
static void controller_off_does_nothing(void **state)
{
	struct control_policy p;
	struct control_state s;
	struct control_decision d;
	struct signal_sample bad = failed_probe(), hot = lat(900);

	(void)state;
	policy(&p, CONTROLLER_OFF, 0.1, 3, 80);
	p.fail_after = 1;
	control_init(&s, &p, NULL);
	for (int n = 0; n < 20; n++) {
		step(&s, n % 2 ? &bad : &hot, true, &p, &d);
		assert_true(d.mult[0] == 1.0);
		assert_false(d.changed[0]);
		assert_int_equal(d.reason[0], CONTROL_HOLD);
		assert_false(d.shed);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(signal_sample_clear_knows_nothing),
		cmocka_unit_test(defaults_and_names),
		cmocka_unit_test(init_clamps_into_bounds),
		cmocka_unit_test(steady_low_latency_grows_to_ceiling),
		cmocka_unit_test(steady_in_band_holds),
		cmocka_unit_test(steady_overload_shrinks_to_floor),
		cmocka_unit_test(cuts_wait_for_their_effect),
		cmocka_unit_test(growth_is_gentle_past_the_knee),
		cmocka_unit_test(overcut_returns_fast_to_the_knee),
		cmocka_unit_test(a_jump_while_settling_cuts_at_once),
		cmocka_unit_test(a_growing_queue_stops_growth),
		cmocka_unit_test(constant_inputs_never_oscillate),
		cmocka_unit_test(spike_cuts_in_the_same_sample),
		cmocka_unit_test(slow_degradation_cuts_before_the_objective),
		cmocka_unit_test(app_limited_does_not_grow),
		cmocka_unit_test(recovery_ramps_up_gradually),
		cmocka_unit_test(errors_cut_even_with_low_latency),
		cmocka_unit_test(flapping_health_never_sheds),
		cmocka_unit_test(shed_and_recover_on_exact_runs),
		cmocka_unit_test(fail_after_one_sheds_at_the_first_failure),
		cmocka_unit_test(missing_signals_change_nothing),
		cmocka_unit_test(timeouts_everywhere_shed_and_never_grow),
		cmocka_unit_test(step_controller_acts_on_its_timers),
		cmocka_unit_test(cpu_high_long_enough_cuts),
		cmocka_unit_test(queue_overflow_cuts),
		cmocka_unit_test(bounds_clamp_after_a_policy_change),
		cmocka_unit_test(non_adaptive_classes_stay_at_one),
		cmocka_unit_test(baseline_is_learned),
		cmocka_unit_test(probe_latency_is_the_fallback),
		cmocka_unit_test(controller_off_does_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
