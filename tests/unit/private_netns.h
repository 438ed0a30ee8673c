/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * For unit tests that need real sockets: a network namespace of the
 * calling thread's own (so the host's sockets neither show up nor
 * change), with lo up, and TCP sockets on its loopback.
 */
#ifndef RW_TEST_PRIVATE_NETNS_H
#define RW_TEST_PRIVATE_NETNS_H

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/* The calling thread moves to a new network namespace and brings lo up
 * (a fresh namespace has it down, and ::1 only appears once it is up).
 * 0, or -1 said on stderr. */
static inline int private_netns(void)
{
	struct ifreq ifr = { 0 };
	int fd, err = -1;

	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s (the test needs root)\n", strerror(errno));
		return -1;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		err = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	if (err < 0)
		fprintf(stderr, "cannot bring lo up: %s\n", strerror(errno));
	return err;
}

/* A TCP socket on 127.0.0.1 (AF_INET) or ::1 (AF_INET6), port 0 for any,
 * listening when backlog >= 0; its port in *bound. -1 on failure. */
static inline int loopback_socket(int family, uint16_t port, int backlog, uint16_t *bound)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)family };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = family == AF_INET ? sizeof(*sin) : sizeof(*sin6);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	*bound = 0;
	if (fd < 0)
		return -1;
	if (family == AF_INET) {
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = in6addr_loopback;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || (backlog >= 0 && listen(fd, backlog) < 0) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		close(fd);
		return -1;
	}
	*bound = ntohs(family == AF_INET ? sin->sin_port : sin6->sin6_port);
	return fd;
}

/* A TCP connection to 127.0.0.1:port, established (or -1). */
static inline int loopback_connect(uint16_t port)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

#endif
