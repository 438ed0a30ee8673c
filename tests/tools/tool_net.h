/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Socket addresses and descriptor limits shared by the test tools. */
#ifndef RW_TOOL_NET_H
#define RW_TOOL_NET_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

/* An IPv4 or IPv6 literal and a port as a socket address; its length, or
 * 0 when the text is not an IP address. */
static inline socklen_t tool_addr_parse(const char *s, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		return sizeof(*a4);
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		return sizeof(*a6);
	}
	return 0;
}

/* The wildcard address of a family (AF_INET or AF_INET6) on a port. */
static inline socklen_t tool_addr_any(int family, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		a4->sin_addr.s_addr = htonl(INADDR_ANY);
		return sizeof(*a4);
	}
	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons(port);
	a6->sin6_addr = in6addr_any;
	return sizeof(*a6);
}

/* Thousands of sockets need more than the usual 1024 descriptors: the
 * soft limit goes up to the hard one, with a warning if that is short. */
static inline void tool_raise_nofile(const char *tool, unsigned long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		fprintf(stderr, "%s: warning: RLIMIT_NOFILE is %llu, under the %lu it may need\n",
			tool, (unsigned long long)rl.rlim_cur, want);
}

/* A whole number option value in [lo, hi]; anything else exits 2 naming it. */
static inline unsigned long tool_parse_num(const char *tool, const char *opt, const char *s,
					   unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) {
		fprintf(stderr, "%s: bad %s '%s' (want %lu..%lu)\n", tool, opt, s, lo, hi);
		exit(2);
	}
	return v;
}

/* ADDR:PORT, or [ADDR]:PORT for IPv6, for option `opt`; anything else
 * exits 2 naming it. */
static inline socklen_t tool_parse_hostport(const char *tool, const char *opt, const char *s,
					    struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN + 2], port_opt[64];
	const char *colon = strrchr(s, ':');
	socklen_t len = 0;
	size_t n;

	if (colon && colon != s && (size_t)(colon - s) < sizeof(host)) {
		n = (size_t)(colon - s);
		if (s[0] == '[' && colon[-1] == ']') {
			memcpy(host, s + 1, n - 2);
			host[n - 2] = 0;
		} else {
			memcpy(host, s, n);
			host[n] = 0;
		}
		snprintf(port_opt, sizeof(port_opt), "%s port", opt);
		len = tool_addr_parse(host, (uint16_t)tool_parse_num(tool, port_opt, colon + 1, 1, 65535),
				      ss);
	}
	if (!len) {
		fprintf(stderr, "%s: bad %s '%s' (want ADDR:PORT)\n", tool, opt, s);
		exit(2);
	}
	return len;
}

#endif
