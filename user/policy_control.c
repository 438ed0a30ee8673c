// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Parsing the `control:` section and the classes' `adaptive:` keys. Every
 * bad value is reported at its line with what would be valid; defaults
 * are the controller's (control_policy_defaults) so that writing one out
 * changes nothing.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_control.h"
#include "policy_values.h"

#define INTERVAL_MIN_MS 100
#define INTERVAL_MAX_MS 10000
#define DURATION_MAX_MS 600000

/* A duration like 250ms, 2s or 1m, within [min_ms, max_ms]. */
bool policy_node_duration(struct parse_ctx *c, const yaml_node_t *node, const char *what,
			   uint32_t min_ms, uint32_t max_ms, uint32_t *out)
{
	const char *text = policy_node_scalar(c, node, what);
	char q[POLICY_MSG_MAX / 2];
	uint64_t ms;

	if (!text)
		return false;
	if (policy_duration_ms(text, &ms) && ms >= min_ms && ms <= max_ms) {
		*out = (uint32_t)ms;
		return true;
	}
	policy_quote(text, q, sizeof(q));
	policy_error(c->e, policy_node_line(node),
		     "%s %s must be a duration like 250ms or 2s, from %ums to %ums", what, q, min_ms,
		     max_ms);
	return false;
}

/* A plain decimal number (no sign, no exponent, at most `places` digits
 * after the point, so that the emitter writes it back exactly) and what
 * follows it. */
static bool decimal(const char *text, int places, double *out, const char **rest)
{
	const char *dot;
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return false;
	errno = 0;
	*out = strtod(text, &end);
	for (const char *p = text; p < end; p++)
		if (!isdigit((unsigned char)*p) && *p != '.')
			return false;
	dot = memchr(text, '.', (size_t)(end - text));
	if (dot && end - dot - 1 > places)
		return false;
	*rest = end;
	return !errno && isfinite(*out);
}

/* A percentage like 80% within [min, max] percent; *out as a fraction. */
bool policy_node_percent(struct parse_ctx *c, const yaml_node_t *node, const char *what,
			  double min, double max, double *out)
{
	const char *text = policy_node_scalar(c, node, what), *rest;
	char q[POLICY_MSG_MAX / 2];
	double v;

	if (!text)
		return false;
	if (decimal(text, POLICY_PERCENT_PLACES, &v, &rest) && !strcmp(rest, "%") && v >= min &&
	    v <= max) {
		*out = v / 100.0;
		return true;
	}
	policy_quote(text, q, sizeof(q));
	policy_error(c->e, policy_node_line(node),
		     "%s %s must be a percentage from %g%% to %g%% with at most %d decimals, like 80%%",
		     what, q, min, max, POLICY_PERCENT_PLACES);
	return false;
}

/* A factor like 1.2 within (min, max) or [min, max]. */
static bool parse_factor(struct parse_ctx *c, const yaml_node_t *node, const char *what,
			 double min, double max, bool open, double *out)
{
	const char *text = policy_node_scalar(c, node, what), *rest;
	char q[POLICY_MSG_MAX / 2];
	double v;

	if (!text)
		return false;
	if (decimal(text, POLICY_FACTOR_PLACES, &v, &rest) && !*rest &&
	    (open ? v > min && v < max : v >= min && v <= max)) {
		*out = v;
		return true;
	}
	policy_quote(text, q, sizeof(q));
	policy_error(c->e, policy_node_line(node),
		     "%s %s must be a number %s %g and %g with at most %d decimals", what, q,
		     open ? "strictly between" : "from", min, max, POLICY_FACTOR_PLACES);
	return false;
}

static void parse_count_u32(struct parse_ctx *c, const yaml_node_t *node, const char *what,
			    uint64_t min, uint64_t max, uint32_t *out)
{
	const char *text = policy_node_scalar(c, node, what);
	char msg[POLICY_MSG_MAX];
	uint64_t n;

	if (!text)
		return;
	if (policy_parse_count(what, text, min, max, &n, msg, sizeof(msg)))
		*out = (uint32_t)n;
	else
		policy_error(c->e, policy_node_line(node), "%s", msg);
}

static void parse_url(struct parse_ctx *c, const yaml_node_t *node, const char *what, char *out)
{
	const char *text = policy_node_scalar(c, node, what);
	char q[POLICY_MSG_MAX / 2];

	if (!text)
		return;
	policy_quote(text, q, sizeof(q));
	if (strncmp(text, "http://", 7) && strncmp(text, "https://", 8))
		policy_error(c->e, policy_node_line(node), "%s %s must be an http:// or https:// URL",
			     what, q);
	else if (strlen(text) >= POLICY_URL_MAX || strpbrk(text, " \t\r\n"))
		policy_error(c->e, policy_node_line(node), "%s %s is too long or holds blanks", what, q);
	else
		snprintf(out, POLICY_URL_MAX, "%s", text);
}

/* A Prometheus metric name: [a-zA-Z_:][a-zA-Z0-9_:]* */
static void parse_metric(struct parse_ctx *c, const yaml_node_t *node, const char *what, char *out)
{
	const char *text = policy_node_scalar(c, node, what);
	char q[POLICY_MSG_MAX / 2];
	size_t n;

	if (!text)
		return;
	n = strlen(text);
	if (n && n < POLICY_METRIC_MAX && !isdigit((unsigned char)text[0]) &&
	    strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:") == n) {
		snprintf(out, POLICY_METRIC_MAX, "%s", text);
		return;
	}
	policy_quote(text, q, sizeof(q));
	policy_error(c->e, policy_node_line(node),
		     "%s %s must be a Prometheus metric name (letters, digits, _ and :)", what, q);
}

static void parse_health(struct parse_ctx *c, const yaml_node_t *node)
{
	static const char *const keys[] = { "url", "timeout", "fail_after", "recover_after", NULL };
	struct policy_control *pc = &c->p->control;
	yaml_node_t *v[4];

	if (!policy_node_mapping(c, node, "health", keys, v))
		return;
	if (!v[0])
		policy_error(c->e, policy_node_line(node),
			     "health needs a url, like url: http://127.0.0.1:8080/healthz");
	else
		parse_url(c, v[0], "health url", pc->health_url);
	if (v[1])
		policy_node_duration(c, v[1], "health timeout", 1, INTERVAL_MAX_MS, &pc->health_timeout_ms);
	if (v[2])
		parse_count_u32(c, v[2], "fail_after", 1, 100, &pc->law.fail_after);
	if (v[3])
		parse_count_u32(c, v[3], "recover_after", 1, 1000, &pc->law.recover_after);
}

static void parse_scrape(struct parse_ctx *c, const yaml_node_t *node)
{
	static const char *const keys[] = { "url", "timeout", "latency", "quantile", "requests", NULL };
	struct policy_control *pc = &c->p->control;
	yaml_node_t *v[5];

	if (!policy_node_mapping(c, node, "metrics", keys, v))
		return;
	if (!v[0])
		policy_error(c->e, policy_node_line(node),
			     "metrics needs a url, like url: http://127.0.0.1:9100/metrics");
	else
		parse_url(c, v[0], "metrics url", pc->metrics_url);
	if (v[1])
		policy_node_duration(c, v[1], "metrics timeout", 1, INTERVAL_MAX_MS, &pc->metrics_timeout_ms);
	if (v[2])
		parse_metric(c, v[2], "latency histogram", pc->latency_metric);
	if (v[3])
		parse_factor(c, v[3], "quantile", 0, 1, true, &pc->quantile);
	if (v[4])
		parse_metric(c, v[4], "requests counter", pc->requests_metric);
	if (!v[2] && !v[4])
		policy_error(c->e, policy_node_line(node),
			     "metrics needs latency: (a histogram) or requests: (a counter with a code label), or both");
	if (v[3] && !v[2])
		policy_error(c->e, policy_node_line(v[3]), "quantile is only used with latency:");
}

/* Returns which of latency_every (1) and errors_every (2) were written. */
static int parse_step(struct parse_ctx *c, const yaml_node_t *node)
{
	static const char *const keys[] = { "fast", "slow", "up", "down", "error_cut",
					    "latency_every", "errors_every", NULL };
	struct control_step_policy *st = &c->p->control.law.step;
	yaml_node_t *v[7];
	uint32_t ms;

	if (!policy_node_mapping(c, node, "step", keys, v))
		return 0;
	if (v[0] && policy_node_duration(c, v[0], "step fast", 1, DURATION_MAX_MS, &ms))
		st->fast_ms = ms;
	if (v[1] && policy_node_duration(c, v[1], "step slow", 1, DURATION_MAX_MS, &ms))
		st->slow_ms = ms;
	if (v[2])
		parse_factor(c, v[2], "step up", 1, 10, true, &st->up);
	if (v[3])
		parse_factor(c, v[3], "step down", 0, 1, true, &st->down);
	if (v[4])
		parse_factor(c, v[4], "step error_cut", 0, 1, true, &st->error_cut);
	if (v[5])
		policy_node_duration(c, v[5], "step latency_every", INTERVAL_MIN_MS, DURATION_MAX_MS,
			       &st->latency_every_ms);
	if (v[6])
		policy_node_duration(c, v[6], "step errors_every", INTERVAL_MIN_MS, DURATION_MAX_MS,
			       &st->errors_every_ms);
	if (st->fast_ms >= st->slow_ms)
		policy_error(c->e, policy_node_line(node),
			     "step fast (%gms) must be below step slow (%gms)", st->fast_ms, st->slow_ms);
	return (v[5] ? 1 : 0) | (v[6] ? 2 : 0);
}

static void parse_kind(struct parse_ctx *c, const yaml_node_t *node, enum controller_kind *kind)
{
	const char *text = policy_node_scalar(c, node, "controller");
	char q[POLICY_MSG_MAX / 2];

	if (!text)
		return;
	if (!strcmp(text, "gradient"))
		*kind = CONTROLLER_GRADIENT;
	else if (!strcmp(text, "step"))
		*kind = CONTROLLER_STEP;
	else if (!strcmp(text, "off"))
		*kind = CONTROLLER_OFF;
	else {
		policy_quote(text, q, sizeof(q));
		policy_error(c->e, policy_node_line(node),
			     "controller %s must be gradient, step or off", q);
	}
}

void policy_parse_control(struct parse_ctx *c, const yaml_node_t *node)
{
	static const char *const keys[] = { "controller", "interval", "objective", "shed_latency",
					    "health", "metrics", "error_ratio", "cpu_high", "cpu_for",
					    "netns", "step", NULL };
	struct policy_control *pc = &c->p->control;
	enum controller_kind kind = CONTROLLER_GRADIENT;
	yaml_node_t *v[11];
	const char *text;
	uint32_t ms;
	int every_written = 0;

	pc->present = true;
	pc->line = policy_node_line(node);
	if (!policy_node_mapping(c, node, "control", keys, v))
		return;
	if (v[0])
		parse_kind(c, v[0], &kind);
	control_policy_defaults(&pc->law, kind);
	pc->cpu_for_ms = 2000;
	pc->quantile = 0.95;
	if (v[1])
		policy_node_duration(c, v[1], "control interval", INTERVAL_MIN_MS, INTERVAL_MAX_MS,
			       &pc->law.interval_ms);
	if (v[2] && policy_node_duration(c, v[2], "objective", 1, DURATION_MAX_MS, &ms))
		pc->law.objective_ms = ms;
	if (v[3] && (text = policy_node_scalar(c, v[3], "shed_latency"))) {
		pc->shed_latency_set = true;
		if (strcmp(text, "off") && policy_node_duration(c, v[3], "shed_latency", 1, DURATION_MAX_MS, &ms))
			pc->law.shed_latency_ms = ms;
	}
	if (v[4])
		parse_health(c, v[4]);
	if (v[5])
		parse_scrape(c, v[5]);
	if (v[6])
		policy_node_percent(c, v[6], "error_ratio", 0, 100, &pc->law.error_ratio);
	if (v[7] && (text = policy_node_scalar(c, v[7], "cpu_high"))) {
		if (!strcmp(text, "off"))
			pc->law.cpu_high = 0;
		else
			policy_node_percent(c, v[7], "cpu_high", 1, 100, &pc->law.cpu_high);
	}
	if (v[8])
		policy_node_duration(c, v[8], "cpu_for", INTERVAL_MIN_MS, DURATION_MAX_MS, &pc->cpu_for_ms);
	if (v[9])
		policy_node_path(c, v[9], "netns", ", like /run/netns/gateway", pc->netns,
				 sizeof(pc->netns));
	if (v[10])
		every_written = parse_step(c, v[10]);
	/* a probe or scrape that may outlast the interval would make samples late */
	if (!pc->health_timeout_ms)
		pc->health_timeout_ms = pc->law.interval_ms * 2 / 5;
	if (!pc->metrics_timeout_ms)
		pc->metrics_timeout_ms = pc->law.interval_ms * 2 / 5;
	if (pc->health_url[0] && pc->health_timeout_ms >= pc->law.interval_ms)
		policy_error(c->e, pc->line, "health timeout %ums must be shorter than the interval %ums",
			     pc->health_timeout_ms, pc->law.interval_ms);
	if (pc->metrics_url[0] && pc->metrics_timeout_ms >= pc->law.interval_ms)
		policy_error(c->e, pc->line, "metrics timeout %ums must be shorter than the interval %ums",
			     pc->metrics_timeout_ms, pc->law.interval_ms);
	/* the seeds' periods are the defaults, but never shorter than a sample */
	if ((every_written & 1) && pc->law.step.latency_every_ms < pc->law.interval_ms)
		policy_error(c->e, pc->line, "step latency_every %ums must be at least the interval %ums",
			     pc->law.step.latency_every_ms, pc->law.interval_ms);
	else if (pc->law.step.latency_every_ms < pc->law.interval_ms)
		pc->law.step.latency_every_ms = pc->law.interval_ms;
	if ((every_written & 2) && pc->law.step.errors_every_ms < pc->law.interval_ms)
		policy_error(c->e, pc->line, "step errors_every %ums must be at least the interval %ums",
			     pc->law.step.errors_every_ms, pc->law.interval_ms);
	else if (pc->law.step.errors_every_ms < pc->law.interval_ms)
		pc->law.step.errors_every_ms = pc->law.interval_ms;
	/* missing the objective by a wide margin sheds like a failing probe */
	if (!pc->shed_latency_set && pc->law.objective_ms > 0)
		pc->law.shed_latency_ms = fmin(4 * pc->law.objective_ms, DURATION_MAX_MS);
	pc->law.cpu_high_samples = (pc->cpu_for_ms + pc->law.interval_ms - 1) / pc->law.interval_ms;
}

void policy_parse_adaptive(struct parse_ctx *c, const yaml_node_t *node, int class_id)
{
	static const char *const keys[] = { "floor", "ceiling", "shed", NULL };
	struct policy_class *cl = &c->p->classes[class_id];
	struct control_class_policy *a = &cl->adaptive;
	yaml_node_t *v[3];
	const char *text;

	cl->adaptive_line = policy_node_line(node);
	if (!policy_node_mapping(c, node, "adaptive", keys, v))
		return;
	a->adaptive = true;
	a->floor = 1.0;
	a->ceiling = 1.0;
	if (v[0])
		policy_node_percent(c, v[0], "adaptive floor", 1, 100, &a->floor);
	if (v[1])
		policy_node_percent(c, v[1], "adaptive ceiling", 100, 1000, &a->ceiling);
	if (!v[0] && !v[1])
		policy_error(c->e, cl->adaptive_line,
			     "adaptive needs a floor or a ceiling, like { floor: 20%%, ceiling: 200%% }");
	if (v[2] && (text = policy_node_scalar(c, v[2], "shed"))) {
		if (!strcmp(text, "true"))
			a->shed = true;
		else if (strcmp(text, "false"))
			policy_error(c->e, policy_node_line(v[2]), "adaptive shed must be true or false");
	}
}

void policy_check_control(const struct policy *p, struct policy_errors *e)
{
	for (size_t id = 1; id < p->n_classes; id++) {
		const struct policy_class *cl = &p->classes[id];

		if (!cl->adaptive.adaptive)
			continue;
		if (!p->control.present)
			policy_error(e, cl->adaptive_line,
				     "class \"%s\" is adaptive but the policy has no control: section",
				     cl->name);
		else if (!cl->source.packets.count && !cl->source.syn.count &&
			 !cl->global.packets.count && !cl->global.syn.count && !cl->adaptive.shed)
			policy_error(e, cl->adaptive_line,
				     "class \"%s\" is adaptive but has no rate to scale and does not shed",
				     cl->name);
	}
}

void policy_control_law(const struct policy *p, struct control_policy *out)
{
	if (!p->control.present) {
		control_policy_defaults(out, CONTROLLER_OFF);
		return;
	}
	*out = p->control.law;
	out->n_classes = (uint32_t)p->n_classes;
	for (size_t id = 0; id < p->n_classes; id++)
		out->classes[id] = p->classes[id].adaptive;
}

double policy_latency_to_ms(const char *metric)
{
	size_t n = strlen(metric), m = strlen("_milliseconds");

	return n >= m && !strcmp(metric + n - m, "_milliseconds") ? 1.0 : 1000.0;
}
