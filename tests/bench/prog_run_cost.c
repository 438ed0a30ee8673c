// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Per-packet cost through BPF_PROG_TEST_RUN: ratewall's pass and drop
 * paths beside a trivial XDP_PASS program, measured in the same run,
 * several rounds each, reported as median and min-max; plus the kernel's
 * own figure for the memory of the per-source map, per entry.
 *
 * usage: prog_run_cost BASELINE_OBJ [repeat N] [rounds N] [entries N] [json]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>

#include "limits.h"
#include "ratewall.skel.h"

#define MAX_ROUNDS 64

struct frame {
	unsigned char bytes[64];
	unsigned int len;
};

/* A 60-byte Ethernet/IPv4/UDP frame from 198.18.0.2 to 198.18.0.1:8080. */
static void build_frame(struct frame *f)
{
	struct ethhdr *eth = (void *)f->bytes;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);

	memset(f, 0, sizeof(*f));
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = htonl(0xC6120002);
	ip->daddr = htonl(0xC6120001);
	udp->source = htons(40000);
	udp->dest = htons(8080);
	f->len = 60;
	ip->tot_len = htons(f->len - sizeof(*eth));
	udp->len = htons(f->len - sizeof(*eth) - sizeof(*ip));
}

static int run_once(int prog_fd, const struct frame *f, unsigned int repeat, double *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->bytes, .data_size_in = f->len,
		    .repeat = repeat);
	int err = bpf_prog_test_run_opts(prog_fd, &opts);

	if (err)
		return -errno;
	/* The kernel's own average per repeat: whole ns, program run only. */
	*ns = opts.duration;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct result {
	const char *name;
	double median, min, max;
};

static void summarize(const char *name, double *samples, int rounds, struct result *r)
{
	qsort(samples, rounds, sizeof(double), cmp_double);
	r->name = name;
	r->median = rounds % 2 ? samples[rounds / 2]
			       : (samples[rounds / 2 - 1] + samples[rounds / 2]) / 2;
	r->min = samples[0];
	r->max = samples[rounds - 1];
}

static int set_limits(struct ratewall_bpf *skel, uint64_t rate, uint64_t burst)
{
	struct limit_opts o;
	struct rw_config cfg = { 0 };
	__u32 zero = 0;

	limit_opts_default(&o);
	o.rate = rate;
	o.burst = burst;
	limits_to_config(&o, &cfg);
	return bpf_map_update_elem(bpf_map__fd(skel->maps.rw_config), &zero, &cfg, BPF_ANY);
}

/* The kernel's memory accounting for a map, from its fdinfo "memlock:". */
static long long map_memlock(int fd)
{
	char path[64], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	unsigned int repeat = 1000000, entries = RW_DEFAULT_MAX_ENTRIES;
	int rounds = 7, json = 0, err = 1;
	struct bpf_object *base = NULL;
	struct ratewall_bpf *skel = NULL;
	struct result res[3];
	struct frame f;

	if (argc < 2) {
		fprintf(stderr, "usage: %s BASELINE_OBJ [repeat N] [rounds N] [entries N] [json]\n",
			argv[0]);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "json"))
			json = 1;
		else if (i + 1 < argc && !strcmp(argv[i], "repeat"))
			repeat = strtoul(argv[++i], NULL, 10);
		else if (i + 1 < argc && !strcmp(argv[i], "rounds"))
			rounds = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "entries"))
			entries = strtoul(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "unknown argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (rounds < 1 || rounds > MAX_ROUNDS || repeat < 1) {
		fprintf(stderr, "rounds must be 1..%d and repeat >= 1\n", MAX_ROUNDS);
		return 2;
	}
	build_frame(&f);

	base = bpf_object__open_file(argv[1], NULL);
	if (!base || bpf_object__load(base)) {
		fprintf(stderr, "cannot load %s\n", argv[1]);
		goto out;
	}
	skel = ratewall_bpf__open();
	if (!skel || bpf_map__set_max_entries(skel->maps.rw_sources, entries) ||
	    ratewall_bpf__load(skel)) {
		fprintf(stderr, "cannot load ratewall\n");
		goto out;
	}

	/*
	 * Rounds interleave the three paths so that drift on this shared machine
	 * hits them alike. The pass and drop paths use different sources, so the
	 * 1/s limit of the drop path never leaves the pass source in debt.
	 */
	int fds[3] = {
		bpf_program__fd(bpf_object__find_program_by_name(base, "baseline_pass")),
		bpf_program__fd(skel->progs.ratewall_xdp),
		bpf_program__fd(skel->progs.ratewall_xdp),
	};
	const char *names[3] = { "trivial_pass", "ratewall_pass", "ratewall_drop" };
	double samples[3][MAX_ROUNDS];
	struct frame drop_frame = f;

	drop_frame.bytes[sizeof(struct ethhdr) + 15] = 3; /* saddr 198.18.0.3 */
	for (int r = 0; r < rounds; r++) {
		for (int p = 0; p < 3; p++) {
			int rc = 0;

			if (p == 1)
				rc = set_limits(skel, RW_RATE_MAX, RW_BURST_MAX);
			if (p == 2)
				rc = set_limits(skel, 1, 1);
			if (!rc)
				rc = run_once(fds[p], p == 2 ? &drop_frame : &f, repeat,
					      &samples[p][r]);
			if (rc) {
				fprintf(stderr, "%s: BPF_PROG_TEST_RUN failed\n", names[p]);
				goto out;
			}
		}
	}
	for (int p = 0; p < 3; p++)
		summarize(names[p], samples[p], rounds, &res[p]);

	long long mem = map_memlock(bpf_map__fd(skel->maps.rw_sources));

	if (json) {
		printf("{\"repeat\":%u,\"rounds\":%d,\"paths\":[", repeat, rounds);
		for (int i = 0; i < 3; i++)
			printf("%s{\"path\":\"%s\",\"ns_median\":%.1f,\"ns_min\":%.1f,\"ns_max\":%.1f,"
			       "\"ratio_to_trivial\":%.2f}",
			       i ? "," : "", res[i].name, res[i].median, res[i].min, res[i].max,
			       res[i].median / res[0].median);
		printf("],\"sources_map\":{\"entries\":%u,\"memlock_bytes\":%lld,"
		       "\"bytes_per_source\":%.1f}}\n",
		       entries, mem, mem > 0 ? (double)mem / entries : -1.0);
	} else {
		printf("BPF_PROG_TEST_RUN, %u repeats x %d rounds, ns per packet (kernel-timed, 1 ns resolution)\n", repeat, rounds);
		printf("%-16s %8s %8s %8s %10s\n", "path", "median", "min", "max", "x trivial");
		for (int i = 0; i < 3; i++)
			printf("%-16s %8.2f %8.2f %8.2f %10.2f\n", res[i].name, res[i].median,
			       res[i].min, res[i].max, res[i].median / res[0].median);
		printf("per-source map: %u entries, %lld bytes (kernel memlock), %.1f bytes per source\n",
		       entries, mem, mem > 0 ? (double)mem / entries : -1.0);
	}
	err = 0;
out:
	ratewall_bpf__destroy(skel);
	bpf_object__close(base);
	return err;
}
