// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Per-packet cost through BPF_PROG_TEST_RUN: ratewall's pass and drop
 * paths, round robin over 130k known sources and a flood of new sources,
 * beside a trivial XDP_PASS program, measured in the same run, several
 * rounds each, reported as median and min-max; plus the kernel's own
 * figure for the memory of the per-source map, per entry.
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

#include "limits.h"
#include "percpu.h"
#include "policy_apply.h"
#include "policy_builtin.h"
#include "policy.h"
#include "policy_compile.h"
#include "ratewall.skel.h"
#include "bench/rotate.skel.h"
#include "udp_frame.h"

#define MAX_ROUNDS 64

struct frame {
	unsigned char bytes[UDP_FRAME_MAX];
	unsigned int len;
};

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

/* A policy through the loader's own compile and install. */
static int install_policy(struct ratewall_bpf *skel, const struct policy *p, bool fresh)
{
	struct policy_maps m;

	policy_maps_of_skeleton(skel, &m);
	return policy_compile_and_install(&m, p, fresh);
}

/* Per-source limits and the new-source budget, as the loader computes them. */
static int set_limits(struct ratewall_bpf *skel, uint64_t rate, uint64_t burst,
		      uint64_t new_rate, uint64_t new_burst, bool events_off)
{
	struct limit_opts o;
	struct rw_config cfg = { 0 };
	struct policy p;
	__u32 zero = 0;

	limit_opts_default(&o);
	/* The filter's mask must match the filter map sized at load. */
	o.entries = bpf_map__max_entries(skel->maps.rw_sources);
	o.new_rate = new_rate;
	o.new_burst = new_burst;
	limits_to_config(&o, &cfg);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.rw_config), &zero, &cfg, BPF_ANY))
		return -errno;
	policy_builtin(&p, rate, burst);
	p.events_off = events_off;
	return install_policy(skel, &p, true);
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

static struct ratewall_bpf *load_ratewall(unsigned int entries)
{
	struct ratewall_bpf *skel = ratewall_bpf__open();

	if (skel && !bpf_map__set_max_entries(skel->maps.rw_sources, entries) &&
	    !bpf_map__set_max_entries(skel->maps.rw_seen, seen_filter_words(entries)) &&
	    !ratewall_bpf__load(skel))
		return skel;
	ratewall_bpf__destroy(skel);
	return NULL;
}

enum target { TO_TRIVIAL, TO_CLOCK, TO_RATEWALL, TO_POLICY, TO_CAPS, TO_CLASS, TO_QUOTA };

/*
 * Every check of the chain present and passing: the packet's class by
 * port, its tenant and list lookup in a non-empty trie, and every bucket
 * (limits far above what the bench sends, so nothing is refused). CAP is
 * the connection caps' line, empty or not.
 */
#define FULL_POLICY(CAP)                                                   \
	"classes:\n"                                                         \
	"  - name: api\n"                                                    \
	"    ports: [tcp/8080, udp/8080]\n"                                  \
	"    source:\n" CAP                                                  \
	"      packets: { rate: 100000000/s, burst: 10000000 }\n"            \
	"      syn: { rate: 100000000/s, burst: 10000000 }\n"                \
	"    global:\n" CAP                                                  \
	"      packets: { rate: 100000000/s, burst: 10000000 }\n"            \
	"      syn: { rate: 100000000/s, burst: 10000000 }\n" FULL_POLICY_REST
#define FULL_POLICY_REST \
	"tenants:\n" \
	"  - name: bench\n" \
	"    cidrs: [198.18.0.0/24]\n" \
	"    packets: { rate: 100000000/s, burst: 10000000 }\n" \
	"    syn: { rate: 100000000/s, burst: 10000000 }\n" \
	"    classes:\n" \
	"      api:\n" \
	"        packets: { rate: 100000000/s, burst: 10000000 }\n" \
	"        syn: { rate: 100000000/s, burst: 10000000 }\n" \
	"allow: [198.19.0.0/24]\n" \
	"deny: [198.19.1.0/24]\n"

static const char full_policy[] = FULL_POLICY("");
/* The same with both connection caps, far above the counts the bench holds. */
static const char caps_policy[] = FULL_POLICY("      connections: 1000000\n");

/*
 * One class whose only bucket is class-wide, kept here or shared by the
 * fleet (scope: global): the same packet, the same GCRA, so the difference
 * is what a shared bucket adds per packet (its share and lease read from
 * rw_quotas, its per-CPU counts). The store is never contacted here.
 */
#define CLASS_POLICY(SCOPE, QUOTA)                                            \
	"classes:\n"                                                           \
	"  - name: api\n"                                                      \
	"    ports: [tcp/8080, udp/8080]\n"                                    \
	"    global:\n"                                                        \
	"      packets: { rate: 100000000/s, burst: 10000000" SCOPE " }\n" QUOTA
static const char class_policy[] = CLASS_POLICY("", "");
static const char quota_policy[] = CLASS_POLICY(", scope: global",
						"quota: { redis: \"unix:///nonexistent/ratewall-bench.sock\" }\n");

/* Every shared bucket of the live policy under a lease that never ends,
 * its share the fleet's whole limit: the daemon's state after a sync. */
static int lease_shares(struct ratewall_bpf *skel)
{
	struct policy_maps m;
	struct rw_policy pol;
	uint32_t slot;
	int err, n = 0;

	policy_maps_of_skeleton(skel, &m);
	err = policy_read_active(&m, &slot, &pol);
	if (err)
		return err;
	for (uint32_t id = 1; id < RW_MAX_QUOTAS; id++) {
		uint32_t idx = rw_quota_index(slot, id);
		struct rw_quota q;

		if (bpf_map_lookup_elem(m.quotas_fd, &idx, &q))
			return -errno;
		if (!q.name[0])
			continue;
		q.share = q.limit;
		q.lease_until = UINT64_MAX;
		if (bpf_map_update_elem(m.quotas_fd, &idx, &q, BPF_ANY))
			return -errno;
		n++;
	}
	return n ? 0 : -ENOENT;
}

/* The shared bucket took every packet of its path and admitted them all
 * (a refusing share would time another path): 0 or -EPROTO. */
static int check_shared_admitted(struct ratewall_bpf *skel, uint64_t want)
{
	struct policy_maps m;
	struct rw_policy pol;
	uint64_t sums[2];
	uint32_t slot;
	int err;

	policy_maps_of_skeleton(skel, &m);
	err = policy_read_active(&m, &slot, &pol);
	if (!err)
		err = percpu_sum_key(m.quota_counts_fd, rw_quota_index(slot, 1), 2, sums);
	if (err)
		return err;
	if (sums[0] < want || sums[1] != sums[0]) {
		fprintf(stderr, "class_shared: the shared bucket saw %llu packets and admitted %llu, "
			"want %llu and all\n", (unsigned long long)sums[0],
			(unsigned long long)sums[1], (unsigned long long)want);
		return -EPROTO;
	}
	return 0;
}

/*
 * The bench's SYN source holds 5 connections in class api (id 1), as
 * sockops would have counted them, so the cap check finds its entry.
 */
static int hold_connections(struct ratewall_bpf *skel)
{
	struct rw_src_key key = { .family = 4, .class_id = 1 };
	struct rw_class_conns cc = { .open = 5 };
	struct rw_conn_entry e = { .word = rw_conn_word(1, 5, 0) };
	__u32 api = 1;

	inet_pton(AF_INET, "198.18.0.2", &key.addr[0]);
	e.key = key;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.rw_conns), &key, &e, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.rw_class_conns), &api, &cc, BPF_ANY))
		return -errno;
	return 0;
}

static int install_full_policy(struct ratewall_bpf *skel, const char *yaml)
{
	struct policy p;
	char errors[2048];
	int err = policy_parse_string("full_policy", yaml, strlen(yaml), &p, errors,
				      sizeof(errors));

	if (err) {
		fprintf(stderr, "%s\n", errors);
		return err;
	}
	err = install_policy(skel, &p, false);
	policy_free(&p);
	return err;
}

/*
 * One measured path. `sources` < 0 runs the program directly on one fixed
 * source; otherwise through the rotator (0: a new source every packet).
 */
struct path {
	const char *name;
	const char *what;
	enum target target;
	int family;
	long sources;
	uint64_t rate, burst, new_rate, new_burst;
	bool events_off; /* the policy's `events: { interval: off }` */
};

#define OPEN RW_RATE_MAX, RW_BURST_MAX
#define GUARD RW_DEFAULT_NEW_RATE, RW_DEFAULT_NEW_BURST
#define UNGUARDED RW_RATE_MAX, RW_BURST_MAX

static const struct path paths[] = {
	{ "trivial_pass", "XDP_PASS and nothing else", TO_TRIVIAL, 4, -1, OPEN, GUARD },
	{ "clock", "bpf_ktime_get_ns() alone: the floor of any bucket", TO_CLOCK, 4, -1, OPEN,
	  GUARD },
	{ "pass", "one known source under its limit", TO_RATEWALL, 4, -1, OPEN, GUARD },
	{ "drop", "one known source over its limit", TO_RATEWALL, 4, -1, 1, 1, GUARD },
	{ "rotator", "source rewrite + tail call to XDP_PASS", TO_TRIVIAL, 4, 131072, OPEN,
	  GUARD },
	{ "rr_1", "via rotator: one known IPv4 source", TO_RATEWALL, 4, 1, OPEN, GUARD },
	{ "rr_130k", "via rotator: 131072 known IPv4 sources, round robin", TO_RATEWALL, 4,
	  131072, OPEN, GUARD },
	{ "rr6_1", "via rotator: one known IPv6 /64", TO_RATEWALL, 6, 1, OPEN, GUARD },
	{ "new6", "via rotator: a new IPv6 /64 every packet, default budget", TO_RATEWALL, 6,
	  0, OPEN, GUARD },
	{ "new6_lru", "via rotator: a new IPv6 /64 every packet, unguarded (LRU insert)",
	  TO_RATEWALL, 6, 0, OPEN, UNGUARDED },
	{ "chain", "full policy, UDP: port class, trie, source/tenant/class buckets",
	  TO_POLICY, 4, -1, OPEN, GUARD },
	{ "chain_syn", "full policy, TCP SYN: the same plus the four SYN buckets", TO_POLICY,
	  4, -1, OPEN, GUARD },
	{ "chain_caps", "full policy, TCP SYN, plus both connection caps (a counted source)",
	  TO_CAPS, 4, -1, OPEN, GUARD },
	{ "drop_quiet", "the drop path with refusal events off", TO_RATEWALL, 4, -1, 1, 1, GUARD,
	  true },
	{ "new6_quiet", "the new6 path with refusal events off", TO_RATEWALL, 6, 0, OPEN, GUARD,
	  true },
	{ "class_local", "one class, UDP: its class-wide packet bucket, local", TO_CLASS, 4, -1,
	  OPEN, GUARD },
	{ "class_shared", "the same bucket with scope: global, at a leased share", TO_QUOTA, 4,
	  -1, OPEN, GUARD },
};
#define NPATHS (sizeof(paths) / sizeof(paths[0]))
#define ROTATOR_PATH 4
#define KNOWN6_PATH 7
#define NEW6_PATH 8
#define NEW6_LRU_PATH 9
#define RR_130K_PATH 6
#define PASS_PATH 2
#define CHAIN_PATH 10
#define CHAIN_SYN_PATH 11
#define CHAIN_CAPS_PATH 12
#define CLASS_LOCAL_PATH 15
#define CLASS_SHARED_PATH 16

static double path_net(const struct result *res, size_t i)
{
	/* Take the rotator's own cost out of the paths that go through it. */
	if (paths[i].sources < 0)
		return res[i].median;
	return res[i].median - (res[ROTATOR_PATH].median - res[0].median);
}

int main(int argc, char **argv)
{
	unsigned int repeat = 1000000, entries = RW_DEFAULT_MAX_ENTRIES;
	int rounds = 7, json = 0, err = 1;
	struct bpf_object *base = NULL;
	struct ratewall_bpf *skel = NULL, *skel_lru = NULL, *skel_pol = NULL, *skel_caps = NULL;
	struct ratewall_bpf *skel_class = NULL, *skel_quota = NULL;
	struct rotate_bpf *rot = NULL;
	struct result res[NPATHS];
	struct frame f4, f6;
	__u32 zero = 0;

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
	if (rounds < 1 || rounds > MAX_ROUNDS || repeat < 1 || repeat > INT32_MAX) {
		fprintf(stderr, "rounds must be 1..%d and repeat 1..%d\n", MAX_ROUNDS, INT32_MAX);
		return 2;
	}
	f4.len = udp_frame_build(f4.bytes, 4, NULL, "198.18.0.2", "198.18.0.1", 8080);
	f6.len = udp_frame_build(f6.bytes, 6, NULL, "2001:db8::2", "2001:db8::1", 8080);

	base = bpf_object__open_file(argv[1], NULL);
	if (!base || bpf_object__load(base)) {
		fprintf(stderr, "cannot load %s\n", argv[1]);
		goto out;
	}
	/*
	 * The unguarded flood path inserts a million sources a round; it gets
	 * its own instance so that it fills neither the map nor the seen-source
	 * filter that the other paths run against.
	 */
	skel = load_ratewall(entries);
	skel_lru = load_ratewall(entries);
	skel_pol = load_ratewall(entries);
	skel_caps = load_ratewall(entries);
	skel_class = load_ratewall(entries);
	skel_quota = load_ratewall(entries);
	if (!skel || !skel_lru || !skel_pol || !skel_caps || !skel_class || !skel_quota) {
		fprintf(stderr, "cannot load ratewall\n");
		goto out;
	}
	if (set_limits(skel_pol, OPEN, GUARD, false) || install_full_policy(skel_pol, full_policy) ||
	    set_limits(skel_caps, OPEN, GUARD, false) || install_full_policy(skel_caps, caps_policy) ||
	    hold_connections(skel_caps)) {
		fprintf(stderr, "cannot install the full policy\n");
		goto out;
	}
	if (set_limits(skel_class, OPEN, GUARD, false) || install_full_policy(skel_class, class_policy) ||
	    set_limits(skel_quota, OPEN, GUARD, false) || install_full_policy(skel_quota, quota_policy) ||
	    lease_shares(skel_quota)) {
		fprintf(stderr, "cannot install the class policies\n");
		goto out;
	}
	rot = rotate_bpf__open_and_load();
	if (!rot) {
		fprintf(stderr, "cannot load the source rotator\n");
		goto out;
	}
	int trivial_fd = bpf_program__fd(bpf_object__find_program_by_name(base, "baseline_pass"));
	int clock_fd = bpf_program__fd(bpf_object__find_program_by_name(base, "baseline_clock"));
	int ratewall_fd = bpf_program__fd(skel->progs.ratewall_xdp);
	int ratewall_lru_fd = bpf_program__fd(skel_lru->progs.ratewall_xdp);
	int ratewall_pol_fd = bpf_program__fd(skel_pol->progs.ratewall_xdp);
	int ratewall_caps_fd = bpf_program__fd(skel_caps->progs.ratewall_xdp);
	int ratewall_class_fd = bpf_program__fd(skel_class->progs.ratewall_xdp);
	int ratewall_quota_fd = bpf_program__fd(skel_quota->progs.ratewall_xdp);
	int rot_fd = bpf_program__fd(rot->progs.rotate_source);
	int target_fd = bpf_map__fd(rot->maps.target);
	double samples[NPATHS][MAX_ROUNDS];

	/*
	 * Rounds interleave the paths so that drift on this shared machine hits
	 * them alike. The fixed-source pass and drop paths use different
	 * sources, so the 1/s limit of the drop path never leaves the pass
	 * source in debt.
	 */
	struct frame drop4 = f4;

	drop4.bytes[sizeof(struct ethhdr) + 15] = 3; /* saddr 198.18.0.3 */
	/* The UDP frame turned into a TCP SYN to the same port: 26 bytes
	 * follow the IP header, room for a 20-byte TCP header. */
	struct frame syn4 = f4;
	unsigned char *tcp = syn4.bytes + sizeof(struct ethhdr) + 20;

	syn4.bytes[sizeof(struct ethhdr) + 9] = IPPROTO_TCP;
	memset(tcp + 4, 0, 16);
	tcp[12] = 5 << 4; /* data offset */
	tcp[13] = 0x02;   /* SYN */
	for (int r = 0; r < rounds; r++) {
		for (size_t p = 0; p < NPATHS; p++) {
			const struct path *pp = &paths[p];
			struct ratewall_bpf *rw = p == NEW6_LRU_PATH ? skel_lru : skel;
			int fd = pp->target == TO_TRIVIAL ? trivial_fd :
				 pp->target == TO_CLOCK	  ? clock_fd :
				 pp->target == TO_POLICY  ? ratewall_pol_fd :
				 pp->target == TO_CAPS	  ? ratewall_caps_fd :
				 pp->target == TO_CLASS	  ? ratewall_class_fd :
				 pp->target == TO_QUOTA	  ? ratewall_quota_fd :
				 p == NEW6_LRU_PATH	  ? ratewall_lru_fd :
							    ratewall_fd;
			const struct frame *fr = pp->family == 6 ? &f6 : &f4;
			int rc = 0;
			double ignored;

			if (!strcmp(pp->name, "drop") || !strcmp(pp->name, "drop_quiet"))
				fr = &drop4;
			else if (p == CHAIN_SYN_PATH || p == CHAIN_CAPS_PATH)
				fr = &syn4;
			if (pp->sources >= 0) {
				rc = bpf_map_update_elem(target_fd, &zero, &fd, BPF_ANY);
				rot->data->sources = (__u32)pp->sources;
				fd = rot_fd;
			}
			/*
			 * Known sources must be in the map when timing starts, whatever
			 * the flood paths evicted before: one unguarded pass over them.
			 */
			if (!rc && pp->target == TO_RATEWALL && pp->sources != 0) {
				rot->bss->next_index = 0;
				rc = set_limits(rw, OPEN, UNGUARDED, false);
				if (!rc)
					rc = run_once(fd, fr, pp->sources > 0 ? pp->sources : 1,
						      &ignored);
			}
			if (!rc && (pp->target == TO_TRIVIAL || pp->target == TO_CLOCK ||
				    pp->target == TO_RATEWALL))
				rc = set_limits(rw, pp->rate, pp->burst, pp->new_rate, pp->new_burst,
						pp->events_off);
			/* New sources must stay new: keep counting across rounds. */
			if (pp->sources > 0)
				rot->bss->next_index = 0;
			if (!rc)
				rc = run_once(fd, fr, repeat, &samples[p][r]);
			if (rc) {
				fprintf(stderr, "%s: BPF_PROG_TEST_RUN failed: %s\n", pp->name,
					strerror(-rc));
				goto out;
			}
		}
	}
	if (check_shared_admitted(skel_quota, (uint64_t)repeat * rounds))
		goto out;
	for (size_t p = 0; p < NPATHS; p++)
		summarize(paths[p].name, samples[p], rounds, &res[p]);

	/* Per source: its share of the map and of the seen-source filter. */
	long long mem = map_memlock(bpf_map__fd(skel->maps.rw_sources));
	long long filter = map_memlock(bpf_map__fd(skel->maps.rw_seen));

	if (mem > 0 && filter > 0)
		mem += filter;
	else
		mem = -1;
	double trivial = res[0].median, known6 = path_net(res, KNOWN6_PATH);

	if (json) {
		printf("{\"repeat\":%u,\"rounds\":%d,\"paths\":[", repeat, rounds);
		for (size_t i = 0; i < NPATHS; i++)
			printf("%s{\"path\":\"%s\",\"what\":\"%s\",\"ns_median\":%.1f,"
			       "\"ns_min\":%.1f,\"ns_max\":%.1f,\"ns_net\":%.1f,"
			       "\"ratio_to_trivial\":%.2f}",
			       i ? "," : "", res[i].name, paths[i].what, res[i].median, res[i].min,
			       res[i].max, path_net(res, i), path_net(res, i) / trivial);
		printf("],\"chain_vs_pass\":%.2f,\"chain_syn_vs_pass\":%.2f,"
		       "\"caps_ns_over_chain_syn\":%.1f,\"shared_ns_over_local\":%.1f,",
		       path_net(res, CHAIN_PATH) / path_net(res, PASS_PATH),
		       path_net(res, CHAIN_SYN_PATH) / path_net(res, PASS_PATH),
		       path_net(res, CHAIN_CAPS_PATH) - path_net(res, CHAIN_SYN_PATH),
		       path_net(res, CLASS_SHARED_PATH) - path_net(res, CLASS_LOCAL_PATH));
		printf("\"new_source_vs_130k_known\":%.2f,\"new_source_vs_known\":%.2f,\"unguarded_new_vs_known\":%.2f,"
		       "\"sources_map\":{\"entries\":%u,\"memlock_bytes\":%lld,"
		       "\"bytes_per_source\":%.1f}}\n",
		       path_net(res, NEW6_PATH) / path_net(res, RR_130K_PATH),
		       path_net(res, NEW6_PATH) / known6, path_net(res, NEW6_LRU_PATH) / known6, entries, mem,
		       mem > 0 ? (double)mem / entries : -1.0);
	} else {
		printf("BPF_PROG_TEST_RUN, %u repeats x %d rounds, ns per packet "
		       "(kernel-timed, 1 ns resolution)\n", repeat, rounds);
		printf("net = median minus the rotator's own cost (rotator - trivial_pass)\n");
		printf("%-13s %7s %7s %7s %7s %9s  %s\n", "path", "median", "min", "max", "net",
		       "x trivial", "what");
		for (size_t i = 0; i < NPATHS; i++)
			printf("%-13s %7.1f %7.1f %7.1f %7.1f %9.2f  %s\n", res[i].name,
			       res[i].median, res[i].min, res[i].max, path_net(res, i),
			       path_net(res, i) / trivial, paths[i].what);
		printf("new source / known source (IPv6, net): default budget %.2f, "
		       "unguarded %.2f; new source / one of 130k known: %.2f\n",
		       path_net(res, NEW6_PATH) / known6, path_net(res, NEW6_LRU_PATH) / known6,
		       path_net(res, NEW6_PATH) / path_net(res, RR_130K_PATH));
		printf("full policy chain / single-bucket pass path: UDP %.2f, TCP SYN %.2f\n",
		       path_net(res, CHAIN_PATH) / path_net(res, PASS_PATH),
		       path_net(res, CHAIN_SYN_PATH) / path_net(res, PASS_PATH));
		printf("connection caps on the SYN path: %+.1f ns (chain_caps - chain_syn, "
		       "%.2fx)\n", path_net(res, CHAIN_CAPS_PATH) - path_net(res, CHAIN_SYN_PATH),
		       path_net(res, CHAIN_CAPS_PATH) / path_net(res, CHAIN_SYN_PATH));
		printf("shared class bucket (scope: global) over the local one: %+.1f ns "
		       "(class_shared - class_local, %.2fx)\n",
		       path_net(res, CLASS_SHARED_PATH) - path_net(res, CLASS_LOCAL_PATH),
		       path_net(res, CLASS_SHARED_PATH) / path_net(res, CLASS_LOCAL_PATH));
		printf("per-source map and seen-source filter: %u entries, %lld bytes (kernel "
		       "memlock), %.1f bytes per source\n", entries, mem,
		       mem > 0 ? (double)mem / entries : -1.0);
	}
	err = 0;
out:
	rotate_bpf__destroy(rot);
	ratewall_bpf__destroy(skel_lru);
	ratewall_bpf__destroy(skel_pol);
	ratewall_bpf__destroy(skel_caps);
	ratewall_bpf__destroy(skel_class);
	ratewall_bpf__destroy(skel_quota);
	ratewall_bpf__destroy(skel);
	bpf_object__close(base);
	return err;
}
