/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The policy's `control:` section and each class's `adaptive:` key: the
 * daemon's adaptive loop as the operator writes it (README "The adaptive
 * control loop"). Also the walk helpers of the policy parser they share.
 */
#ifndef RW_POLICY_CONTROL_H
#define RW_POLICY_CONTROL_H

#include <stdbool.h>
#include <yaml.h>
#include "policy.h"
#include "policy_errors.h"

struct parse_ctx {
	yaml_document_t *doc;
	struct policy *p;
	struct policy_errors *e;
};

/* The parser's walk (policy_parse.c): lines, typed nodes, scalars, mappings. */
int policy_node_line(const yaml_node_t *node);
yaml_node_t *policy_node_at(struct parse_ctx *c, int id);
bool policy_node_expect(struct parse_ctx *c, const yaml_node_t *node, yaml_node_type_t type,
			const char *what);
const char *policy_node_scalar(struct parse_ctx *c, const yaml_node_t *node, const char *what);
/* An absolute path into out (len bytes); said at its line when it is not
 * one ("WHAT ... must be an absolute pathHINT") or too long. False when
 * the node is not a scalar. */
bool policy_node_path(struct parse_ctx *c, const yaml_node_t *node, const char *what,
		      const char *hint, char *out, size_t len);
/* keys: NULL-terminated, at most 16 */
bool policy_node_mapping(struct parse_ctx *c, const yaml_node_t *node, const char *what,
			 const char *const keys[], yaml_node_t *values[]);

/* A duration like 250ms or 2s within [min_ms, max_ms] into *out; said at
 * its line otherwise (false). */
bool policy_node_duration(struct parse_ctx *c, const yaml_node_t *node, const char *what,
			  uint32_t min_ms, uint32_t max_ms, uint32_t *out);
/* A percentage like 80% within [min, max] percent, as a fraction. */
bool policy_node_percent(struct parse_ctx *c, const yaml_node_t *node, const char *what,
			 double min, double max, double *out);

/* Digits after the point the parser takes, and the emitter writes. */
#define POLICY_PERCENT_PLACES 2
#define POLICY_FACTOR_PLACES 4

/* `control: {...}` into c->p->control. */
void policy_parse_control(struct parse_ctx *c, const yaml_node_t *node);
/* A class's `adaptive: { floor, ceiling, shed }`. */
void policy_parse_adaptive(struct parse_ctx *c, const yaml_node_t *node, int class_id);
/* Checks across sections, once everything parsed (adaptive classes need
 * a control section and a rate to scale). */
void policy_check_control(const struct policy *p, struct policy_errors *e);

/* The controller's policy of a parsed policy: its knobs and each class's bounds by id. */
void policy_control_law(const struct policy *p, struct control_policy *out);

/* How the scraped histogram's bounds turn into milliseconds: names ending
 * in _milliseconds are in ms, anything else in seconds (the convention). */
double policy_latency_to_ms(const char *metric);

#endif
