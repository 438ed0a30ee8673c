// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * tcp_server [-4|-6] [-d] PORT [PORT...]
 *
 * A real TCP server for the end-to-end tests of TCP connection caps: it
 * accepts every connection at once and holds it open, reading and
 * discarding whatever arrives, until the peer closes or resets it. It
 * never closes a connection on its own, so the number of established
 * sockets on its side is exactly what the clients (and ratewall) let in.
 *
 * Default: one socket per port on [::] that also takes IPv4 (v4-mapped).
 * -4: 0.0.0.0 only. -6: [::] with IPV6_V6ONLY. -d: after "ready", print
 * "accepted N" (connections held now) each time N changes; the caller
 * must then keep reading stdout, or the server stalls on a full pipe.
 * "ready" goes to stdout once every port listens, so a caller can wait
 * for it instead of sleeping. SIGTERM/SIGINT: exit 0.
 */
/* For accept4(): -std=gnu11 alone does not declare it. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tool_net.h"

#define MAX_CONNS 4096
#define MAX_PORTS 64
#define BACKLOG 1024
/* Reads per wake-up per socket: a chatty peer must not starve the others. */
#define READS_PER_EVENT 16
/* Marks a listener in epoll_event.data.u64; the low 32 bits hold the fd. */
#define LISTENER_TAG (1ULL << 32)

enum mode { MODE_DUAL, MODE_V4, MODE_V6 };

static int listeners[MAX_PORTS];
static int nlisteners;
static int epfd;
static long held;
static bool debug, paused, keepalive, echo;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Probes after 1 s of silence, gives up after one unanswered probe. */
static int set_keepalive(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) ||
	       setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &one, sizeof(one)) ||
	       setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &one, sizeof(one)) ||
	       setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &one, sizeof(one));
}

static void usage(FILE *f)
{
	fprintf(f, "usage: tcp_server [-4|-6] [-d] [-k] [-e] PORT [PORT...]\n"
		"  (default [::] dual-stack; -4 0.0.0.0 only; -6 [::] v6-only;\n"
		"   -d print \"accepted N\" whenever the held count changes;\n"
		"   -k keepalive after 1 s idle, one probe: a peer gone silent times out\n"
		"      in about 2 s;\n"
		"   -e echo what arrives back to the peer, so a client can check that\n"
		"      an established connection still carries data both ways)\n");
}

static uint16_t parse_port(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < 1 || v > 65535) {
		fprintf(stderr, "tcp_server: bad port '%s' (want 1..65535)\n", s);
		exit(2);
	}
	return (uint16_t)v;
}

static int open_listener(int family, int v6only, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	len = tool_addr_any(family, port, &ss);
	/* Set explicitly: the sysctl default (bindv6only) may differ. */
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)))
		goto fail;
	/* A rerun must not fail on the previous run's TIME_WAIT sockets. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, BACKLOG))
		goto fail;
	return fd;
fail:
	one = errno;
	close(fd);
	errno = one;
	return -1;
}

static void report(void)
{
	if (debug) {
		printf("accepted %ld\n", held);
		fflush(stdout);
	}
}

/* Out of descriptors: stop polling the listeners (level-triggered, they
 * would spin) and leave new connections queued until one of ours closes. */
static void set_listening(bool on)
{
	int i;

	if (paused == !on)
		return;
	for (i = 0; i < nlisteners; i++) {
		struct epoll_event ev = {
			.events = on ? EPOLLIN : 0,
			.data.u64 = LISTENER_TAG | (uint32_t)listeners[i],
		};

		epoll_ctl(epfd, EPOLL_CTL_MOD, listeners[i], &ev);
	}
	paused = !on;
	if (paused)
		fprintf(stderr, "tcp_server: out of descriptors at %ld connections, "
			"not accepting until one closes\n", held);
}

static void accept_all(int lfd)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				set_listening(false);
			else if (errno != EAGAIN && errno != EWOULDBLOCK)
				fprintf(stderr, "tcp_server: accept: %s\n", strerror(errno));
			return;
		}
		if (keepalive && set_keepalive(fd)) {
			fprintf(stderr, "tcp_server: keepalive: %s\n", strerror(errno));
			close(fd);
			continue;
		}
		ev.data.u64 = (uint32_t)fd;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
			/* Untracked, it could never be closed on the peer's FIN. */
			fprintf(stderr, "tcp_server: epoll_ctl: %s\n", strerror(errno));
			close(fd);
			set_listening(false);
			return;
		}
		held++;
		report();
	}
}

/* Discards data; closes on EOF or on an error such as ECONNRESET. */
static void serve(int fd)
{
	char buf[16384];
	int i;

	for (i = 0; i < READS_PER_EVENT; i++) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);

		if (r > 0) {
			/* a short echo (a few bytes a ping) never fills the send buffer */
			if (echo && send(fd, buf, (size_t)r, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
				fprintf(stderr, "tcp_server: echo: %s\n", strerror(errno));
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r < 0 && errno == EINTR)
			continue;
		close(fd); /* also removes it from the epoll set */
		held--;
		report();
		set_listening(true);
		return;
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	enum mode mode = MODE_DUAL;
	uint16_t ports[MAX_PORTS];
	int nports = 0, i;
	sigset_t block, orig;
	bool opts = true;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (opts && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
			usage(stdout);
			return 0;
		} else if (opts && !strcmp(a, "-4")) {
			mode = MODE_V4;
		} else if (opts && !strcmp(a, "-6")) {
			mode = MODE_V6;
		} else if (opts && !strcmp(a, "-d")) {
			debug = true;
		} else if (opts && !strcmp(a, "-k")) {
			keepalive = true;
		} else if (opts && !strcmp(a, "-e")) {
			echo = true;
		} else if (opts && !strcmp(a, "--")) {
			opts = false;
		} else if (opts && a[0] == '-') {
			fprintf(stderr, "tcp_server: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		} else {
			if (nports == MAX_PORTS) {
				fprintf(stderr, "tcp_server: too many ports (max %d)\n", MAX_PORTS);
				return 2;
			}
			ports[nports++] = parse_port(a);
		}
	}
	if (!nports) {
		usage(stderr);
		return 2;
	}

	tool_raise_nofile("tcp_server", MAX_CONNS + MAX_PORTS + 8);
	/* -d output may go to a closed pipe; echoes use MSG_NOSIGNAL. */
	signal(SIGPIPE, SIG_IGN);
	/* Blocked except inside epoll_pwait, so a signal cannot slip in
	 * between the `stop` check and the wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		perror("tcp_server: epoll_create1");
		return 1;
	}
	for (i = 0; i < nports; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		int fd;

		if (mode == MODE_V4) {
			fd = open_listener(AF_INET, 0, ports[i]);
		} else {
			fd = open_listener(AF_INET6, mode == MODE_V6, ports[i]);
			/* Kernel without IPv6: the default mode still serves IPv4. */
			if (fd < 0 && errno == EAFNOSUPPORT && mode == MODE_DUAL)
				fd = open_listener(AF_INET, 0, ports[i]);
		}
		if (fd < 0) {
			fprintf(stderr, "tcp_server: port %u: %s\n", ports[i], strerror(errno));
			return 1;
		}
		ev.data.u64 = LISTENER_TAG | (uint32_t)fd;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev)) {
			perror("tcp_server: epoll_ctl");
			return 1;
		}
		listeners[nlisteners++] = fd;
	}
	printf("ready\n");
	fflush(stdout);

	while (!stop) {
		struct epoll_event evs[256];
		int n = epoll_pwait(epfd, evs, 256, -1, &orig);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("tcp_server: epoll_wait");
			return 1;
		}
		for (i = 0; i < n; i++) {
			int fd = (int)(uint32_t)evs[i].data.u64;

			if (evs[i].data.u64 & LISTENER_TAG)
				accept_all(fd);
			else
				serve(fd);
		}
	}
	/* Exiting closes every socket; nothing else to tidy up. */
	return 0;
}
