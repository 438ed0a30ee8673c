// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * udp_burst DST_IP PORT COUNT [pps N] [size BYTES] [src IP]
 *
 * Sends exactly COUNT UDP datagrams to DST_IP:PORT and prints
 * {"sent":N,"elapsed_ns":N,"stall_ns":N}: elapsed is first to last
 * successful send; stall_ns adds up the gaps between consecutive sends
 * longer than max(10 ms, twice the planned gap between batches), i.e. the
 * time the sender was held up. A rate limiter's bucket refills only up to
 * its burst while a source is silent, so a test that expects
 * burst + rate * elapsed admissions must allow for those pauses.
 * The end-to-end tests compare what ratewall counted against "sent", so a
 * datagram the kernel refuses for lack of buffer space is retried rather
 * than lost. Bounded by construction: COUNT <= 10,000,000 and 60 seconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tool_net.h"

#define MAX_COUNT 10000000ULL
#define MAX_PPS 100000000ULL
#define TIME_LIMIT_NS (60ULL * 1000000000ULL)
#define NS_PER_SEC 1000000000ULL
/* Largest payload of one unfragmented-by-UDP datagram (IPv4 bound). */
#define MAX_SIZE 65507ULL
#define DEFAULT_SIZE 32ULL
/* Back-off when the stack is out of buffers: short, so pacing survives. */
#define RETRY_SLEEP_NS 20000L
/* Shortest gap between two sends reported as a stall. */
#define STALL_MIN_NS 10000000ULL

static void usage(void)
{
	fprintf(stderr, "usage: udp_burst DST_IP PORT COUNT [pps N] [size BYTES] [src IP]\n");
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = t / NS_PER_SEC, .tv_nsec = t % NS_PER_SEC };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static uint64_t parse_u64(const char *what, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "udp_burst: bad %s '%s' (want %" PRIu64 "..%" PRIu64 ")\n",
			what, s, min, max);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage dst, src;
	socklen_t dst_len, src_len = 0;
	uint64_t port, count, pps = 0, size = DEFAULT_SIZE;
	uint64_t sent = 0, first = 0, last = 0, start, batch = 1;
	uint64_t stall_ns = 0, stall_gap = STALL_MIN_NS;
	const char *src_str = NULL;
	unsigned char *buf;
	bool stop = false;
	int fd, i;

	if (argc < 4 || (argc - 4) % 2)
		usage();
	port = parse_u64("port", argv[2], 1, 65535);
	count = parse_u64("count", argv[3], 0, MAX_COUNT);
	for (i = 4; i < argc; i += 2) {
		if (!strcmp(argv[i], "pps"))
			pps = parse_u64("pps", argv[i + 1], 1, MAX_PPS);
		else if (!strcmp(argv[i], "size"))
			size = parse_u64("size", argv[i + 1], 0, MAX_SIZE);
		else if (!strcmp(argv[i], "src"))
			src_str = argv[i + 1];
		else
			usage();
	}

	dst_len = tool_addr_parse(argv[1], (uint16_t)port, &dst);
	if (!dst_len) {
		fprintf(stderr, "udp_burst: bad destination '%s'\n", argv[1]);
		return 2;
	}
	if (src_str) {
		src_len = tool_addr_parse(src_str, 0, &src);
		if (!src_len || src.ss_family != dst.ss_family) {
			fprintf(stderr, "udp_burst: bad source '%s' (must be the "
				"destination's family)\n", src_str);
			return 2;
		}
	}

	fd = socket(dst.ss_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("udp_burst: socket");
		return 1;
	}
	if (src_len && bind(fd, (struct sockaddr *)&src, src_len) < 0) {
		fprintf(stderr, "udp_burst: bind %s: %s\n", src_str, strerror(errno));
		return 1;
	}

	buf = calloc(1, size ? size : 1);
	if (!buf) {
		perror("udp_burst: calloc");
		return 1;
	}

	/*
	 * Pacing: batches of about a millisecond's worth, each released at
	 * start + (index of its first datagram) / pps on the monotonic clock,
	 * so a late wake-up is caught up rather than lowering the rate.
	 */
	if (pps) {
		batch = pps / 1000;
		if (batch < 1)
			batch = 1;
		if (batch > 64)
			batch = 64;
		if (stall_gap < 2 * batch * NS_PER_SEC / pps)
			stall_gap = 2 * batch * NS_PER_SEC / pps;
	}

	start = now_ns();
	while (sent < count && !stop) {
		uint64_t end_batch;

		if (pps) {
			uint64_t due = (uint64_t)((unsigned __int128)sent * NS_PER_SEC / pps);

			/* Never sleep past the time limit, however low the rate. */
			if (due > TIME_LIMIT_NS) {
				fprintf(stderr, "udp_burst: stopped at the 60 s limit\n");
				break;
			}
			sleep_until(start + due);
		}
		end_batch = sent + batch;
		if (end_batch > count)
			end_batch = count;
		while (sent < end_batch) {
			uint64_t t;
			ssize_t r;

			if (now_ns() - start > TIME_LIMIT_NS) {
				fprintf(stderr, "udp_burst: stopped at the 60 s limit\n");
				stop = true;
				break;
			}
			/* A sequence number makes each datagram distinct in captures. */
			if (size >= sizeof(sent))
				memcpy(buf, &sent, sizeof(sent));
			r = sendto(fd, buf, size, 0, (struct sockaddr *)&dst, dst_len);
			if (r < 0) {
				if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
					struct timespec ts = { 0, RETRY_SLEEP_NS };

					nanosleep(&ts, NULL);
					continue;
				}
				/* Unconnected sockets see no ICMP errors, so this is real. */
				fprintf(stderr, "udp_burst: sendto: %s\n", strerror(errno));
				stop = true;
				break;
			}
			t = now_ns();
			if (sent == 0)
				first = t;
			else if (t - last > stall_gap)
				stall_ns += t - last;
			last = t;
			sent++;
		}
	}
	printf("{\"sent\":%" PRIu64 ",\"elapsed_ns\":%" PRIu64 ",\"stall_ns\":%" PRIu64 "}\n",
	       sent, sent ? last - first : 0, stall_ns);
	fflush(stdout);
	close(fd);
	free(buf);
	return sent == count ? 0 : 1;
}
