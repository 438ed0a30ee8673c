// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * tcp_clients [-b SRCADDR] ADDR PORT
 *
 * Opens and closes TCP connections to ADDR:PORT step by step, driven by
 * one command per line on stdin, so a bash test (through a coprocess)
 * can check a TCP connection cap between steps. Every command gets
 * exactly one result line on stdout, flushed at once:
 *
 *   open N TIMEOUT_MS  -> "opened X of N"  N connects started at once;
 *                         those not established within TIMEOUT_MS (or
 *                         failed) are closed, the rest are held
 *   close K            -> "closed K"       oldest K: FIN, wait <= 2 s for
 *                                          the peer's FIN, close
 *   reset K            -> "reset K"        oldest K: close with an RST
 *   held               -> "held H"
 *   alive              -> "alive A of H"   held ones not closed by the peer
 *   ping TIMEOUT_MS    -> "ponged P of H"  one byte to each held one; those whose
 *                                          byte comes back (tcp_server -e) in time
 *   anything else      -> "error: ..."
 *
 * "quit" or end of stdin closes everything held like "close" and exits 0
 * without a result line. -b binds every socket to SRCADDR (port 0)
 * first. At most 4096 connections are held at a time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tool_net.h"

#define MAX_CONNS 4096
#define MAX_TIMEOUT_MS 600000UL
#define CLOSE_WAIT_MS 2000
/* Absent from old libc headers; the value is part of the kernel ABI. */
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static int held[MAX_CONNS]; /* oldest first */
static int nheld;
static struct sockaddr_storage dst, src;
static socklen_t dst_len, src_len;

static void usage(FILE *f)
{
	fprintf(f, "usage: tcp_clients [-b SRCADDR] ADDR PORT\n"
		"  stdin commands: open N TIMEOUT_MS | close K | reset K | held | alive |\n"
		"                  ping TIMEOUT_MS | quit\n");
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Returns false for anything but a plain decimal within min..max. */
static bool parse_ulong(const char *s, unsigned long min, unsigned long max,
			unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s)
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Socket with its SYN on the way; -1 with errno set if that failed. */
static int start_connect(void)
{
	int one = 1, err;
	int fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (src_len) {
		/* Pick the port at connect time, by the full 4-tuple: bound
		 * sockets would otherwise each need a port of their own. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, src_len))
			goto fail;
	}
	if (connect(fd, (struct sockaddr *)&dst, dst_len) && errno != EINPROGRESS)
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static void cmd_open(unsigned long n, unsigned long timeout_ms)
{
	static int fds[MAX_CONNS];
	static struct pollfd pfd[MAX_CONNS];
	static bool done[MAX_CONNS];
	uint64_t deadline;
	unsigned long i, pending = 0, opened = 0, failed = 0;
	int first_err = 0;

	/* All SYNs first, so they leave together, then wait for all of them. */
	for (i = 0; i < n; i++) {
		fds[i] = start_connect();
		done[i] = false;
		if (fds[i] < 0) {
			if (!first_err)
				first_err = errno;
			failed++;
		} else {
			pending++;
		}
	}
	deadline = now_ms() + timeout_ms;
	while (pending) {
		uint64_t now = now_ms();
		unsigned long np = 0;
		int r;

		for (i = 0; i < n; i++)
			if (fds[i] >= 0 && !done[i])
				pfd[np++] = (struct pollfd){ .fd = fds[i], .events = POLLOUT };
		r = poll(pfd, np, now >= deadline ? 0 : (int)(deadline - now));
		if (r < 0 && errno != EINTR)
			break;
		/* pfd[] lists the pending sockets in fds[] order: walk both. */
		for (i = 0, np = 0; r > 0 && i < n; i++) {
			int err = 0;
			socklen_t len = sizeof(err);

			if (fds[i] < 0 || done[i])
				continue;
			if (!pfd[np++].revents)
				continue;
			pending--;
			if (getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
			if (err) {
				if (!first_err)
					first_err = err;
				failed++;
				close(fds[i]);
				fds[i] = -1;
			} else {
				done[i] = true;
			}
		}
		if (now >= deadline)
			break;
	}
	/* Keep the established ones in the order they were started; close
	 * the rest: still in SYN_SENT, close() sends nothing to the peer. */
	for (i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		if (done[i]) {
			held[nheld++] = fds[i];
			opened++;
		} else {
			close(fds[i]);
		}
	}
	if (failed)
		fprintf(stderr, "tcp_clients: open: %lu failed (%s)\n", failed,
			strerror(first_err));
	if (opened + failed < n)
		fprintf(stderr, "tcp_clients: open: %lu not established within %lu ms\n",
			n - opened - failed, timeout_ms);
	printf("opened %lu of %lu\n", opened, n);
}

/* Drops the oldest k entries from held[] (their fds already closed). */
static void drop_oldest(int k)
{
	memmove(held, held + k, (size_t)(nheld - k) * sizeof(held[0]));
	nheld -= k;
}

/* Reads until EOF or an error; returns true when the stream is done. */
static bool drained(int fd)
{
	char buf[4096];

	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (r > 0)
			continue;
		if (r < 0 && errno == EINTR)
			continue;
		return !(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	}
}

/* FIN on all k first, then one shared wait for the peers' FINs: the
 * server has then seen ours and closed its side before we return. */
static int close_oldest(int k)
{
	static struct pollfd pfd[MAX_CONNS];
	uint64_t deadline = now_ms() + CLOSE_WAIT_MS;
	int i, pending = 0;

	if (k > nheld)
		k = nheld;
	for (i = 0; i < k; i++) {
		/* Failure (e.g. ENOTCONN after a reset) means nothing to wait for. */
		if (shutdown(held[i], SHUT_WR) == 0 && !drained(held[i])) {
			pfd[i] = (struct pollfd){ .fd = held[i], .events = POLLIN };
			pending++;
		} else {
			pfd[i] = (struct pollfd){ .fd = -1 };
		}
	}
	while (pending) {
		uint64_t now = now_ms();
		int r;

		if (now >= deadline)
			break;
		r = poll(pfd, k, (int)(deadline - now));
		if (r < 0 && errno != EINTR)
			break;
		for (i = 0; r > 0 && i < k; i++) {
			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			if (drained(pfd[i].fd)) {
				pfd[i].fd = -1; /* poll skips negative fds */
				pending--;
			}
		}
	}
	if (pending)
		fprintf(stderr, "tcp_clients: close: %d peers sent no FIN within %d ms\n",
			pending, CLOSE_WAIT_MS);
	for (i = 0; i < k; i++)
		close(held[i]);
	drop_oldest(k);
	return k;
}

static int reset_oldest(int k)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int i;

	if (k > nheld)
		k = nheld;
	for (i = 0; i < k; i++) {
		/* Linger 0: close() aborts the connection with an RST. */
		if (setsockopt(held[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
			fprintf(stderr, "tcp_clients: reset: SO_LINGER: %s\n", strerror(errno));
		close(held[i]);
	}
	drop_oldest(k);
	return k;
}

/* A held connection is dead once the peer's FIN or RST has arrived. */
static int count_alive(void)
{
	static struct pollfd pfd[MAX_CONNS];
	int i, alive = 0;

	for (i = 0; i < nheld; i++)
		pfd[i] = (struct pollfd){ .fd = held[i], .events = POLLIN };
	if (poll(pfd, nheld, 0) < 0)
		return -1;
	for (i = 0; i < nheld; i++) {
		short re = pfd[i].revents;
		char c;

		if (re & (POLLERR | POLLHUP | POLLNVAL))
			continue;
		/* Peek, so data the peer sent stays queued and is not lost. */
		if ((re & POLLIN) && recv(held[i], &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
			continue;
		alive++;
	}
	return alive;
}

/* One byte out on every held connection, and how many echo it back in time. */
static int ping_all(unsigned long timeout_ms)
{
	static struct pollfd pfd[MAX_CONNS];
	uint64_t deadline = now_ms() + timeout_ms;
	int i, waiting = 0, ponged = 0;

	for (i = 0; i < nheld; i++) {
		pfd[i] = (struct pollfd){ .fd = -1, .events = POLLIN };
		if (send(held[i], "p", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1) {
			pfd[i].fd = held[i];
			waiting++;
		}
	}
	while (waiting > 0) {
		uint64_t now = now_ms();
		int n;

		if (now >= deadline)
			break;
		n = poll(pfd, nheld, (int)(deadline - now));
		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; n > 0 && i < nheld; i++) {
			char c;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			if (recv(pfd[i].fd, &c, 1, MSG_DONTWAIT) == 1 && c == 'p')
				ponged++;
			pfd[i].fd = -1;
			waiting--;
		}
	}
	return ponged;
}

/* Runs one command line; returns false on "quit". */
static bool run(char *line)
{
	char *save = NULL, *cmd, *a1, *a2, *extra;
	unsigned long n, t;

	line[strcspn(line, "\r\n")] = 0;
	cmd = strtok_r(line, " \t", &save);
	a1 = strtok_r(NULL, " \t", &save);
	a2 = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);

	if (!cmd) {
		printf("error: empty command\n");
	} else if (!strcmp(cmd, "open")) {
		if (extra || !a2)
			printf("error: open wants 'open N TIMEOUT_MS'\n");
		else if (!parse_ulong(a1, 0, MAX_CONNS, &n))
			printf("error: open: bad N '%s' (want 0..%d)\n", a1, MAX_CONNS);
		else if (!parse_ulong(a2, 0, MAX_TIMEOUT_MS, &t))
			printf("error: open: bad TIMEOUT_MS '%s' (want 0..%lu)\n", a2,
			       MAX_TIMEOUT_MS);
		else if (n > (unsigned long)(MAX_CONNS - nheld))
			printf("error: open: %lu more would hold over %d (holding %d)\n", n,
			       MAX_CONNS, nheld);
		else
			cmd_open(n, t);
	} else if (!strcmp(cmd, "close") || !strcmp(cmd, "reset")) {
		bool rst = cmd[0] == 'r';

		if (a2 || !a1)
			printf("error: %s wants '%s K'\n", cmd, cmd);
		else if (!parse_ulong(a1, 0, MAX_CONNS, &n))
			printf("error: %s: bad K '%s' (want 0..%d)\n", cmd, a1, MAX_CONNS);
		else if (rst)
			printf("reset %d\n", reset_oldest((int)n));
		else
			printf("closed %d\n", close_oldest((int)n));
	} else if (!strcmp(cmd, "ping")) {
		if (a2 || !a1)
			printf("error: ping wants 'ping TIMEOUT_MS'\n");
		else if (!parse_ulong(a1, 0, MAX_TIMEOUT_MS, &t))
			printf("error: ping: bad TIMEOUT_MS '%s' (want 0..%lu)\n", a1, MAX_TIMEOUT_MS);
		else
			printf("ponged %d of %d\n", ping_all(t), nheld);
	} else if (!strcmp(cmd, "held") || !strcmp(cmd, "alive") || !strcmp(cmd, "quit")) {
		if (a1)
			printf("error: %s takes no arguments\n", cmd);
		else if (cmd[0] == 'q')
			return false;
		else if (cmd[0] == 'h')
			printf("held %d\n", nheld);
		else
			printf("alive %d of %d\n", count_alive(), nheld);
	} else {
		printf("error: unknown command '%s'\n", cmd);
	}
	fflush(stdout);
	return true;
}

int main(int argc, char **argv)
{
	const char *src_str = NULL;
	unsigned long port;
	char *line = NULL;
	size_t cap = 0;
	int i = 1;

	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "-b")) {
		src_str = argv[2];
		i = 3;
	}
	if (argc - i != 2 || argv[i][0] == '-') {
		usage(stderr);
		return 2;
	}
	if (!parse_ulong(argv[i + 1], 1, 65535, &port)) {
		fprintf(stderr, "tcp_clients: bad port '%s' (want 1..65535)\n", argv[i + 1]);
		return 2;
	}
	dst_len = tool_addr_parse(argv[i], (uint16_t)port, &dst);
	if (!dst_len) {
		fprintf(stderr, "tcp_clients: bad address '%s' (want an IPv4 or IPv6 "
			"literal)\n", argv[i]);
		return 2;
	}
	if (src_str) {
		src_len = tool_addr_parse(src_str, 0, &src);
		if (!src_len || src.ss_family != dst.ss_family) {
			fprintf(stderr, "tcp_clients: bad source address '%s' (want a literal "
				"of the destination's family)\n", src_str);
			return 2;
		}
	}

	tool_raise_nofile("tcp_clients", MAX_CONNS + 16);
	/* A write to a reset connection must be an error, not our death. */
	signal(SIGPIPE, SIG_IGN);

	while (getline(&line, &cap, stdin) >= 0)
		if (!run(line))
			break;
	free(line);
	close_oldest(nheld);
	return 0;
}
