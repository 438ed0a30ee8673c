// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "limits.h"
#include "policy_values.h"

/* Quoted values are cut here so that one message stays one readable line. */
#define QUOTE_MAX_CHARS 60

void policy_quote(const char *text, char *buf, size_t len)
{
	size_t out = 0;

	if (len < 8) {
		if (len)
			buf[0] = '\0';
		return;
	}
	buf[out++] = '"';
	for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
		char piece[5];
		size_t n;

		if (*s == '"' || *s == '\\')
			n = (size_t)snprintf(piece, sizeof(piece), "\\%c", *s);
		else if (*s < 0x20 || *s >= 0x7f)
			n = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", *s);
		else
			n = (size_t)snprintf(piece, sizeof(piece), "%c", *s);
		/* keep room for `..."` and the NUL */
		if (out - 1 + n > QUOTE_MAX_CHARS || out + n + 5 > len) {
			memcpy(buf + out, "...", 3);
			out += 3;
			break;
		}
		memcpy(buf + out, piece, n);
		out += n;
	}
	buf[out++] = '"';
	buf[out] = '\0';
}

/* Digits only, no sign or space: `*overflow` tells a too-large number apart from a non-number. */
static bool parse_decimal(const char *s, size_t n, uint64_t *value, bool *overflow)
{
	uint64_t v = 0;

	*overflow = false;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			*overflow = true;
		else
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*value = *overflow ? UINT64_MAX : v;
	return true;
}

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

bool policy_parse_name(const char *what, const char *text, char *msg, size_t len)
{
	char q[POLICY_MSG_MAX / 2];

	policy_quote(text, q, sizeof(q));
	if (!*text) {
		snprintf(msg, len, "a %s name cannot be empty", what);
		return false;
	}
	if (strlen(text) >= RW_NAME_MAX) {
		snprintf(msg, len, "%s name %s is longer than %d bytes", what, q, RW_NAME_MAX - 1);
		return false;
	}
	if (text[0] < 'a' || text[0] > 'z') {
		snprintf(msg, len, "%s name %s must start with a letter (a-z)", what, q);
		return false;
	}
	if (strspn(text, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(text)) {
		snprintf(msg, len, "%s name %s may hold only a-z, 0-9, '_' and '-'", what, q);
		return false;
	}
	return true;
}

uint64_t policy_default_burst(uint64_t count, uint64_t period_ns)
{
	uint64_t seconds = period_ns / RW_NS_PER_SEC;
	uint64_t burst = (count + seconds - 1) / seconds;

	/* A very fast rate would give a burst the limit word cannot hold;
	 * a tenth of a second's worth at RW_RATE_MAX is plenty. */
	if (burst > RW_BURST_MAX)
		burst = RW_BURST_MAX;
	return burst ? burst : 1;
}

bool policy_parse_rate(const char *text, uint64_t *count, uint64_t *period_ns, char *msg,
		       size_t len)
{
	const char *slash = strchr(text, '/');
	char q[POLICY_MSG_MAX / 2];
	uint64_t seconds, n;
	bool overflow;

	policy_quote(text, q, sizeof(q));
	if (!slash) {
		if (all_digits(text))
			snprintf(msg, len, "rate %s has no unit; write %s/s, %s/m or %s/h", q, text,
				 text, text);
		else
			snprintf(msg, len, "rate %s is not a count per period like 200/s", q);
		return false;
	}
	if (!strcmp(slash + 1, "s")) {
		seconds = 1;
	} else if (!strcmp(slash + 1, "m") || !strcmp(slash + 1, "min")) {
		seconds = 60;
	} else if (!strcmp(slash + 1, "h")) {
		seconds = 3600;
	} else {
		snprintf(msg, len, "rate %s has an unknown unit; use /s, /m (or /min) or /h", q);
		return false;
	}
	if (!parse_decimal(text, (size_t)(slash - text), &n, &overflow)) {
		snprintf(msg, len, "rate %s is not a count per period like 200/s", q);
		return false;
	}
	if (n == 0) {
		snprintf(msg, len, "rate %s must be more than 0", q);
		return false;
	}
	/* per second: n / seconds <= RW_RATE_MAX, kept exact in integers */
	if (overflow || n > RW_RATE_MAX * seconds) {
		snprintf(msg, len, "rate %s is faster than ratewall can keep (at most %llu/s)",
			 text, RW_RATE_MAX);
		return false;
	}
	if (gcra_interval_ticks_per(n, seconds * RW_NS_PER_SEC) >= POLICY_INTERVAL_LIMIT) {
		snprintf(msg, len,
			 "rate %s is slower than ratewall can keep (at least 1 per %llu s)", text,
			 (POLICY_INTERVAL_LIMIT >> RW_TICK_SHIFT) / RW_NS_PER_SEC);
		return false;
	}
	*count = n;
	*period_ns = seconds * RW_NS_PER_SEC;
	return true;
}

bool policy_parse_burst(const char *text, uint64_t *burst, char *msg, size_t len)
{
	char q[POLICY_MSG_MAX / 2];
	uint64_t n;
	bool overflow;

	if (!parse_decimal(text, strlen(text), &n, &overflow) || n == 0 || n > RW_BURST_MAX) {
		policy_quote(text, q, sizeof(q));
		snprintf(msg, len, "burst %s must be a whole number from 1 to %llu", q,
			 RW_BURST_MAX);
		return false;
	}
	*burst = n;
	return true;
}

bool policy_parse_count(const char *what, const char *text, uint64_t min, uint64_t max,
			uint64_t *out, char *msg, size_t len)
{
	char q[POLICY_MSG_MAX / 2];
	uint64_t n;
	bool overflow;

	if (!parse_decimal(text, strlen(text), &n, &overflow) || n < min || n > max) {
		policy_quote(text, q, sizeof(q));
		snprintf(msg, len, "%s %s must be a whole number from %llu to %llu", what, q,
			 (unsigned long long)min, (unsigned long long)max);
		return false;
	}
	*out = n;
	return true;
}

bool policy_duration_ms(const char *text, uint64_t *ms)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 } };
	size_t digits = strspn(text, "0123456789");
	uint64_t n;
	bool overflow;

	for (size_t i = 0; digits && i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(text + digits, units[i].unit))
			continue;
		if (!parse_decimal(text, digits, &n, &overflow) || overflow ||
		    n > UINT64_MAX / units[i].ms)
			return false;
		*ms = n * units[i].ms;
		return true;
	}
	return false;
}

bool policy_parse_interval(const char *text, uint32_t *ms, char *msg, size_t len)
{
	char q[POLICY_MSG_MAX / 2];
	uint64_t n;

	if (policy_duration_ms(text, &n) && n <= RW_EVENT_INTERVAL_MAX_MS &&
	    n >= RW_EVENT_INTERVAL_MIN_MS) {
		*ms = (uint32_t)n;
		return true;
	}
	policy_quote(text, q, sizeof(q));
	snprintf(msg, len, "interval %s must be off or a duration like 500ms, 1s or 2m, from %ums to %um", q,
		 RW_EVENT_INTERVAL_MIN_MS, RW_EVENT_INTERVAL_MAX_MS / 60000);
	return false;
}

void policy_format_interval(uint32_t ms, char *buf, size_t len)
{
	if (ms % 60000 == 0)
		snprintf(buf, len, "%um", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%us", ms / 1000);
	else
		snprintf(buf, len, "%ums", ms);
}

bool policy_parse_mesh_id(const char *text, char *msg, size_t len)
{
	static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789._:-";
	size_t n = strlen(text);
	char q[POLICY_MSG_MAX / 2];

	if (n && n < POLICY_MESH_ID_MAX && strspn(text, allowed) == n)
		return true;
	policy_quote(text, q, sizeof(q));
	snprintf(msg, len, "mesh_node_id %s must be 1 to %d letters, digits or . _ : -", q,
		 POLICY_MESH_ID_MAX - 1);
	return false;
}

bool policy_parse_mode(const char *text, enum rw_class_mode *mode, char *msg, size_t len)
{
	char q[POLICY_MSG_MAX / 2];

	if (!strcmp(text, "enforce")) {
		*mode = RW_CLASS_ENFORCE;
	} else if (!strcmp(text, "observe")) {
		*mode = RW_CLASS_OBSERVE;
	} else if (!strcmp(text, "shed")) {
		*mode = RW_CLASS_SHED;
	} else {
		policy_quote(text, q, sizeof(q));
		snprintf(msg, len, "mode %s is not one of enforce, observe, shed", q);
		return false;
	}
	return true;
}

#define PORT_SYNTAX "port %s is not PROTO/PORT or PROTO/FIRST-LAST, like tcp/443 or udp/8000-8099"

const char *policy_proto_name(enum rw_port_proto proto)
{
	return proto == RW_PROTO_TCP ? "tcp" : "udp";
}

bool policy_parse_ports(const char *text, struct policy_ports *out, char *msg, size_t len)
{
	const char *slash = strchr(text, '/'), *numbers, *dash;
	char q[POLICY_MSG_MAX / 2];
	uint64_t first, last;
	bool over_first, over_last;

	policy_quote(text, q, sizeof(q));
	if (!slash) {
		if (strlen(text) <= 11 && strspn(text, "0123456789-") == strlen(text) && *text)
			snprintf(msg, len, "port %s needs a protocol: write tcp/%s or udp/%s", q,
				 text, text);
		else
			snprintf(msg, len, PORT_SYNTAX, q);
		return false;
	}
	if (slash - text == 3 && !strncmp(text, "tcp", 3)) {
		out->proto = RW_PROTO_TCP;
	} else if (slash - text == 3 && !strncmp(text, "udp", 3)) {
		out->proto = RW_PROTO_UDP;
	} else {
		snprintf(msg, len, "port %s has an unknown protocol; use tcp or udp", q);
		return false;
	}
	numbers = slash + 1;
	dash = strchr(numbers, '-');
	if (!parse_decimal(numbers, dash ? (size_t)(dash - numbers) : strlen(numbers), &first,
			   &over_first) ||
	    !parse_decimal(dash ? dash + 1 : numbers, strlen(dash ? dash + 1 : numbers), &last,
			   &over_last)) {
		snprintf(msg, len, PORT_SYNTAX, q);
		return false;
	}
	if (over_first || over_last || first > 65535 || last > 65535) {
		snprintf(msg, len, "port %s is out of range: ports are 1 to 65535", q);
		return false;
	}
	if (first == 0 || last == 0) {
		snprintf(msg, len, "port %s: port 0 cannot be matched; ports are 1 to 65535", q);
		return false;
	}
	if (first > last) {
		snprintf(msg, len, "port range %s is reversed; write %s/%llu-%llu", q,
			 policy_proto_name(out->proto), (unsigned long long)last,
			 (unsigned long long)first);
		return false;
	}
	out->first = (uint16_t)first;
	out->last = (uint16_t)last;
	return true;
}

void policy_format_ports(const struct policy_ports *ports, char *buf, size_t len)
{
	if (ports->first == ports->last)
		snprintf(buf, len, "%s/%u", policy_proto_name(ports->proto), ports->first);
	else
		snprintf(buf, len, "%s/%u-%u", policy_proto_name(ports->proto), ports->first,
			 ports->last);
}

bool policy_parse_cidr(const char *text, struct policy_cidr *out, char *msg, size_t len)
{
	const char *slash = strchr(text, '/');
	char q[POLICY_MSG_MAX / 2], addr_text[INET6_ADDRSTRLEN], masked[64];
	size_t addr_len = slash ? (size_t)(slash - text) : strlen(text);
	struct policy_cidr c = { 0 };
	unsigned int max_prefix;
	uint32_t mask[4];
	uint64_t prefix;
	bool overflow, host_bits = false;

	policy_quote(text, q, sizeof(q));
	if (addr_len >= sizeof(addr_text))
		goto not_a_cidr;
	memcpy(addr_text, text, addr_len);
	addr_text[addr_len] = '\0';
	c.family = strchr(addr_text, ':') ? 6 : 4;
	max_prefix = c.family == 6 ? 128 : 32;
	if (inet_pton(c.family == 6 ? AF_INET6 : AF_INET, addr_text, c.addr) != 1)
		goto not_a_cidr;
	/* IPv4 packets carry IPv4 sources: a mapped prefix would never match. */
	if (c.family == 6 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)c.addr)) {
		snprintf(msg, len, "CIDR %s is an IPv4-mapped IPv6 prefix, which no packet "
			 "carries as its source; write the IPv4 prefix instead", q);
		return false;
	}
	if (!slash) {
		snprintf(msg, len, "CIDR %s has no prefix length; write %s/%u for one address", q,
			 addr_text, max_prefix);
		return false;
	}
	if (strlen(slash + 1) > 3 ||
	    !parse_decimal(slash + 1, strlen(slash + 1), &prefix, &overflow))
		goto not_a_cidr;
	if (prefix > max_prefix) {
		snprintf(msg, len, "CIDR %s has prefix length %llu; IPv%u allows 0 to %u", q,
			 (unsigned long long)prefix, c.family, max_prefix);
		return false;
	}
	c.prefix = (uint8_t)prefix;
	/* An IPv4 address has only addr[0]: the IPv6 mask's first word fits it. */
	prefix_mask6(c.prefix, mask);
	for (int i = 0; i < 4; i++) {
		host_bits |= (c.addr[i] & mask[i]) != c.addr[i];
		c.addr[i] &= mask[i];
	}
	if (host_bits) {
		policy_format_cidr(&c, masked, sizeof(masked));
		snprintf(msg, len, "CIDR %s has host bits set; did you mean %s?", text, masked);
		return false;
	}
	c.line = out->line;
	*out = c;
	return true;

not_a_cidr:
	snprintf(msg, len, "%s is not an IPv4 or IPv6 CIDR like 198.18.0.0/24 or 2001:db8::/48",
		 q);
	return false;
}

void policy_format_cidr(const struct policy_cidr *cidr, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(cidr->family == 6 ? AF_INET6 : AF_INET, cidr->addr, addr, sizeof(addr));
	snprintf(buf, len, "%s/%u", addr, cidr->prefix);
}

void policy_class_label(const struct policy_class *cl, char *buf, size_t len)
{
	if (cl->name[0])
		snprintf(buf, len, "class \"%s\"", cl->name);
	else
		snprintf(buf, len, "the class at line %d", cl->line);
}

void policy_tenant_label(const struct policy_tenant *t, char *buf, size_t len)
{
	if (t->name[0])
		snprintf(buf, len, "tenant \"%s\"", t->name);
	else
		snprintf(buf, len, "the tenant at line %d", t->line);
}
