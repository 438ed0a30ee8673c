// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <json-c/json.h>

#include "clocks.h"
#include "counters.h"
#include "event_line.h"
#include "daemon_control.h"
#include "live_rates.h"
#include "log.h"
#include "pins.h"
#include "policy_control.h"
#include "policy_show.h"

/* Refusals by the limits a multiplier scales: the class's own rates.
 * Tenants' rates are not scaled, so their refusals say nothing of it. */
static bool scaled_reason(unsigned int r)
{
	return r == RW_REASON_SRC_PKT || r == RW_REASON_SRC_SYN || r == RW_REASON_CLASS_PKT ||
	       r == RW_REASON_CLASS_SYN;
}

/* Each class's refusals by its scaled limits so far, dropped or would-be. */
static int read_refused(const struct policy_maps *m, uint64_t out[RW_MAX_CLASSES])
{
	struct counter_table *t = malloc(sizeof(*t));
	int err = t ? counters_read(m->counters_fd, t) : -ENOMEM;

	memset(out, 0, sizeof(uint64_t) * RW_MAX_CLASSES);
	for (unsigned int c = 0; !err && c < RW_MAX_CLASSES; c++)
		for (unsigned int r = 0; r < RW_REASON_MAX; r++)
			if (scaled_reason(r))
				out[c] += t->slot[rw_counter_index(c, r, RW_VERDICT_DROP)].packets +
					  t->slot[rw_counter_index(c, r, RW_VERDICT_WOULD_DROP)].packets;
	free(t);
	return err;
}

static void sampler_config_of(const struct policy *p, struct sampler_config *s)
{
	const struct policy_control *pc = &p->control;
	bool any_adaptive = false;

	memset(s, 0, sizeof(*s));
	s->interval_ms = pc->law.interval_ms;
	snprintf(s->health_url, sizeof(s->health_url), "%s", pc->health_url);
	s->health_timeout_ms = pc->health_timeout_ms;
	snprintf(s->metrics_url, sizeof(s->metrics_url), "%s", pc->metrics_url);
	s->metrics_timeout_ms = pc->metrics_timeout_ms;
	snprintf(s->latency_metric, sizeof(s->latency_metric), "%s", pc->latency_metric);
	s->quantile = pc->quantile;
	s->latency_to_ms = policy_latency_to_ms(pc->latency_metric);
	snprintf(s->requests_metric, sizeof(s->requests_metric), "%s", pc->requests_metric);
	snprintf(s->netns, sizeof(s->netns), "%s", pc->netns);
	s->cpu = true;
	s->netstat = true;
	for (size_t id = 1; id < p->n_classes; id++)
		any_adaptive |= p->classes[id].adaptive.adaptive;
	/* the listeners behind the adaptive classes, or behind every class */
	for (size_t id = 1; id < p->n_classes; id++) {
		const struct policy_class *cl = &p->classes[id];

		if (any_adaptive && !cl->adaptive.adaptive)
			continue;
		for (size_t i = 0; i < cl->n_ports; i++) {
			const struct policy_ports *r = &cl->ports[i];

			if (r->proto != RW_PROTO_TCP)
				continue;
			for (uint32_t port = r->first; port <= r->last; port++) {
				if (s->n_ports == sizeof(s->ports) / sizeof(s->ports[0]))
					return;
				s->ports[s->n_ports++] = (uint16_t)port;
			}
		}
	}
}

static int64_t micro(double v, double scale)
{
	return !isfinite(v) || v < 0 || v * scale > 9e18 ? -1 : (int64_t)llround(v * scale);
}

/* The reasons configured signals are unknown, joined; "" when all are known. */
static void signal_errors(const struct signal_sample *s, char *buf, size_t len)
{
	const char *const all[] = { s->health_error, s->scrape_error, s->cpu_error, s->queue_error,
				    s->netstat_error };
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]) && used < len; i++)
		if (all[i][0])
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "; " : "",
						 all[i]);
}

/* The adapt record of the state: names, multipliers, shed flags, signals. */
static void fill_adapt(struct daemon_control *dc, uint64_t now_real)
{
	struct rw_adapt *a = &dc->adapt;
	const struct signal_sample *s = &dc->last;

	for (uint32_t id = 0; id < RW_MAX_CLASSES; id++) {
		struct rw_adapt_class *c = &a->classes[id];

		if (id >= dc->base.n_classes || !dc->law.classes[id].adaptive) {
			memset(c, 0, sizeof(*c));
			continue;
		}
		snprintf(c->name, sizeof(c->name), "%s", dc->base.names[id]);
		c->mult_ppm = (uint32_t)llround(dc->state.mult[id] * RW_ADAPT_PPM);
		c->shed = dc->state.shed && dc->law.classes[id].shed;
		if (dc->decision.changed[id]) {
			c->reason = (uint8_t)dc->decision.reason[id];
			c->changed_at_ns = now_real;
			c->changes++;
		}
	}
	a->controller = (uint32_t)dc->law.kind;
	a->interval_ms = dc->law.interval_ms;
	if (dc->decision.shed_changed)
		a->shed_changes++;
	a->shed = dc->state.shed;
	a->shed_reason = (uint8_t)dc->state.shed_reason;
	a->sampled_at_ns = now_real;
	a->health = s->health;
	a->health_status = s->health_status;
	a->probe_us = micro(s->probe_ms, 1e3);
	a->latency_us = micro(s->latency_ms, 1e3);
	a->error_ppm = micro(s->error_ratio, 1e6);
	a->cpu_ppm = micro(s->cpu, 1e6);
	a->queue_depth = s->queue_depth;
	a->queue_backlog = s->queue_backlog;
	a->listen_drops = s->listen_drops;
	a->target_us = micro(dc->decision.target_ms, 1e3);
	signal_errors(s, a->signal_errors, sizeof(a->signal_errors));
}

/* Writes dc->adapt and the live words under the pins' lock, or leaves it
 * dirty for the next tick when someone else holds the lock. */
static void write_now(struct daemon_control *dc, const struct policy_maps *m)
{
	int lock = pins_try_lock_exclusive(), err;

	dc->dirty = true;
	if (lock == -EWOULDBLOCK)
		return;
	err = lock < 0 ? lock : live_rates_write(m, &dc->base, &dc->adapt);
	pins_unlock(lock);
	/* another policy went live: the daemon reads it at its next tick and
	 * reconfigures; until then nothing of the old one is written */
	if (err == -ESTALE)
		return;
	if (err) {
		snprintf(dc->write_error, sizeof(dc->write_error), "cannot write the live rates: %s",
			 strerror(-err));
		return;
	}
	dc->write_error[0] = 0;
	dc->dirty = false;
}

/* Each class's bookkeeping (changes, reason, when) follows its name
 * across a policy that renumbers classes. */
static void carry_records(struct rw_adapt *a, const struct live_rates_base *base)
{
	struct rw_adapt_class old[RW_MAX_CLASSES];

	memcpy(old, a->classes, sizeof(old));
	memset(a->classes, 0, sizeof(a->classes));
	for (uint32_t id = 0; id < base->n_classes && id < RW_MAX_CLASSES; id++)
		for (int i = 0; base->adaptive[id] && i < RW_MAX_CLASSES; i++)
			if (old[i].name[0] && !strncmp(old[i].name, base->names[id], RW_NAME_MAX))
				a->classes[id] = old[i];
}

int daemon_control_configure(struct daemon_control *dc, const struct policy *p,
			     const struct rw_policy *active, const struct policy_maps *m)
{
	double mult[RW_MAX_CLASSES];
	struct control_state old = dc->state;
	bool was_running = dc->running, fresh_record = false;
	struct sampler_config scfg;
	struct rw_adapt stored;
	uint32_t zero = 0;
	int err = 0;

	dc->error[0] = 0;
	if (!p->control.present) {
		/* the install already gave every class its written rates (no
		 * class can be adaptive without a control section): only the
		 * record goes */
		daemon_control_stop(dc, m, false);
		memset(&dc->adapt, 0, sizeof(dc->adapt));
		live_rates_record(m, &dc->adapt);
		return 0;
	}
	if (!was_running && bpf_map_lookup_elem(m->adapt_fd, &zero, &stored) == 0) {
		/* a restarted daemon resumes where the last one was */
		dc->adapt = stored;
		fresh_record = live_rates_fresh(&stored, realtime_ns());
	}
	policy_control_law(p, &dc->law);
	live_rates_base_of(p, active, &dc->base);
	carry_records(&dc->adapt, &dc->base);
	for (uint32_t id = 0; id < RW_MAX_CLASSES; id++) {
		bool shed;

		mult[id] = 1.0;
		/* off: the loop reports, the written rates hold */
		if (dc->law.kind != CONTROLLER_OFF && dc->base.adaptive[id])
			live_rates_stored(&dc->adapt, dc->base.names[id], &mult[id], &shed);
	}
	control_init(&dc->state, &dc->law, mult);
	if (was_running) {
		/* what the loop learned outlives a policy change */
		dc->state.shed = old.shed;
		dc->state.shed_reason = old.shed_reason;
		dc->state.failed_run = old.failed_run;
		dc->state.healthy_run = old.healthy_run;
		dc->state.cpu_high_run = old.cpu_high_run;
		dc->state.latency_ms = old.latency_ms;
		dc->state.baseline_ms = old.baseline_ms;
		dc->state.ramp = old.ramp;
	} else if (fresh_record && dc->law.kind != CONTROLLER_OFF) {
		dc->state.shed = dc->adapt.shed;
		dc->state.shed_reason = (enum control_shed_reason)dc->adapt.shed_reason;
	}
	/* counts by class id: a renumbering apply starts the comparison afresh */
	dc->have_refused = false;
	memset(&dc->decision, 0, sizeof(dc->decision));
	sampler_config_of(p, &scfg);
	if (dc->sampler)
		err = sampler_reconfigure(dc->sampler, &scfg);
	else
		err = sampler_start(&dc->sampler, &scfg);
	if (err) {
		snprintf(dc->error, sizeof(dc->error), "cannot sample the gateway's signals: %s",
			 strerror(-err));
		rw_err("control: %s; the adaptive classes keep their written rates", dc->error);
		/* no loop, no adaptation: nothing the last one set stays in force */
		dc->running = true;
		daemon_control_stop(dc, m, true);
		return err;
	}
	dc->running = true;
	signal_sample_clear(&dc->last);
	fill_adapt(dc, realtime_ns());
	write_now(dc, m);
	return 0;
}

int daemon_control_fd(const struct daemon_control *dc)
{
	return dc->sampler ? sampler_fd(dc->sampler) : -1;
}

static json_object *signals_json(const struct signal_sample *s)
{
	json_object *o = json_object_new_object();
	static const char *const health[] = { "none", "ok", "failed" };

#define NUM(key, v) json_object_object_add(o, key, isfinite(v) ? json_object_new_double(v) : NULL)
	json_object_object_add(o, "health", json_object_new_string(health[(unsigned)s->health % 3]));
	NUM("probe_ms", s->probe_ms);
	NUM("latency_ms", s->latency_ms);
	NUM("error_ratio", s->error_ratio);
	NUM("cpu", s->cpu);
#undef NUM
	json_object_object_add(o, "queue_depth",
			       s->queue_depth < 0 ? NULL : json_object_new_int64(s->queue_depth));
	json_object_object_add(o, "listen_drops",
			       s->listen_drops < 0 ? NULL : json_object_new_int64(s->listen_drops));
	return o;
}

static void emit(json_object *o, control_line_fn line, void *ctx)
{
	line(ctx, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* The class's live rate of its most telling bucket, per second, for the line. */
static void add_rates(json_object *o, const struct rw_class_limits *w, double mult)
{
	static const char *const keys[] = { "src_pkt", "src_syn", "class_pkt", "class_syn" };
	const uint64_t words[] = { w->src_pkt, w->src_syn, w->class_pkt, w->class_syn };
	json_object *r = json_object_new_object();

	for (int i = 0; i < 4; i++) {
		uint64_t live = live_rate_word(words[i], mult);

		if (live)
			json_object_object_add(r, keys[i], json_object_new_double(
				round(limit_word_rate(live) * 1000) / 1000));
	}
	json_object_object_add(o, "live_rates", r);
}

static void report(struct daemon_control *dc, const double before[RW_MAX_CLASSES],
		   const char *instance_id, int64_t off, control_line_fn line, void *ctx)
{
	const struct control_decision *dec = &dc->decision;

	for (uint32_t id = 0; id < dc->base.n_classes; id++) {
		json_object *o;

		if (!dec->changed[id])
			continue;
		o = event_line_head(instance_id, (int64_t)dc->last.at_ns + off);
		json_object_object_add(o, "route_class", json_object_new_string(dc->base.names[id]));
		json_object_object_add(o, "limit_name", json_object_new_string("adaptive"));
		json_object_object_add(o, "action", json_object_new_string(
			dec->mult[id] < before[id] ? "rate_down" : "rate_up"));
		json_object_object_add(o, "reason",
				       json_object_new_string(control_reason_name(dec->reason[id])));
		json_object_object_add(o, "controller",
				       json_object_new_string(controller_kind_name(dc->law.kind)));
		json_object_object_add(o, "multiplier_before", json_object_new_double(before[id]));
		json_object_object_add(o, "multiplier", json_object_new_double(dec->mult[id]));
		add_rates(o, &dc->base.written[id], dec->mult[id]);
		json_object_object_add(o, "signals", signals_json(&dc->last));
		emit(o, line, ctx);
	}
	if (dec->shed_changed) {
		json_object *o = event_line_head(instance_id, (int64_t)dc->last.at_ns + off), *classes;

		classes = json_object_new_array();
		for (uint32_t id = 0; id < dc->base.n_classes; id++)
			if (dc->law.classes[id].adaptive && dc->law.classes[id].shed)
				json_object_array_add(classes, json_object_new_string(dc->base.names[id]));
		json_object_object_add(o, "route_classes", classes);
		json_object_object_add(o, "limit_name", json_object_new_string("adaptive"));
		json_object_object_add(o, "action",
				       json_object_new_string(dec->shed ? "shed_on" : "shed_off"));
		json_object_object_add(o, "reason", json_object_new_string(
			dec->shed ? control_shed_reason_name(dec->shed_reason) : "recovered"));
		json_object_object_add(o, "signals", signals_json(&dc->last));
		emit(o, line, ctx);
	}
}

void daemon_control_on_sample(struct daemon_control *dc, const struct policy_maps *m,
			      const char *instance_id, int64_t realtime_offset_ns,
			      control_line_fn line, void *ctx)
{
	struct control_class_input in[RW_MAX_CLASSES] = { 0 };
	uint64_t refused[RW_MAX_CLASSES];
	double before[RW_MAX_CLASSES];
	bool counted;

	if (!dc->running || !sampler_take(dc->sampler, &dc->last))
		return;
	counted = read_refused(m, refused) == 0;
	for (uint32_t id = 0; id < RW_MAX_CLASSES; id++)
		in[id].limited = counted && dc->have_refused && refused[id] > dc->refused[id];
	if (counted)
		memcpy(dc->refused, refused, sizeof(refused));
	dc->have_refused = counted;
	memcpy(before, dc->state.mult, sizeof(before));
	control_step(&dc->state, &dc->last, in, &dc->law, &dc->decision);
	dc->adapt.samples++;
	fill_adapt(dc, realtime_ns());
	/* said once when it changes, not at every sample */
	if (strcmp(dc->adapt.signal_errors, dc->said_errors)) {
		if (dc->adapt.signal_errors[0])
			rw_err("control: signals unknown: %s", dc->adapt.signal_errors);
		else
			rw_err("control: every configured signal reads again");
		snprintf(dc->said_errors, sizeof(dc->said_errors), "%s", dc->adapt.signal_errors);
	}
	write_now(dc, m);
	report(dc, before, instance_id, realtime_offset_ns, line, ctx);
}

void daemon_control_tick(struct daemon_control *dc, const struct policy_maps *m)
{
	if (dc->running && dc->dirty)
		write_now(dc, m);
}

void daemon_control_stop(struct daemon_control *dc, const struct policy_maps *m, bool restore)
{
	int lock, err;

	if (dc->sampler) {
		sampler_stop(dc->sampler);
		dc->sampler = NULL;
	}
	if (restore && dc->running) {
		/* no loop, no adaptation: the written rates and no shedding */
		memset(&dc->adapt, 0, sizeof(dc->adapt));
		lock = pins_lock(true);
		err = lock < 0 ? lock : live_rates_write(m, &dc->base, &dc->adapt);
		/* a newer policy was installed from the record: forget it at least */
		if (err == -ESTALE)
			err = live_rates_record(m, &dc->adapt);
		pins_unlock(lock);
		if (err)
			rw_err("control: cannot give the adaptive classes their written rates back: %s",
			       strerror(-err));
	}
	dc->running = false;
}
