/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The scalar values of a policy file (names, rates, bursts, modes, ports,
 * CIDRs), parsed and checked one at a time. Each parser returns true on
 * success, or false with a message naming the value in `msg`; the caller
 * adds where it was written.
 */
#ifndef RW_POLICY_VALUES_H
#define RW_POLICY_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "policy.h"

/* Room for one message: the longest quotes a value cut to about 60 bytes. */
#define POLICY_MSG_MAX 320

/* Emission intervals must fit the packed limit word (2^40 ticks). */
#define POLICY_INTERVAL_LIMIT (1ULL << (64 - RW_LIMIT_BURST_BITS))

/* Writes text as a double-quoted C-like string, cut with "..." when long. */
void policy_quote(const char *text, char *buf, size_t len);

/* `what` is "class" or "tenant", for the message. */
bool policy_parse_name(const char *what, const char *text, char *msg, size_t len);

/* Parses "N/s", "N/m", "N/min" or "N/h" and checks its bounds. */
bool policy_parse_rate(const char *text, uint64_t *count, uint64_t *period_ns, char *msg,
		       size_t len);
bool policy_parse_burst(const char *text, uint64_t *burst, char *msg, size_t len);

/* One second's worth of count (rounded up, at least 1, at most RW_BURST_MAX). */
uint64_t policy_default_burst(uint64_t count, uint64_t period_ns);

/* A whole number from `min` to `max`; `what` names it in the message. */
bool policy_parse_count(const char *what, const char *text, uint64_t min, uint64_t max,
			uint64_t *out, char *msg, size_t len);
bool policy_parse_mode(const char *text, enum rw_class_mode *mode, char *msg, size_t len);

/* "tcp/443" or "udp/8000-8099"; sets proto, first and last. */
bool policy_parse_ports(const char *text, struct policy_ports *out, char *msg, size_t len);
void policy_format_ports(const struct policy_ports *ports, char *buf, size_t len);
const char *policy_proto_name(enum rw_port_proto proto);

/* "ADDR/LEN", IPv4 or IPv6, with no host bits set; sets family, prefix, addr. */
bool policy_parse_cidr(const char *text, struct policy_cidr *out, char *msg, size_t len);
void policy_format_cidr(const struct policy_cidr *cidr, char *buf, size_t len);

/* "500ms", "1s" or "2m", from RW_EVENT_INTERVAL_MIN_MS to _MAX_MS; and back. */
/* A duration written N ms, N s or N m, in *ms; false when it is not one. */
bool policy_duration_ms(const char *text, uint64_t *ms);
bool policy_parse_interval(const char *text, uint32_t *ms, char *msg, size_t len);
void policy_format_interval(uint32_t ms, char *buf, size_t len);

/* A mesh node id: 1 to 63 of letters, digits and . _ : - */
bool policy_parse_mesh_id(const char *text, char *msg, size_t len);

/* `class "web"` or `tenant "ci"`, or where it is written when it has no name. */
void policy_class_label(const struct policy_class *cl, char *buf, size_t len);
void policy_tenant_label(const struct policy_tenant *t, char *buf, size_t len);

#endif
