/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Test fixture: a freshly loaded ratewall skeleton per test (so maps and
 * counters start empty), config writes, frame runs through
 * BPF_PROG_TEST_RUN, and per-CPU counter sums. Deliberately independent
 * of user/ so the kernel side can be tested on its own.
 */
#ifndef RW_TEST_FIXTURE_H
#define RW_TEST_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ratewall.h"
#include "counters.h"
#include "limits.h"
#include "policy.h"
#include "policy_apply.h"
#include "policy_builtin.h"
#include "policy_compile.h"
#include "ratewall.skel.h"
#include "frames.h"

/* Small, so a test that leaks entries would notice eviction quickly. */
#define FX_MAX_ENTRIES 4096

struct fx {
	struct ratewall_bpf *skel;
	int prog_fd;
	int cfg_fd;
	int src_fd;
	int cnt_fd;
	int ncpus;
};

/* Class-0 counters by [reason][verdict], summed over CPUs. */
struct fx_counters {
	struct rw_counter c[RW_REASON_MAX][RW_VERDICT_MAX];
};

static inline uint64_t fx_now_ns(void)
{
	struct timespec ts;

	/* Same clock as bpf_ktime_get_ns(), so bounds compare like with like. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void fx_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * Config through the loader's own conversion (limits_to_config), so these
 * tests also cover the words userspace writes; test_limits checks that
 * conversion against hand-computed values.
 */
static inline void fx_config_compute(struct rw_config *c, uint32_t prefix4, uint32_t prefix6,
				     uint8_t malformed_drop)
{
	struct limit_opts o;

	limit_opts_default(&o);
	o.prefix4 = prefix4;
	o.prefix6 = prefix6;
	o.entries = FX_MAX_ENTRIES;
	o.malformed_drop = malformed_drop;
	memset(c, 0, sizeof(*c));
	limits_to_config(&o, c);
}

#define FX_GENEROUS_RATE 1000000
#define FX_GENEROUS_BURST 100000

static inline void fx_policy_maps(const struct fx *f, struct policy_maps *m)
{
	policy_maps_of_skeleton(f->skel, m);
}

/*
 * Installs a policy through the loader's own compile and install, so these
 * tests cover the words userspace writes. `fresh`: into slot 0 without a
 * switch, as attach does; otherwise the live switch of `policy apply`.
 */
static inline int fx_install_raw(struct fx *f, const struct policy *p, bool fresh)
{
	struct policy_maps m;

	fx_policy_maps(f, &m);
	return policy_compile_and_install(&m, p, fresh);
}

/* The built-in policy: the default class with a per-source packet bucket. */
static inline int fx_source_limit_raw(struct fx *f, uint64_t rate, uint64_t burst)
{
	struct policy p;

	policy_builtin(&p, rate, burst);
	return fx_install_raw(f, &p, true);
}

static inline void fx_source_limit(struct fx *f, uint64_t rate, uint64_t burst)
{
	assert_int_equal(fx_source_limit_raw(f, rate, burst), 0);
}

/* Not cmocka-asserting: usable from group/test setup. */
static inline int fx_open(struct fx *f)
{
	struct rw_config cfg;
	uint32_t zero = 0;
	int err;

	memset(f, 0, sizeof(*f));
	f->ncpus = libbpf_num_possible_cpus();
	if (f->ncpus <= 0) {
		fprintf(stderr, "# libbpf_num_possible_cpus: %d\n", f->ncpus);
		return -1;
	}
	f->skel = ratewall_bpf__open();
	if (!f->skel) {
		fprintf(stderr, "# ratewall_bpf__open: %s\n", strerror(errno));
		return -1;
	}
	err = bpf_map__set_max_entries(f->skel->maps.rw_sources, FX_MAX_ENTRIES);
	if (!err)
		err = bpf_map__set_max_entries(f->skel->maps.rw_seen,
					       seen_filter_words(FX_MAX_ENTRIES));
	if (!err)
		err = ratewall_bpf__load(f->skel);
	if (err) {
		fprintf(stderr, "# loading ratewall skeleton: %s\n", strerror(-err));
		ratewall_bpf__destroy(f->skel);
		f->skel = NULL;
		return -1;
	}
	f->prog_fd = bpf_program__fd(f->skel->progs.ratewall_xdp);
	f->cfg_fd = bpf_map__fd(f->skel->maps.rw_config);
	f->src_fd = bpf_map__fd(f->skel->maps.rw_sources);
	f->cnt_fd = bpf_map__fd(f->skel->maps.rw_counters);
	/* Until a test says otherwise: the attach defaults, and per-source
	 * limits too generous to refuse. */
	fx_config_compute(&cfg, RW_DEFAULT_PREFIX4, RW_DEFAULT_PREFIX6, 0);
	if (bpf_map_update_elem(f->cfg_fd, &zero, &cfg, BPF_ANY)) {
		fprintf(stderr, "# writing the config: %s\n", strerror(errno));
		return -1;
	}
	return fx_source_limit_raw(f, FX_GENEROUS_RATE, FX_GENEROUS_BURST);
}

static inline void fx_close(struct fx *f)
{
	ratewall_bpf__destroy(f->skel);
	f->skel = NULL;
}

static inline int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || fx_open(f)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static inline int fx_teardown(void **state)
{
	struct fx *f = *state;

	if (f) {
		fx_close(f);
		free(f);
	}
	return 0;
}

static inline void fx_write_config(struct fx *f, const struct rw_config *c)
{
	uint32_t zero = 0;

	assert_int_equal(bpf_map_update_elem(f->cfg_fd, &zero, c, BPF_ANY), 0);
}

static inline void fx_set_config(struct fx *f, uint64_t rate, uint64_t burst,
				 uint32_t prefix4, uint32_t prefix6, uint8_t malformed_drop)
{
	struct rw_config c;

	fx_config_compute(&c, prefix4, prefix6, malformed_drop);
	fx_write_config(f, &c);
	fx_source_limit(f, rate, burst);
}

/*
 * Raw run, no cmocka: safe from worker threads. The kernel refuses test
 * runs of under 14 bytes, so a shorter frame is padded to 14 and an xdp_md
 * context ends the linear data at len: the padding becomes a fragment that
 * a program without frags support cannot see, just as on a real runt.
 */
static inline int fx_run_raw(int prog_fd, const void *frame, uint32_t len, uint32_t repeat,
			     uint32_t *retval)
{
	uint8_t pad[FR_ETH_HLEN];
	struct xdp_md ctx = { .data = 0, .data_end = len };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = frame,
		    .data_size_in = len,
		    .repeat = (int)repeat);
	int err;

	if (len < FR_ETH_HLEN) {
		memset(pad, 0, sizeof(pad));
		memcpy(pad, frame, len);
		opts.data_in = pad;
		opts.data_size_in = sizeof(pad);
		opts.ctx_in = &ctx;
		opts.ctx_size_in = sizeof(ctx);
	}
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err)
		return -errno;
	*retval = opts.retval;
	return 0;
}

/* Runs a frame `repeat` times; returns the XDP action of the last run. */
static inline uint32_t fx_run(struct fx *f, const void *frame, size_t len, uint32_t repeat)
{
	uint32_t ret = ~0u;

	assert_true(len > 0);
	assert_int_equal(fx_run_raw(f->prog_fd, frame, (uint32_t)len, repeat, &ret), 0);
	return ret;
}

/* Raw counter sum, no cmocka; returns 0 or -errno. */
static inline int fx_counter_raw(int cnt_fd, int ncpus, uint32_t reason, uint32_t verdict,
				 struct rw_counter *out)
{
	struct rw_counter *vals = calloc((size_t)ncpus, sizeof(*vals));
	uint32_t idx = rw_counter_index(0, reason, verdict);
	int i, err;

	out->packets = out->bytes = 0;
	if (!vals)
		return -ENOMEM;
	err = bpf_map_lookup_elem(cnt_fd, &idx, vals) ? -errno : 0;
	for (i = 0; !err && i < ncpus; i++) {
		out->packets += vals[i].packets;
		out->bytes += vals[i].bytes;
	}
	free(vals);
	return err;
}

static inline struct rw_counter fx_counter(struct fx *f, uint32_t reason, uint32_t verdict)
{
	struct rw_counter c = { 0, 0 };

	assert_int_equal(fx_counter_raw(f->cnt_fd, f->ncpus, reason, verdict, &c), 0);
	return c;
}

static inline void fx_snapshot(struct fx *f, struct fx_counters *s)
{
	uint32_t r, v;

	for (r = 0; r < RW_REASON_MAX; r++)
		for (v = 0; v < RW_VERDICT_MAX; v++)
			s->c[r][v] = fx_counter(f, r, v);
}

/*
 * Between two snapshots exactly one (reason, verdict) slot moved, by the
 * given packets and bytes; every other slot stayed put.
 */
static inline void fx_assert_delta(const struct fx_counters *before,
				   const struct fx_counters *after, uint32_t reason,
				   uint32_t verdict, uint64_t packets, uint64_t bytes)
{
	uint32_t r, v;

	for (r = 0; r < RW_REASON_MAX; r++) {
		for (v = 0; v < RW_VERDICT_MAX; v++) {
			bool hit = r == reason && v == verdict;
			uint64_t dp = after->c[r][v].packets - before->c[r][v].packets;
			uint64_t db = after->c[r][v].bytes - before->c[r][v].bytes;

			if (dp != (hit ? packets : 0) || db != (hit ? bytes : 0))
				print_error("counter reason %u verdict %u moved by %llu pkts %llu bytes\n",
					    r, v, (unsigned long long)dp,
					    (unsigned long long)db);
			assert_int_equal(dp, hit ? packets : 0);
			assert_int_equal(db, hit ? bytes : 0);
		}
	}
}

static inline struct rw_src_key fx_key4(const char *addr, uint32_t prefix)
{
	struct rw_src_key k;
	uint32_t a;

	memset(&k, 0, sizeof(k));
	assert_int_equal(inet_pton(AF_INET, addr, &a), 1);
	k.addr[0] = a & prefix_mask4(prefix);
	k.family = 4;
	return k;
}

static inline struct rw_src_key fx_key6(const char *addr, uint32_t prefix)
{
	struct rw_src_key k;
	uint32_t mask[4];

	memset(&k, 0, sizeof(k));
	assert_int_equal(inet_pton(AF_INET6, addr, k.addr), 1);
	prefix_mask6(prefix, mask);
	for (int i = 0; i < 4; i++)
		k.addr[i] &= mask[i];
	k.family = 6;
	return k;
}

/* True if the key has an entry; its TAT goes to *tat when non-NULL. */
static inline bool fx_src_lookup(struct fx *f, const struct rw_src_key *k, uint64_t *tat)
{
	struct rw_src_state st;

	if (bpf_map_lookup_elem(f->src_fd, k, &st)) {
		assert_int_equal(errno, ENOENT);
		return false;
	}
	if (tat)
		*tat = st.pkt_tat;
	return true;
}

static inline unsigned int fx_src_count(struct fx *f)
{
	struct rw_src_key cur, next;
	unsigned int n = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(f->src_fd, prev, &next) == 0) {
		cur = next;
		prev = &cur;
		n++;
		assert_true(n <= FX_MAX_ENTRIES);
	}
	assert_int_equal(errno, ENOENT);
	return n;
}

/* A valid UDP frame from src (IPv4 or IPv6) with 18 bytes of payload. */
static inline size_t fx_udp4(uint8_t *buf, const char *src)
{
	struct frame_spec s = { .family = 4, .src = src, .l4 = FR_PROTO_UDP, .payload = 18 };
	size_t n = frame_build(buf, FRAME_MAX, &s, NULL);

	assert_true(n > 0);
	return n;
}

static inline size_t fx_udp6(uint8_t *buf, const char *src)
{
	struct frame_spec s = { .family = 6, .src = src, .l4 = FR_PROTO_UDP, .payload = 18 };
	size_t n = frame_build(buf, FRAME_MAX, &s, NULL);

	assert_true(n > 0);
	return n;
}

/* Tests load BPF: without root they must fail, never silently skip. */
static inline int fx_require_root(const char *prog)
{
	if (geteuid() == 0)
		return 0;
	printf("Bail out! %s must run as root: it loads BPF programs\n", prog);
	fprintf(stderr, "%s: must run as root (loads BPF programs)\n", prog);
	return 1;
}

/* --- policies ------------------------------------------------------------ */

/* Parses YAML text and installs it as `policy apply` does (slot switch). */
static inline void fx_policy(struct fx *f, const char *yaml)
{
	struct policy p;
	char err[4096];
	int rc = policy_parse_string("test.yaml", yaml, strlen(yaml), &p, err, sizeof(err));

	if (rc)
		print_error("policy refused:\n%s\n", err);
	assert_int_equal(rc, 0);
	assert_int_equal(fx_install_raw(f, &p, false), 0);
	policy_free(&p);
}

/* Every class's counters, summed over CPUs, as status reads them. */
static inline void fx_table_read(struct fx *f, struct counter_table *t)
{
	assert_int_equal(counters_read(f->cnt_fd, t), 0);
}

static inline uint64_t fx_count(const struct counter_table *t, uint32_t cls, uint32_t reason,
				uint32_t verdict)
{
	return t->slot[rw_counter_index(cls, reason, verdict)].packets;
}

/* Packets of one (class, reason, verdict) slot between two readings. */
static inline uint64_t fx_moved(const struct counter_table *before,
				const struct counter_table *after, uint32_t cls, uint32_t reason,
				uint32_t verdict)
{
	return fx_count(after, cls, reason, verdict) - fx_count(before, cls, reason, verdict);
}

/* Packets of every slot together between two readings. */
static inline uint64_t fx_moved_total(const struct counter_table *before,
				      const struct counter_table *after)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < RW_COUNTER_SLOTS; i++)
		n += after->slot[i].packets - before->slot[i].packets;
	return n;
}

/* A TCP frame from src (v4 or v6 by its text) to dport with these flags. */
static inline size_t fx_tcp(uint8_t *buf, const char *src, uint16_t dport, uint8_t flags)
{
	struct frame_spec s = { .family = strchr(src, ':') ? 6 : 4, .src = src,
				.l4 = FR_PROTO_TCP, .tcp_flags = flags, .dport = dport };
	size_t n = frame_build(buf, FRAME_MAX, &s, NULL);

	assert_true(n > 0);
	return n;
}

static inline size_t fx_udp(uint8_t *buf, const char *src, uint16_t dport)
{
	struct frame_spec s = { .family = strchr(src, ':') ? 6 : 4, .src = src,
				.l4 = FR_PROTO_UDP, .payload = 18, .dport = dport };
	size_t n = frame_build(buf, FRAME_MAX, &s, NULL);

	assert_true(n > 0);
	return n;
}

/* Runs one frame n times one by one; returns how many passed. */
static inline unsigned int fx_send(struct fx *f, const uint8_t *frame, size_t len, unsigned int n)
{
	unsigned int passed = 0;

	for (unsigned int i = 0; i < n; i++)
		passed += fx_run(f, frame, len, 1) == XDP_PASS;
	return passed;
}

/* Sets the global shed switch in the live config. */
static inline void fx_shed_all(struct fx *f, bool on)
{
	struct rw_config c;
	uint32_t zero = 0;

	assert_int_equal(bpf_map_lookup_elem(f->cfg_fd, &zero, &c), 0);
	c.shed_all = on;
	assert_int_equal(bpf_map_update_elem(f->cfg_fd, &zero, &c, BPF_ANY), 0);
}

#endif /* RW_TEST_FIXTURE_H */
