// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * udp_sink PORT SECONDS
 *
 * Receives UDP on PORT (IPv4 and, where the namespace has it, IPv6) for
 * SECONDS or until SIGTERM/SIGINT, then prints one "ADDR COUNT" line per
 * source address and a final "total N" line. The demo uses it to show
 * what actually reached the gateway's stack behind ratewall.
 * "listening" goes to stderr once the sockets are bound, so a caller can
 * wait for it instead of sleeping.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tool_net.h"

#define MAX_SECONDS 3600ULL
#define MAX_SOURCES 4096
#define RCVBUF_BYTES (32 << 20)

struct source {
	char addr[INET6_ADDRSTRLEN];
	uint64_t count;
};

static struct source sources[MAX_SOURCES];
static int nsources;
static uint64_t total, other; /* other: sources past MAX_SOURCES */
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A linear scan is plenty: the demo has a handful of sources. */
static void count_source(const struct sockaddr_storage *ss)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	int i;

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, addr,
			  sizeof(addr));
	} else if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		/* Show v4-mapped peers as plain IPv4, as the sender knows them. */
		if (IN6_IS_ADDR_V4MAPPED(a6))
			inet_ntop(AF_INET, &a6->s6_addr[12], addr, sizeof(addr));
		else
			inet_ntop(AF_INET6, a6, addr, sizeof(addr));
	}
	total++;
	for (i = 0; i < nsources; i++) {
		if (!strcmp(sources[i].addr, addr)) {
			sources[i].count++;
			return;
		}
	}
	if (nsources == MAX_SOURCES) {
		other++;
		return;
	}
	memcpy(sources[nsources].addr, addr, sizeof(addr));
	sources[nsources++].count = 1;
}

static int open_socket(int family, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, size = RCVBUF_BYTES;
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	len = tool_addr_any(family, port, &ss);
	/* v6-only, so it can share the port with the IPv4 socket. */
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* A burst must not be lost in our own socket and blamed on ratewall:
	 * FORCE works as root past rmem_max, plain RCVBUF is the fallback. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void drain(int fd)
{
	char buf[65536];
	struct sockaddr_storage ss;

	for (;;) {
		socklen_t len = sizeof(ss);
		ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &len);

		if (r < 0)
			return; /* EAGAIN: drained; anything else: try again at poll */
		count_source(&ss);
	}
}

static unsigned long long parse_num(const char *what, const char *s,
				    unsigned long long min, unsigned long long max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "udp_sink: bad %s '%s' (want %llu..%llu)\n", what, s, min, max);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct pollfd pfd[2];
	uint64_t deadline;
	int n = 0, i, fd;
	uint16_t port;

	if (argc != 3) {
		fprintf(stderr, "usage: udp_sink PORT SECONDS\n");
		return 2;
	}
	port = (uint16_t)parse_num("port", argv[1], 1, 65535);
	deadline = now_ms() + parse_num("seconds", argv[2], 1, MAX_SECONDS) * 1000;

	/* No SA_RESTART: poll must return so the loop sees `stop`. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	fd = open_socket(AF_INET, port);
	if (fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	else
		fprintf(stderr, "udp_sink: IPv4 port %u: %s\n", port, strerror(errno));
	/* IPv6 may be disabled in the namespace; IPv4 alone is then fine. */
	fd = open_socket(AF_INET6, port);
	if (fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (!n)
		return 1;
	fprintf(stderr, "udp_sink: listening on port %u\n", port);

	while (!stop) {
		uint64_t now = now_ms();

		if (now >= deadline)
			break;
		if (poll(pfd, n, (int)(deadline - now)) < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++)
			if (pfd[i].revents & POLLIN)
				drain(pfd[i].fd);
	}
	/* Whatever already sits in the buffers arrived in time: count it. */
	for (i = 0; i < n; i++)
		drain(pfd[i].fd);

	for (i = 0; i < nsources; i++)
		printf("%s %" PRIu64 "\n", sources[i].addr, sources[i].count);
	if (other)
		printf("other %" PRIu64 "\n", other);
	printf("total %" PRIu64 "\n", total);
	return 0;
}
