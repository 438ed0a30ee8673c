// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * xdp_gen: paced UDP traffic for the veth testbed, from BPF_PROG_TEST_RUN
 * with live frames (BPF_F_TEST_XDP_LIVE_FRAMES): gen.bpf.c rewrites each
 * frame's source and sends it with XDP_TX out of `dev` to the veth peer.
 * Run it inside the generator's network namespace.
 *
 * usage: xdp_gen dev IFACE dst-mac MAC family 4|6 dst ADDR sources N
 *                pps N duration SECONDS [threads N] [batch N] [chunk N]
 *                [port N]
 *
 * Prints one JSON object: frames handed to XDP_TX ("sent"; the veth may
 * still refuse some when its peer's ring is full: see its ethtool
 * counters) and the CLOCK_MONOTONIC times of the first and last frame.
 * "stall_ns" adds up the pauses over GEN_STALL_NS of every CPU (with two
 * CPUs sending, a pause of either costs the receiver's bucket refill). Threads: CPU k sends pps/threads, from two workers taking turns. Bounded: at most 60 s
 * (plus one chunk of repetitions) and 20 Mpps.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gen.h"
#include "udp_frame.h"
#include "bench/gen.skel.h"

#define NS_PER_SEC 1000000000ULL
#define MAX_DURATION 60
#define MAX_PPS 20000000ULL
#define MAX_THREADS 64
#define CALL_NS 250000000ULL
#define MIN_CHUNK 4096ULL
#define MAX_CHUNK 100000000ULL

struct gen_opts {
	const char *dev;
	unsigned char dst_mac[6];
	int family;
	const char *dst;
	uint32_t sources;
	uint64_t pps;
	double duration;
	int threads;
	uint32_t batch;
	uint32_t chunk;
	uint16_t port;
	int ifindex;
};

struct worker {
	pthread_t tid;
	int cpu;
	int prog_fd;
	const struct gen_opts *o;
	unsigned char frame[UDP_FRAME_MAX];
	unsigned int len;
	uint64_t start_ns, end_ns;
	int err;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void *run_worker(void *arg)
{
	struct worker *w = arg;
	const struct gen_opts *o = w->o;
	uint64_t limit_ns = (uint64_t)(o->duration * NS_PER_SEC);
	struct xdp_md ctx = { .data = 0, .data_end = w->len, .ingress_ifindex = o->ifindex };
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) {
		w->err = -EINVAL;
		return NULL;
	}
	w->start_ns = now_ns();
	/*
	 * Each call spins through `chunk` repetitions while the program paces.
	 * A call costs milliseconds of set-up during which nothing is sent, so
	 * chunks grow to last about CALL_NS, and shrink near the end so that
	 * the run stops on time.
	 */
	uint64_t chunk = o->chunk, t;

	while ((t = now_ns()) - w->start_ns < limit_ns) {
		uint64_t left = limit_ns - (t - w->start_ns), took;
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = w->frame, .data_size_in = w->len,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = (__u32)chunk,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = o->batch);

		if (bpf_prog_test_run_opts(w->prog_fd, &opts)) {
			w->err = -errno;
			break;
		}
		took = now_ns() - t;
		if (!took)
			took = 1;
		/* Repetitions per ns measured, scaled to the target call length. */
		chunk = chunk * (CALL_NS < left ? CALL_NS : left) / took;
		if (chunk < MIN_CHUNK)
			chunk = MIN_CHUNK;
		if (chunk > MAX_CHUNK)
			chunk = MAX_CHUNK;
	}
	w->end_ns = now_ns();
	return NULL;
}

static int parse_mac(const char *s, unsigned char mac[6])
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
		      &mac[4], &mac[5]) == 6 ? 0 : -1;
}

static int usage(void)
{
	fprintf(stderr, "usage: xdp_gen dev IFACE dst-mac MAC family 4|6 dst ADDR sources N "
			"pps N duration SECONDS [threads N] [batch N] [chunk N] [port N]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct gen_opts o = { .family = 4, .sources = 1, .threads = 1, .batch = 64, .chunk = 100000,
			      .port = 9 };
	struct worker w[2 * MAX_THREADS];
	struct gen_bpf *skel;
	int have_mac = 0, err = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (!strcmp(k, "dev"))
			o.dev = v;
		else if (!strcmp(k, "dst-mac"))
			have_mac = !parse_mac(v, o.dst_mac);
		else if (!strcmp(k, "family"))
			o.family = atoi(v);
		else if (!strcmp(k, "dst"))
			o.dst = v;
		else if (!strcmp(k, "sources"))
			o.sources = strtoul(v, NULL, 10);
		else if (!strcmp(k, "pps"))
			o.pps = strtoull(v, NULL, 10);
		else if (!strcmp(k, "duration"))
			o.duration = strtod(v, NULL);
		else if (!strcmp(k, "threads"))
			o.threads = atoi(v);
		else if (!strcmp(k, "batch"))
			o.batch = strtoul(v, NULL, 10);
		else if (!strcmp(k, "chunk"))
			o.chunk = strtoul(v, NULL, 10);
		else if (!strcmp(k, "port"))
			o.port = (uint16_t)strtoul(v, NULL, 10);
		else {
			fprintf(stderr, "xdp_gen: unknown option '%s'\n", k);
			return usage();
		}
	}
	if ((argc - 1) % 2)
		return usage();
	if (!o.dev || !have_mac || !o.dst || (o.family != 4 && o.family != 6)) {
		fprintf(stderr, "xdp_gen: dev, dst-mac, family (4 or 6) and dst are required\n");
		return usage();
	}
	if (o.pps < 1 || o.pps > MAX_PPS || o.duration <= 0 || o.duration > MAX_DURATION ||
	    o.threads < 1 || o.threads > MAX_THREADS || o.threads > libbpf_num_possible_cpus() ||
	    o.batch < 1 || o.batch > 256 || o.chunk < 1 || o.chunk > 100000000 || o.sources < 1 ||
	    (o.family == 4 && o.sources > 131072)) {
		fprintf(stderr, "xdp_gen: out of range: pps 1..%llu, duration (0,%d], threads "
				"1..cpus, batch 1..256, chunk 1..1e8, sources >= 1 (IPv4 <= 131072)\n",
			MAX_PPS, MAX_DURATION);
		return 2;
	}
	o.ifindex = (int)if_nametoindex(o.dev);
	if (!o.ifindex) {
		fprintf(stderr, "xdp_gen: no interface '%s' in this namespace\n", o.dev);
		return 1;
	}
	skel = gen_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "xdp_gen: cannot load the generator program: %s\n",
			strerror(errno));
		return 1;
	}
	skel->data->sources = o.sources;
	skel->data->gap_ns = NS_PER_SEC * (uint64_t)o.threads / o.pps;
	/* Two workers per CPU: a test run call sleeps for milliseconds in its
	 * set-up and teardown, and the other worker sends meanwhile. */
	int nworkers = o.threads * 2;

	for (int t = 0; t < nworkers; t++) {
		memset(&w[t], 0, sizeof(w[t]));
		w[t].cpu = t / 2;
		w[t].o = &o;
		w[t].prog_fd = bpf_program__fd(skel->progs.gen_rotate);
		/* The program rewrites the source of every frame it sends. */
		w[t].len = udp_frame_build(w[t].frame, o.family, o.dst_mac,
					   o.family == 4 ? "198.18.0.0" : "2001:db8::2", o.dst,
					   o.port);
		if (!w[t].len) {
			fprintf(stderr, "xdp_gen: bad address '%s' for IPv%d\n", o.dst, o.family);
			gen_bpf__destroy(skel);
			return 2;
		}
	}
	for (int t = 0; t < nworkers; t++)
		if (pthread_create(&w[t].tid, NULL, run_worker, &w[t]))
			err = -EAGAIN;
	for (int t = 0; t < nworkers; t++) {
		pthread_join(w[t].tid, NULL);
		if (w[t].err)
			err = w[t].err;
	}
	uint64_t sent = 0, first = UINT64_MAX, last = 0, stall_ns = 0, stalls = 0;

	for (int t = 0; t < o.threads; t++) {
		const struct gen_pace *p = &skel->bss->pace[t];

		sent += p->sent;
		stall_ns += p->stall_ns;
		stalls += p->stalls;
		if (p->sent) {
			first = p->first_ns < first ? p->first_ns : first;
			last = p->last_ns > last ? p->last_ns : last;
		}
	}
	gen_bpf__destroy(skel);
	if (!sent)
		first = last = 0;
	if (err) {
		fprintf(stderr, "xdp_gen: sending failed: %s\n", strerror(-err));
		return 1;
	}
	printf("{\"sent\":%" PRIu64 ",\"first_ns\":%" PRIu64 ",\"last_ns\":%" PRIu64
	       ",\"elapsed_ns\":%" PRIu64 ",\"stalls\":%" PRIu64 ",\"stall_ns\":%" PRIu64 "}\n",
	       sent, first, last, last - first, stalls, stall_ns);
	return 0;
}
