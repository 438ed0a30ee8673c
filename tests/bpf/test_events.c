// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Refusal events through the real program (BPF_PROG_TEST_RUN): every
 * refused packet adds one to its (source, class, reason, verdict) entry,
 * the entry's first refusal and then at most one per interval goes to the
 * ring buffer carrying the entry's count, new entries are made only while
 * their budget lasts (the rest, and every src_new refusal, count under
 * the class's "other sources": a per-CPU slot of rw_event_other whose key
 * has family 0 and the CPU in addr[0]), a full ring buffer loses no
 * packet, and the daemon's accounting (event_stream) turns events and
 * quiet entries into exact packet counts, never writing one twice. Every
 * test gets a freshly loaded skeleton, and runs pinned to one CPU (the
 * program runs on the caller's CPU), so which other-sources slot counts
 * is known.
 */
#define _GNU_SOURCE
#include <sched.h>
#include "fixture.h"
#include "frames.h"
#include "event_stream.h"

#define PASS XDP_PASS
#define DROP XDP_DROP
#define PORT 9999  /* claimed by no class: the default class */
#define MS 1000000ULL

/* A source-limited default class whose bucket does not refill during a test. */
static const char four_per_minute[] =
	"default:\n"
	"  source:\n"
	"    packets: { rate: 4/m, burst: 1 }\n";

/* Everything in 198.18.0.0/15 is refused from its first packet. */
static const char deny_benchmark[] = "deny: [198.18.0.0/15]\n";

/* ---- the CPU the program runs on ---------------------------------------- */

/* Where every test runs; away_cpu is another one, -1 if there is none. */
static int home_cpu = -1, away_cpu = -1;

/* Not cmocka-asserting: usable from setup. */
static int pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	return sched_getcpu() == cpu ? 0 : -EAGAIN;
}

static void pin(int cpu)
{
	assert_int_equal(pin_to(cpu), 0);
}

/* Home: the highest CPU allowed (so that addr[0] is not 0 by accident
 * where there are several), away: the lowest other one. */
static int choose_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set)) {
		perror("# sched_getaffinity");
		return -1;
	}
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (away_cpu < 0)
			away_cpu = c;
		home_cpu = c;
	}
	if (home_cpu < 0)
		return -1;
	if (away_cpu == home_cpu)
		away_cpu = -1;
	printf("# home cpu %d, away cpu %d\n", home_cpu, away_cpu);
	return 0;
}

static int ev_setup(void **state)
{
	int err = pin_to(home_cpu);

	if (err) {
		fprintf(stderr, "# pinning to cpu %d: %s\n", home_cpu, strerror(-err));
		return -1;
	}
	return fx_setup(state);
}

/* ---- reading the maps --------------------------------------------------- */

static struct rw_event_key ev_key(const char *src, uint16_t class_id, uint8_t reason,
				  uint8_t verdict)
{
	struct rw_event_key k;

	memset(&k, 0, sizeof(k));
	if (strchr(src, ':')) {
		assert_int_equal(inet_pton(AF_INET6, src, k.addr), 1);
		k.family = 6;
	} else {
		assert_int_equal(inet_pton(AF_INET, src, k.addr), 1);
		k.family = 4;
	}
	k.class_id = class_id;
	k.reason = reason;
	k.verdict = verdict;
	return k;
}

/* The key of the class's "other sources" on one CPU. */
static struct rw_event_key ev_other(uint16_t class_id, uint8_t reason, uint8_t verdict, int cpu)
{
	struct rw_event_key k;

	memset(&k, 0, sizeof(k));
	k.addr[0] = (uint32_t)cpu;
	k.class_id = class_id;
	k.reason = reason;
	k.verdict = verdict;
	return k;
}

static int entries_fd(struct fx *f)
{
	return bpf_map__fd(f->skel->maps.rw_event_entries);
}

static bool entry_get(struct fx *f, const struct rw_event_key *k, struct rw_event_entry *e)
{
	if (bpf_map_lookup_elem(entries_fd(f), k, e)) {
		assert_int_equal(errno, ENOENT);
		return false;
	}
	return true;
}

struct ev_entries {
	struct rw_event_key key[RW_EVENT_ENTRIES];
	struct rw_event_entry val[RW_EVENT_ENTRIES];
	unsigned int n;
	uint64_t packets; /* over every entry */
};

/* Every entry of the table (heap: the arrays are large). */
static struct ev_entries *entries_read(struct fx *f)
{
	struct ev_entries *all = calloc(1, sizeof(*all));
	struct rw_event_key cur, next;
	void *prev = NULL;

	assert_non_null(all);
	while (bpf_map_get_next_key(entries_fd(f), prev, &next) == 0) {
		assert_true(all->n < RW_EVENT_ENTRIES);
		cur = next;
		prev = &cur;
		assert_int_equal(bpf_map_lookup_elem(entries_fd(f), &cur, &all->val[all->n]), 0);
		all->key[all->n] = cur;
		all->packets += all->val[all->n].packets;
		all->n++;
	}
	assert_int_equal(errno, ENOENT);
	return all;
}

static int other_fd(struct fx *f)
{
	return bpf_map__fd(f->skel->maps.rw_event_other);
}

static void event_maps_of(struct fx *f, struct event_maps *m)
{
	m->ring_fd = bpf_map__fd(f->skel->maps.rw_events);
	m->entries_fd = entries_fd(f);
	m->acct_fd = bpf_map__fd(f->skel->maps.rw_event_acct);
	m->stats_fd = bpf_map__fd(f->skel->maps.rw_event_stats);
	m->other_fd = other_fd(f);
}

/* One other-sources slot, one entry per possible CPU (the caller frees). */
static struct rw_event_entry *other_slot(struct fx *f, uint16_t class_id, uint8_t reason,
					 uint8_t verdict)
{
	uint32_t idx = rw_counter_index(class_id, reason, verdict);
	struct rw_event_entry *v = calloc((size_t)f->ncpus, sizeof(*v));

	assert_non_null(v);
	assert_int_equal(bpf_map__value_size(f->skel->maps.rw_event_other), sizeof(*v));
	assert_int_equal(bpf_map_lookup_elem(other_fd(f), &idx, v), 0);
	return v;
}

/* The slot's entry on one CPU. */
static struct rw_event_entry other_get(struct fx *f, uint16_t class_id, uint8_t reason,
				       uint8_t verdict, int cpu)
{
	struct rw_event_entry *v = other_slot(f, class_id, reason, verdict), e;

	assert_in_range(cpu, 0, f->ncpus - 1);
	e = v[cpu];
	free(v);
	return e;
}

/* Every other-sources packet, each slot and CPU, read here; the daemon's
 * event_other_packets() must agree. */
static uint64_t other_total(struct fx *f)
{
	struct rw_event_entry *v = calloc((size_t)f->ncpus, sizeof(*v));
	struct event_maps m;
	uint64_t sum = 0, theirs = 0, by_class[RW_MAX_CLASSES];

	assert_non_null(v);
	for (uint32_t idx = 0; idx < RW_COUNTER_SLOTS; idx++) {
		assert_int_equal(bpf_map_lookup_elem(other_fd(f), &idx, v), 0);
		for (int c = 0; c < f->ncpus; c++)
			sum += v[c].packets;
	}
	free(v);
	event_maps_of(f, &m);
	assert_int_equal(event_other_packets(&m, by_class), 0);
	for (int c = 0; c < RW_MAX_CLASSES; c++)
		theirs += by_class[c];
	assert_int_equal(theirs, sum);
	return sum;
}

/*
 * The slot counts `packets` on `cpu` and nothing on any other CPU, and no
 * other slot counts anything: all other sources are there. Born 0: never
 * renewed by an apply renaming the class.
 */
static void assert_other_only(struct fx *f, uint16_t class_id, uint8_t reason, uint8_t verdict,
			      int cpu, uint64_t packets)
{
	struct rw_event_entry *v = other_slot(f, class_id, reason, verdict);

	for (int c = 0; c < f->ncpus; c++) {
		assert_int_equal(v[c].born_ns, 0);
		assert_int_equal(v[c].packets, c == cpu ? packets : 0);
		if (c != cpu)
			assert_int_equal(v[c].sent_ns, 0);
	}
	free(v);
	assert_int_equal(other_total(f), packets);
}

/* A ring event of a class's other sources, counted on `cpu` (born 0: no
 * apply in these tests renames a class, which would renew its slots). */
static void assert_other_event(struct fx *f, const struct rw_event *ev, uint16_t class_id,
			       uint8_t reason, uint8_t verdict, int cpu)
{
	struct rw_event_key want = ev_other(class_id, reason, verdict, cpu);

	assert_int_equal(ev->key.family, 0);
	assert_true(ev->key.addr[0] < (uint32_t)f->ncpus);
	assert_int_equal(ev->key.addr[0], cpu);
	assert_int_equal(ev->key.addr[1], 0);
	assert_int_equal(ev->key.addr[2], 0);
	assert_int_equal(ev->key.addr[3], 0);
	assert_int_equal(ev->born_ns, 0);
	assert_memory_equal(&ev->key, &want, sizeof(want));
}

static void stats_read(struct fx *f, uint64_t out[RW_EVSTAT_MAX])
{
	int fd = bpf_map__fd(f->skel->maps.rw_event_stats);
	uint64_t *vals = calloc((size_t)f->ncpus, sizeof(*vals));

	assert_non_null(vals);
	for (uint32_t i = 0; i < RW_EVSTAT_MAX; i++) {
		out[i] = 0;
		assert_int_equal(bpf_map_lookup_elem(fd, &i, vals), 0);
		for (int c = 0; c < f->ncpus; c++)
			out[i] += vals[c];
	}
	free(vals);
}

/* The event path's counters; `other` is what rw_event_other counts, every
 * slot and CPU together. */
static void assert_stats(struct fx *f, uint64_t sent, uint64_t ring_full, uint64_t other,
			 uint64_t no_entry)
{
	uint64_t s[RW_EVSTAT_MAX], o;

	stats_read(f, s);
	o = other_total(f);
	if (s[RW_EVSTAT_SENT] != sent || s[RW_EVSTAT_RING_FULL] != ring_full || o != other ||
	    s[RW_EVSTAT_NO_ENTRY] != no_entry)
		print_error("event stats sent %llu ring_full %llu other %llu no_entry %llu\n",
			    (unsigned long long)s[RW_EVSTAT_SENT],
			    (unsigned long long)s[RW_EVSTAT_RING_FULL], (unsigned long long)o,
			    (unsigned long long)s[RW_EVSTAT_NO_ENTRY]);
	assert_int_equal(s[RW_EVSTAT_SENT], sent);
	assert_int_equal(s[RW_EVSTAT_RING_FULL], ring_full);
	assert_int_equal(o, other);
	assert_int_equal(s[RW_EVSTAT_NO_ENTRY], no_entry);
}

/* Events taken from the ring buffer, in order. */
struct ev_list {
	struct rw_event ev[8192];
	size_t n;
	size_t bad_size;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct ev_list *l = ctx;

	if (size != sizeof(struct rw_event) || l->n >= sizeof(l->ev) / sizeof(l->ev[0])) {
		l->bad_size++;
		return 0;
	}
	memcpy(&l->ev[l->n++], data, sizeof(struct rw_event));
	return 0;
}

/* Everything waiting in the ring buffer; the count ring_buffer__consume gave must agree. */
static struct ev_list *ring_drain(struct fx *f)
{
	struct ev_list *l = calloc(1, sizeof(*l));
	struct ring_buffer *rb;
	int n;

	assert_non_null(l);
	rb = ring_buffer__new(bpf_map__fd(f->skel->maps.rw_events), on_event, l, NULL);
	assert_non_null(rb);
	n = ring_buffer__consume(rb);
	ring_buffer__free(rb);
	assert_true(n >= 0);
	assert_int_equal(l->bad_size, 0);
	assert_int_equal((size_t)n, l->n);
	return l;
}

/* The entry table is empty. */
static void assert_no_entries(struct fx *f)
{
	struct ev_entries *all = entries_read(f);

	assert_int_equal(all->n, 0);
	free(all);
}

/* Nothing reported at all: no entry, no event in the ring, no stats. */
static void assert_nothing_reported(struct fx *f)
{
	struct ev_list *l;

	assert_no_entries(f);
	l = ring_drain(f);
	assert_int_equal(l->n, 0);
	free(l);
	assert_stats(f, 0, 0, 0, 0);
}

static void assert_key_equal(const struct rw_event_key *a, const struct rw_event_key *b)
{
	assert_memory_equal(a->addr, b->addr, sizeof(a->addr));
	assert_int_equal(a->class_id, b->class_id);
	assert_int_equal(a->family, b->family);
	assert_int_equal(a->reason, b->reason);
	assert_int_equal(a->verdict, b->verdict);
	assert_memory_equal(a, b, sizeof(*a));
}

/* Sends one frame from src n times; every verdict must be `want`. */
static void send_all(struct fx *f, const char *src, unsigned int n, uint32_t want)
{
	uint8_t b[FRAME_MAX];
	size_t len = fx_udp(b, src, PORT);

	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(fx_run(f, b, len, 1), want);
}

/* 198.18.0.0 + i, inside deny_benchmark for i < 2^17. */
static void bench_addr(unsigned int i, char *out, size_t len)
{
	snprintf(out, len, "198.%u.%u.%u", 18 + (i >> 16), (i >> 8) & 255, i & 255);
}

/* ---- one source ----------------------------------------------------------- */

/* N refusals within one interval: one entry counting N, one event carrying 1. */
static void test_refusals_aggregate_in_one_entry(void **state)
{
	struct fx *f = *state;
	const unsigned int n = 25;
	struct rw_event_key k = ev_key("198.18.7.7", 0, RW_REASON_SRC_PKT, RW_VERDICT_DROP);
	struct rw_event_entry e;
	struct ev_entries *all;
	struct ev_list *l;
	uint64_t t1, t2;

	fx_policy(f, four_per_minute);
	send_all(f, "198.18.7.7", 1, PASS);
	/* the admitted packet made no entry */
	assert_no_entries(f);
	t1 = fx_now_ns();
	send_all(f, "198.18.7.7", n, DROP);
	t2 = fx_now_ns();
	/* all of them inside the default interval, or the test proves nothing */
	assert_true(t2 - t1 < RW_DEFAULT_EVENT_INTERVAL_MS * MS);

	all = entries_read(f);
	assert_int_equal(all->n, 1);
	assert_key_equal(&all->key[0], &k);
	free(all);
	assert_true(entry_get(f, &k, &e));
	assert_int_equal(e.packets, n);
	assert_in_range(e.born_ns, t1, t2);
	/* sent once, at the first refusal, which made the entry */
	assert_int_equal(e.sent_ns, e.born_ns);

	l = ring_drain(f);
	assert_int_equal(l->n, 1);
	assert_key_equal(&l->ev[0].key, &k);
	assert_int_equal(l->ev[0].packets, 1);
	assert_int_equal(l->ev[0].born_ns, e.born_ns);
	assert_int_equal(l->ev[0].ts_ns, e.sent_ns);
	free(l);
	assert_stats(f, 1, 0, 0, 0);

	/* the counters agree with the entry, packet for packet */
	assert_int_equal(fx_counter(f, RW_REASON_SRC_PKT, RW_VERDICT_DROP).packets, n);
	assert_int_equal(fx_counter(f, RW_REASON_ADMITTED, RW_VERDICT_PASS).packets, 1);
}

/* With a 100 ms interval, refusals more than 100 ms apart send one event
 * each, carrying the entry's running total. */
static void test_interval_from_the_policy(void **state)
{
	struct fx *f = *state;
	static const unsigned int groups[] = { 3, 2, 1, 4 };
	const uint64_t interval = 100 * MS;
	struct rw_event_key k = ev_key("198.18.7.8", 0, RW_REASON_SRC_PKT, RW_VERDICT_DROP);
	uint64_t want[4], total = 0, t_start[4], t_end[4];
	struct rw_event_entry e;
	struct ev_list *l;

	fx_policy(f, "events: { interval: 100ms }\n"
		     "default:\n"
		     "  source:\n"
		     "    packets: { rate: 4/m, burst: 1 }\n");
	send_all(f, "198.18.7.8", 1, PASS);
	for (size_t g = 0; g < 4; g++) {
		if (g)
			fx_sleep_ns(interval + 30 * MS);
		want[g] = total + 1; /* the group's first refusal sends */
		t_start[g] = fx_now_ns();
		send_all(f, "198.18.7.8", groups[g], DROP);
		t_end[g] = fx_now_ns();
		total += groups[g];
		/* a group inside one interval, so only its first refusal sends */
		assert_true(t_end[g] - t_start[g] < interval);
	}

	assert_true(entry_get(f, &k, &e));
	assert_int_equal(e.packets, total);
	assert_int_equal(total, 10);
	l = ring_drain(f);
	assert_int_equal(l->n, 4);
	for (size_t g = 0; g < 4; g++) {
		assert_key_equal(&l->ev[g].key, &k);
		assert_int_equal(l->ev[g].packets, want[g]);
		assert_int_equal(l->ev[g].born_ns, e.born_ns);
		assert_in_range(l->ev[g].ts_ns, t_start[g], t_end[g]);
	}
	assert_int_equal(e.sent_ns, l->ev[3].ts_ns);
	free(l);
	assert_stats(f, 4, 0, 0, 0);
}

/* The default interval is 1000 ms: the same spacing sends nothing more. */
static void test_default_interval_holds_events_back(void **state)
{
	struct fx *f = *state;
	struct rw_event_key k = ev_key("198.18.7.9", 0, RW_REASON_SRC_PKT, RW_VERDICT_DROP);
	struct rw_event_entry e;
	struct ev_list *l;
	uint64_t t0, t1;

	fx_policy(f, four_per_minute);
	send_all(f, "198.18.7.9", 1, PASS);
	t0 = fx_now_ns();
	send_all(f, "198.18.7.9", 2, DROP);
	fx_sleep_ns(130 * MS);
	send_all(f, "198.18.7.9", 2, DROP);
	t1 = fx_now_ns();
	assert_true(t1 - t0 < RW_DEFAULT_EVENT_INTERVAL_MS * MS);
	assert_true(entry_get(f, &k, &e));
	assert_int_equal(e.packets, 4);
	l = ring_drain(f);
	assert_int_equal(l->n, 1);
	assert_int_equal(l->ev[0].packets, 1);
	free(l);
	assert_stats(f, 1, 0, 0, 0);
}

/* An observing class: the packet passes, the entry says would_drop. */
static void test_observe_counts_would_drop(void **state)
{
	struct fx *f = *state;
	struct rw_event_key k = ev_key("198.18.8.1", 1, RW_REASON_SRC_PKT,
				       RW_VERDICT_WOULD_DROP);
	struct rw_event_key dropped = k;
	uint8_t b[FRAME_MAX];
	size_t len = fx_udp(b, "198.18.8.1", 5353);
	struct rw_event_entry e;
	struct ev_entries *all;
	struct ev_list *l;

	fx_policy(f, "classes:\n"
		     "  - name: mdns\n"
		     "    ports: [udp/5353]\n"
		     "    mode: observe\n"
		     "    source:\n"
		     "      packets: { rate: 4/m, burst: 1 }\n");
	for (int i = 0; i < 5; i++)
		assert_int_equal(fx_run(f, b, len, 1), PASS);

	dropped.verdict = RW_VERDICT_DROP;
	assert_false(entry_get(f, &dropped, &e));
	assert_true(entry_get(f, &k, &e));
	assert_int_equal(e.packets, 4);
	all = entries_read(f);
	assert_int_equal(all->n, 1);
	free(all);
	l = ring_drain(f);
	assert_int_equal(l->n, 1);
	assert_key_equal(&l->ev[0].key, &k);
	assert_int_equal(l->ev[0].key.verdict, RW_VERDICT_WOULD_DROP);
	assert_int_equal(l->ev[0].packets, 1);
	free(l);
	assert_stats(f, 1, 0, 0, 0);
}

/* Admitted packets, from any source and family, make no entry and no event. */
static void test_admitted_packets_make_no_entry(void **state)
{
	struct fx *f = *state;
	static const char *const srcs[] = { "198.18.9.1", "198.18.9.2", "2001:db8:9::1",
					    "2001:db8:9:1::2" };

	/* fx_open installed the generous built-in policy */
	for (size_t i = 0; i < 4; i++)
		send_all(f, srcs[i], 20, PASS);
	assert_int_equal(fx_counter(f, RW_REASON_ADMITTED, RW_VERDICT_PASS).packets, 80);
	assert_nothing_reported(f);
	/* an allowed source is no refusal either */
	fx_policy(f, "allow: [198.18.9.0/24]\n"
		     "default: { source: { packets: { rate: 4/m, burst: 1 } } }\n");
	send_all(f, "198.18.9.1", 5, PASS);
	assert_no_entries(f);
	assert_stats(f, 0, 0, 0, 0);
}

/*
 * IPv6: buckets share a /64, entries do not: each source's entry carries
 * its whole address, family 6.
 */
static void test_ipv6_entry_keeps_the_whole_address(void **state)
{
	struct fx *f = *state;
	const char *a = "2001:db8:1:2:aaaa:bbbb:cccc:1", *b = "2001:db8:1:2:dddd::2";
	struct rw_event_key ka = ev_key(a, 0, RW_REASON_SRC_PKT, RW_VERDICT_DROP);
	struct rw_event_key kb = ev_key(b, 0, RW_REASON_SRC_PKT, RW_VERDICT_DROP);
	struct rw_event_key masked = ka;
	struct rw_event_entry e;
	struct ev_entries *all;
	struct ev_list *l;

	fx_policy(f, four_per_minute);
	send_all(f, a, 1, PASS);
	send_all(f, a, 2, DROP);
	send_all(f, b, 3, DROP); /* same /64: a's bucket */
	assert_int_equal(fx_src_count(f), 1);

	masked.addr[2] = masked.addr[3] = 0;
	assert_false(entry_get(f, &masked, &e));
	assert_true(entry_get(f, &ka, &e));
	assert_int_equal(e.packets, 2);
	assert_true(entry_get(f, &kb, &e));
	assert_int_equal(e.packets, 3);
	all = entries_read(f);
	assert_int_equal(all->n, 2);
	for (unsigned int i = 0; i < all->n; i++) {
		assert_int_equal(all->key[i].family, 6);
		assert_true(all->key[i].addr[2] != 0 && all->key[i].addr[3] != 0);
	}
	free(all);
	l = ring_drain(f);
	assert_int_equal(l->n, 2);
	assert_key_equal(&l->ev[0].key, &ka);
	assert_key_equal(&l->ev[1].key, &kb);
	assert_int_equal(l->ev[0].key.family, 6);
	assert_int_equal(l->ev[0].packets, 1);
	assert_int_equal(l->ev[1].packets, 1);
	free(l);
	assert_stats(f, 2, 0, 0, 0);
}

/* Each (class, reason, verdict) of one source is an entry of its own. */
static void test_reasons_and_classes_are_separate_entries(void **state)
{
	struct fx *f = *state;
	const char *src = "198.18.10.1";
	uint8_t b[FRAME_MAX];
	size_t len = fx_udp(b, src, 5353);
	struct rw_event_key k0 = ev_key(src, 0, RW_REASON_SRC_PKT, RW_VERDICT_DROP);
	struct rw_event_key k1 = ev_key(src, 1, RW_REASON_SRC_PKT, RW_VERDICT_DROP);
	struct rw_event_key kd = ev_key(src, 0, RW_REASON_DENY, RW_VERDICT_DROP);
	struct rw_event_entry e;
	struct ev_entries *all;

	fx_policy(f, "classes:\n"
		     "  - name: mdns\n"
		     "    ports: [udp/5353]\n"
		     "    source: { packets: { rate: 4/m, burst: 1 } }\n"
		     "default: { source: { packets: { rate: 4/m, burst: 1 } } }\n");
	send_all(f, src, 1, PASS);
	send_all(f, src, 2, DROP);
	assert_int_equal(fx_run(f, b, len, 1), PASS);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fx_run(f, b, len, 1), DROP);
	/* mdns keeps its id's name: an apply that renamed it would forget its entries */
	fx_policy(f, "deny: [198.18.10.0/24]\n"
		     "classes:\n"
		     "  - name: mdns\n"
		     "    ports: [udp/5353]\n");
	send_all(f, src, 4, DROP);

	assert_true(entry_get(f, &k0, &e));
	assert_int_equal(e.packets, 2);
	assert_true(entry_get(f, &k1, &e));
	assert_int_equal(e.packets, 3);
	assert_true(entry_get(f, &kd, &e));
	assert_int_equal(e.packets, 4);
	all = entries_read(f);
	assert_int_equal(all->n, 3);
	assert_int_equal(all->packets, 9);
	free(all);
	assert_stats(f, 3, 0, 0, 0);
}

/*
 * A source refused for want of the new-source budget (src_new) counts
 * under its class's "other sources" at once, in the slot of the CPU it
 * ran on: no entry of its own in rw_event_entries (not even a family-0
 * one), and none of the entry budget spent.
 */
static void test_src_new_counts_under_other_sources(void **state)
{
	struct fx *f = *state;
	struct rw_event_key k;
	struct rw_global_state g0, g1;
	struct rw_event_entry e;
	struct rw_config c;
	struct ev_list *l;
	uint32_t zero = 0;
	uint64_t t1, t2;
	char src[32];

	/* a new-source budget of 2 that does not refill during the test */
	fx_config_compute(&c, 32, 64, 0);
	c.new_limit = rw_limit_pack(gcra_interval_ticks(1), 2);
	c.new_rate = 1;
	c.new_burst = 2;
	fx_write_config(f, &c);
	fx_policy(f, "default:\n  source:\n    packets: { rate: 100/s, burst: 100 }\n");
	send_all(f, "198.18.13.1", 1, PASS);
	send_all(f, "198.18.13.2", 1, PASS);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.rw_global), &zero, &g0),
			 0);
	t1 = fx_now_ns();
	for (unsigned int i = 3; i < 10; i++) {
		snprintf(src, sizeof(src), "198.18.13.%u", i);
		send_all(f, src, 2, DROP);
	}
	t2 = fx_now_ns();
	assert_int_equal(fx_counter(f, RW_REASON_SRC_NEW, RW_VERDICT_DROP).packets, 14);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.rw_global), &zero, &g1),
			 0);
	/* the entry budget was not touched */
	assert_int_equal(g1.event_src_tat, g0.event_src_tat);
	assert_int_equal(g1.event_src_tat, 0);

	k = ev_key("198.18.13.3", 0, RW_REASON_SRC_NEW, RW_VERDICT_DROP);
	assert_false(entry_get(f, &k, &e));
	assert_no_entries(f);
	/* all 14 in this CPU's slot of (class 0, src_new, drop), nothing elsewhere */
	assert_other_only(f, 0, RW_REASON_SRC_NEW, RW_VERDICT_DROP, home_cpu, 14);
	e = other_get(f, 0, RW_REASON_SRC_NEW, RW_VERDICT_DROP, home_cpu);
	assert_in_range(e.sent_ns, t1, t2);
	l = ring_drain(f);
	assert_int_equal(l->n, 1);
	assert_other_event(f, &l->ev[0], 0, RW_REASON_SRC_NEW, RW_VERDICT_DROP, home_cpu);
	assert_int_equal(l->ev[0].packets, 1);
	assert_int_equal(l->ev[0].ts_ns, e.sent_ns);
	free(l);
	assert_stats(f, 1, 0, 14, 0);

	/* another CPU counts in its own slot, and sends its own first event */
	if (away_cpu < 0) {
		printf("# one CPU only: not checking another CPU's slot\n");
		return;
	}
	pin(away_cpu);
	send_all(f, "198.18.13.10", 3, DROP);
	pin(home_cpu);
	assert_int_equal(fx_counter(f, RW_REASON_SRC_NEW, RW_VERDICT_DROP).packets, 17);
	assert_int_equal(other_get(f, 0, RW_REASON_SRC_NEW, RW_VERDICT_DROP, home_cpu).packets, 14);
	e = other_get(f, 0, RW_REASON_SRC_NEW, RW_VERDICT_DROP, away_cpu);
	assert_int_equal(e.packets, 3);
	assert_int_equal(e.born_ns, 0);
	assert_no_entries(f);
	l = ring_drain(f);
	assert_int_equal(l->n, 1);
	assert_other_event(f, &l->ev[0], 0, RW_REASON_SRC_NEW, RW_VERDICT_DROP, away_cpu);
	assert_int_equal(l->ev[0].packets, 1);
	assert_int_equal(l->ev[0].ts_ns, e.sent_ns);
	free(l);
	assert_stats(f, 2, 0, 17, 0);
}

/* `events: { interval: off }`: refusals are dropped and counted as ever,
 * but make no entry and no event. */
static void test_events_off(void **state)
{
	struct fx *f = *state;
	struct ev_entries *all;

	fx_policy(f, "deny: [198.18.14.0/24]\nevents: { interval: off }\n");
	send_all(f, "198.18.14.1", 5, DROP);
	send_all(f, "198.18.14.2", 3, DROP);
	assert_int_equal(fx_counter(f, RW_REASON_DENY, RW_VERDICT_DROP).packets, 8);
	assert_nothing_reported(f);
	/* and back on: the next refusal reports again */
	fx_policy(f, "deny: [198.18.14.0/24]\n");
	send_all(f, "198.18.14.1", 2, DROP);
	all = entries_read(f);
	assert_int_equal(all->n, 1);
	assert_int_equal(all->packets, 2);
	free(all);
	assert_stats(f, 1, 0, 0, 0);
}

/* ---- what the daemon writes (user/event_stream) ----------------------------- */

struct tally {
	uint64_t sum;
	uint64_t calls;
	uint64_t other;  /* of those, other sources' (family 0) */
	struct {
		struct rw_event_key key;
		uint64_t packets;
	} by_key[2048]; /* more than the entry budget's burst */
	size_t n_keys;
};

static int on_record(const struct event_record *r, void *ctx)
{
	struct tally *t = ctx;
	size_t i;

	t->sum += r->packets;
	t->calls++;
	if (r->key.family == 0)
		t->other += r->packets;
	for (i = 0; i < t->n_keys; i++)
		if (!memcmp(&t->by_key[i].key, &r->key, sizeof(r->key)))
			break;
	if (i == t->n_keys) {
		if (t->n_keys == sizeof(t->by_key) / sizeof(t->by_key[0]))
			return 0;
		t->by_key[t->n_keys++].key = r->key;
	}
	t->by_key[i].packets += r->packets;
	return 0;
}

static uint64_t tally_key(const struct tally *t, const struct rw_event_key *k)
{
	for (size_t i = 0; i < t->n_keys; i++)
		if (!memcmp(&t->by_key[i].key, k, sizeof(*k)))
			return t->by_key[i].packets;
	return 0;
}

static uint64_t tally_of(const struct tally *t, const char *src)
{
	struct rw_event_key k = ev_key(src, 0, RW_REASON_DENY, RW_VERDICT_DROP);

	return tally_key(t, &k);
}

/* ---- the entry budget and the ring buffer --------------------------------- */

/*
 * More new sources than the entry budget's burst, refused at once: the
 * first RW_EVENT_NEW_BURST get entries (and a few more as the budget
 * refills, one per ms), the rest count under the class's "other sources"
 * (this CPU's slot of rw_event_other, under their own reason); not one
 * refusal is lost, and the daemon's accounting writes each exactly once.
 */
static void test_entry_budget_spills_to_other_sources(void **state)
{
	struct fx *f = *state;
	const unsigned int n = 1500;
	const uint64_t refill_ns = RW_NS_PER_SEC / RW_EVENT_NEW_RATE;
	const uint64_t later = 2 * RW_NS_PER_SEC;
	struct rw_event_key other = ev_other(0, RW_REASON_DENY, RW_VERDICT_DROP, home_cpu), k;
	struct rw_event_entry e;
	struct ev_entries *all;
	struct ev_list *l;
	struct event_stream s, s2;
	struct event_maps m;
	struct tally *t, *t2;
	uint64_t t0, t1, n_own = 0, n_other, max_own, n_other_events = 0;
	char src[32];

	fx_policy(f, deny_benchmark);
	t0 = fx_now_ns();
	for (unsigned int i = 0; i < n; i++) {
		bench_addr(i, src, sizeof(src));
		send_all(f, src, 1, DROP);
	}
	t1 = fx_now_ns();
	max_own = RW_EVENT_NEW_BURST + (t1 - t0) / refill_ns + 1;
	printf("# entry budget: %u sources in %.3f ms\n", n, (t1 - t0) / 1e6);

	all = entries_read(f);
	for (unsigned int i = 0; i < all->n; i++) {
		/* other sources have no entry here */
		assert_int_equal(all->key[i].family, 4);
		assert_int_equal(all->key[i].class_id, 0);
		assert_int_equal(all->key[i].reason, RW_REASON_DENY);
		assert_int_equal(all->key[i].verdict, RW_VERDICT_DROP);
		assert_int_equal(all->val[i].packets, 1);
		n_own++;
	}
	assert_int_equal(all->packets, n_own);
	free(all);
	assert_in_range(n_own, RW_EVENT_NEW_BURST, max_own);
	/* the budget must have run out, or this proves nothing */
	assert_true(n_own < n);
	n_other = n - n_own;
	/* nothing lost: every refusal is in its own entry or under other sources,
	 * all of those in this CPU's slot of the refusals' own reason */
	assert_int_equal(n_own + other_total(f), n);
	assert_other_only(f, 0, RW_REASON_DENY, RW_VERDICT_DROP, home_cpu, n_other);
	/* the burst covers the first sources, whatever the timing */
	for (unsigned int i = 0; i < RW_EVENT_NEW_BURST; i++) {
		bench_addr(i, src, sizeof(src));
		k = ev_key(src, 0, RW_REASON_DENY, RW_VERDICT_DROP);
		assert_true(entry_get(f, &k, &e));
		assert_int_equal(e.packets, 1);
	}
	/* one event per own entry, one for "other sources" */
	l = ring_drain(f);
	assert_int_equal(l->n, n_own + 1);
	for (size_t i = 0; i < l->n; i++) {
		assert_int_equal(l->ev[i].packets, 1);
		if (l->ev[i].key.family == 4)
			continue;
		assert_other_event(f, &l->ev[i], 0, RW_REASON_DENY, RW_VERDICT_DROP, home_cpu);
		n_other_events++;
	}
	assert_int_equal(n_other_events, 1);
	free(l);
	assert_stats(f, n_own + 1, 0, n_other, 0);

	/* a source with an entry keeps counting in it, budget or not */
	send_all(f, "198.18.0.0", 3, DROP);
	k = ev_key("198.18.0.0", 0, RW_REASON_DENY, RW_VERDICT_DROP);
	assert_true(entry_get(f, &k, &e));
	assert_int_equal(e.packets, 4);
	assert_stats(f, n_own + 1, 0, n_other, 0);

	/* the daemon, its events read already, flushes everything exactly once:
	 * each own entry and the other-sources slot */
	t = calloc(1, sizeof(*t));
	t2 = calloc(1, sizeof(*t2));
	assert_non_null(t);
	assert_non_null(t2);
	event_maps_of(f, &m);
	assert_int_equal(event_stream_open(&s, &m, on_record, t), 0);
	assert_int_equal(event_stream_flush(&s, fx_now_ns() + later, 1000), 0);
	assert_int_equal(t->sum, n + 3);
	assert_int_equal(t->other, n_other);
	assert_int_equal(tally_key(t, &other), n_other);
	assert_int_equal(s.flushed, n_own + 1);
	assert_int_equal(t->calls, n_own + 1);
	/* again, and a restart: nothing new */
	assert_int_equal(event_stream_flush(&s, fx_now_ns() + later, 1000), 0);
	assert_int_equal(t->sum, n + 3);
	assert_int_equal(t->calls, n_own + 1);
	assert_int_equal(s.acct_errors, 0);
	assert_int_equal(event_stream_open(&s2, &m, on_record, t2), 0);
	assert_int_equal(event_stream_flush(&s2, fx_now_ns() + later, 1000), 0);
	assert_int_equal(t2->calls, 0);
	event_stream_close(&s2);
	event_stream_close(&s);
	assert_int_equal(fx_counter(f, RW_REASON_DENY, RW_VERDICT_DROP).packets, n + 3);
	free(t);
	free(t2);
}

/*
 * More events than the ring buffer holds, never consumed: the sends that
 * found it full are counted, every refusal is still in its entry, and once
 * the ring is read the next event carries the whole count.
 */
static void test_full_ring_loses_no_packet(void **state)
{
	struct fx *f = *state;
	const unsigned int n = 1000, rounds = 6;
	/* records of the event rounded up to 8 after an 8-byte header; the
	 * producer stays at most (size - 1) ahead of the consumer */
	const uint64_t rec = (sizeof(struct rw_event) + BPF_RINGBUF_HDR_SZ + 7) / 8 * 8;
	const uint64_t ring_max = (RW_EVENT_RING_BYTES - 1) / rec;
	uint64_t s[RW_EVSTAT_MAX], sent;
	struct ev_entries *all;
	struct ev_list *l;
	char src[32];

	/* n new sources fit the entry budget's burst exactly */
	assert_true(n <= RW_EVENT_NEW_BURST);
	assert_true((uint64_t)n * rounds > ring_max);
	/* it holds several rounds: the loss is the ring's size, not something else */
	assert_true(ring_max > 2 * n);
	fx_policy(f, "deny: [198.18.0.0/15]\nevents: { interval: 100ms }\n");
	for (unsigned int r = 0; r < rounds; r++) {
		/* every source's refusals more than an interval apart: each sends */
		if (r)
			fx_sleep_ns(115 * MS);
		for (unsigned int i = 0; i < n; i++) {
			bench_addr(i, src, sizeof(src));
			send_all(f, src, 1, DROP);
		}
	}
	stats_read(f, s);
	printf("# ring: sent %llu, ring full %llu\n", (unsigned long long)s[RW_EVSTAT_SENT],
	       (unsigned long long)s[RW_EVSTAT_RING_FULL]);
	assert_int_equal(s[RW_EVSTAT_SENT] + s[RW_EVSTAT_RING_FULL], (uint64_t)n * rounds);
	assert_true(s[RW_EVSTAT_RING_FULL] > 0);
	/* exactly what the ring holds: the loss is its size, not something else */
	assert_int_equal(s[RW_EVSTAT_SENT], ring_max);
	assert_int_equal(other_total(f), 0);
	assert_int_equal(s[RW_EVSTAT_NO_ENTRY], 0);
	sent = s[RW_EVSTAT_SENT];

	all = entries_read(f);
	assert_int_equal(all->n, n);
	assert_int_equal(all->packets, (uint64_t)n * rounds);
	for (unsigned int i = 0; i < all->n; i++)
		assert_int_equal(all->val[i].packets, rounds);
	free(all);

	/* what was sent is in order: round r's events carry r + 1 */
	l = ring_drain(f);
	assert_int_equal(l->n, sent);
	for (size_t i = 0; i < l->n; i++)
		assert_int_equal(l->ev[i].packets, i / n + 1);
	free(l);

	/* read, the ring takes the next round whole, each carrying every packet */
	fx_sleep_ns(115 * MS);
	for (unsigned int i = 0; i < n; i++) {
		bench_addr(i, src, sizeof(src));
		send_all(f, src, 1, DROP);
	}
	l = ring_drain(f);
	assert_int_equal(l->n, n);
	for (size_t i = 0; i < l->n; i++)
		assert_int_equal(l->ev[i].packets, rounds + 1);
	free(l);
	assert_stats(f, sent + n, (uint64_t)n * rounds - sent, 0, 0);
}

/* ---- the daemon's accounting (user/event_stream) --------------------------- */

static uint64_t acct_of(struct fx *f, const struct rw_event_key *k, bool *found,
		       uint64_t *born_ns)
{
	struct rw_event_acct a;

	*found = bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.rw_event_acct), k, &a) == 0;
	if (born_ns)
		*born_ns = *found ? a.born_ns : ~0ULL;
	return *found ? a.written : 0;
}

static uint64_t acct_written(struct fx *f, const char *src, bool *found)
{
	struct rw_event_key k = ev_key(src, 0, RW_REASON_DENY, RW_VERDICT_DROP);

	return acct_of(f, &k, found, NULL);
}

/*
 * Events and quiet entries become exact counts: what the ring carries at
 * once, the rest when the entry has been quiet for an interval; never a
 * packet twice, not after a flush again nor after a restart (a second
 * stream on the same maps), and an entry made anew counts from zero.
 */
static void test_stream_counts_every_refusal_once(void **state)
{
	struct fx *f = *state;
	const char *a = "198.18.11.1", *b = "198.18.11.2", *c = "2001:db8:11::3";
	const char *d = "198.18.11.4";
	const uint32_t interval_ms = RW_EVENT_INTERVAL_MAX_MS; /* no second event, however slow */
	const uint64_t later = 2ULL * interval_ms * MS;
	struct tally t = { 0 }, t2 = { 0 };
	struct event_stream s, s2;
	struct event_maps m;
	struct rw_event_key kb = ev_key(b, 0, RW_REASON_DENY, RW_VERDICT_DROP);
	uint64_t st[RW_EVSTAT_MAX];
	bool found;

	fx_policy(f, "deny: [198.18.11.0/24, 2001:db8:11::/48]\nevents: { interval: 60m }\n");
	event_maps_of(f, &m);
	assert_int_equal(event_stream_open(&s, &m, on_record, &t), 0);
	assert_true(event_stream_fd(&s) >= 0);
	send_all(f, a, 5, DROP);
	send_all(f, b, 3, DROP);
	send_all(f, c, 2, DROP);

	/* the ring: one event each, carrying the first refusal */
	assert_int_equal(event_stream_consume(&s), 0);
	assert_int_equal(t.sum, 3);
	assert_int_equal(t.calls, 3);
	assert_int_equal(s.records, 3);
	/* within the interval nothing is flushed: the next event will carry it */
	assert_int_equal(event_stream_flush(&s, fx_now_ns(), interval_ms), 0);
	assert_int_equal(t.sum, 3);
	assert_int_equal(s.flushed, 0);
	/* quiet for an interval: the rest, exactly */
	assert_int_equal(event_stream_flush(&s, fx_now_ns() + later, interval_ms), 0);
	assert_int_equal(t.sum, 10);
	assert_int_equal(tally_of(&t, a), 5);
	assert_int_equal(tally_of(&t, b), 3);
	assert_int_equal(tally_of(&t, c), 2);
	assert_int_equal(s.flushed, 3);
	assert_int_equal(acct_written(f, a, &found), 5);
	assert_true(found);
	/* again: nothing new */
	assert_int_equal(event_stream_flush(&s, fx_now_ns() + later, interval_ms), 0);
	assert_int_equal(t.sum, 10);
	assert_int_equal(t.calls, 6);
	assert_int_equal(s.acct_errors, 0);

	/* a restart reads the same maps and writes nothing twice */
	assert_int_equal(event_stream_open(&s2, &m, on_record, &t2), 0);
	assert_int_equal(event_stream_consume(&s2), 0);
	assert_int_equal(event_stream_flush(&s2, fx_now_ns() + later, interval_ms), 0);
	assert_int_equal(t2.sum, 0);
	assert_int_equal(t2.calls, 0);
	event_stream_close(&s2);

	/* more refusals: only the new ones */
	send_all(f, a, 2, DROP);
	send_all(f, d, 4, DROP);
	assert_int_equal(event_stream_consume(&s), 0);
	assert_int_equal(event_stream_flush(&s, fx_now_ns() + later, interval_ms), 0);
	assert_int_equal(t.sum, 16);
	assert_int_equal(tally_of(&t, a), 7);
	assert_int_equal(tally_of(&t, d), 4);
	assert_int_equal(tally_of(&t, b), 3);
	assert_int_equal(tally_of(&t, c), 2);

	/* an entry gone (evicted) takes its account with it at the next flush */
	assert_int_equal(bpf_map_delete_elem(m.entries_fd, &kb), 0);
	assert_int_equal(event_stream_flush(&s, fx_now_ns() + later, interval_ms), 0);
	acct_written(f, b, &found);
	assert_false(found);
	assert_int_equal(t.sum, 16);
	/* and the source made anew counts from its first refusal again */
	send_all(f, b, 3, DROP);
	assert_int_equal(event_stream_consume(&s), 0);
	assert_int_equal(tally_of(&t, b), 4);
	assert_int_equal(event_stream_flush(&s, fx_now_ns() + later, interval_ms), 0);
	assert_int_equal(tally_of(&t, b), 6);
	assert_int_equal(t.sum, 19);
	assert_int_equal(fx_counter(f, RW_REASON_DENY, RW_VERDICT_DROP).packets, 19);

	assert_int_equal(event_stats_read(m.stats_fd, st), 0);
	assert_int_equal(st[RW_EVSTAT_SENT], 5);
	assert_int_equal(st[RW_EVSTAT_RING_FULL], 0);
	assert_int_equal(s.acct_errors, 0);
	/* every source had its own entry: nothing under other sources */
	assert_int_equal(t.other, 0);
	assert_int_equal(other_total(f), 0);
	event_stream_close(&s);
}

/* An entry made again after eviction while its old account is still there
 * (no flush between): the new incarnation counts from zero, not from the
 * old account's total. */
static void test_stream_new_incarnation_is_not_the_old_account(void **state)
{
	struct fx *f = *state;
	const char *a = "198.18.12.1";
	const uint64_t later = 2 * RW_NS_PER_SEC;
	struct rw_event_key ka = ev_key(a, 0, RW_REASON_DENY, RW_VERDICT_DROP);
	struct tally t = { 0 };
	struct event_stream s;
	struct event_maps m;

	fx_policy(f, "deny: [198.18.12.0/24]\n");
	event_maps_of(f, &m);
	assert_int_equal(event_stream_open(&s, &m, on_record, &t), 0);
	send_all(f, a, 6, DROP);
	assert_int_equal(event_stream_flush(&s, fx_now_ns() + later, 1000), 0);
	assert_int_equal(t.sum, 6);
	assert_int_equal(bpf_map_delete_elem(m.entries_fd, &ka), 0);
	/* born_ns must differ from the old one */
	fx_sleep_ns(1000);
	send_all(f, a, 2, DROP);
	assert_int_equal(event_stream_flush(&s, fx_now_ns() + later, 1000), 0);
	assert_int_equal(t.sum, 8);
	assert_int_equal(tally_of(&t, a), 8);
	event_stream_close(&s);
}

/*
 * Other sources through the daemon: a slot's event, then its quiet rest,
 * each CPU's slot a key of its own, every packet exactly once. The
 * account of a family-0 key is never forgotten as gone (the next flush
 * would write the slot's packets again): not by a flush again, nor by a
 * restart.
 */
static void test_stream_counts_other_sources_once(void **state)
{
	struct fx *f = *state;
	const uint32_t interval_ms = RW_EVENT_INTERVAL_MAX_MS; /* no second event, however slow */
	const uint64_t later = 2ULL * interval_ms * MS;
	struct rw_event_key home = ev_other(0, RW_REASON_SRC_NEW, RW_VERDICT_DROP, home_cpu), away;
	struct tally t = { 0 }, t2 = { 0 };
	struct event_stream s, s2;
	struct event_maps m;
	struct rw_config c;
	uint64_t st[RW_EVSTAT_MAX], born, total = 10, sent = 1;
	bool found;

	/* a new-source budget of 2 that does not refill during the test */
	fx_config_compute(&c, 32, 64, 0);
	c.new_limit = rw_limit_pack(gcra_interval_ticks(1), 2);
	c.new_rate = 1;
	c.new_burst = 2;
	fx_write_config(f, &c);
	fx_policy(f, "events: { interval: 60m }\n"
		     "default:\n  source:\n    packets: { rate: 100/s, burst: 100 }\n");
	send_all(f, "198.18.15.1", 1, PASS);
	send_all(f, "198.18.15.2", 1, PASS);
	event_maps_of(f, &m);
	assert_int_equal(event_stream_open(&s, &m, on_record, &t), 0);
	send_all(f, "198.18.15.3", 2, DROP);
	send_all(f, "198.18.15.4", 2, DROP);
	send_all(f, "198.18.15.5", 2, DROP);
	assert_other_only(f, 0, RW_REASON_SRC_NEW, RW_VERDICT_DROP, home_cpu, 6);

	/* the ring: the slot's first refusal */
	assert_int_equal(event_stream_consume(&s), 0);
	assert_int_equal(s.records, 1);
	assert_int_equal(t.calls, 1);
	assert_int_equal(t.sum, 1);
	assert_int_equal(tally_key(&t, &home), 1);
	/* within the interval nothing is flushed: the next event will carry it */
	assert_int_equal(event_stream_flush(&s, fx_now_ns(), interval_ms), 0);
	assert_int_equal(t.sum, 1);
	assert_int_equal(s.flushed, 0);
	/* quiet for an interval: the rest, exactly */
	assert_int_equal(event_stream_flush(&s, fx_now_ns() + later, interval_ms), 0);
	assert_int_equal(t.sum, 6);
	assert_int_equal(t.other, 6);
	assert_int_equal(tally_key(&t, &home), 6);
	assert_int_equal(t.calls, 2);
	assert_int_equal(s.flushed, 1);
	assert_int_equal(acct_of(f, &home, &found, &born), 6);
	assert_true(found);
	assert_int_equal(born, 0);
	/* again: nothing new, and the account outlived the flush */
	assert_int_equal(event_stream_flush(&s, fx_now_ns() + later, interval_ms), 0);
	assert_int_equal(t.sum, 6);
	assert_int_equal(t.calls, 2);
	assert_int_equal(acct_of(f, &home, &found, NULL), 6);
	assert_true(found);

	/* a restart reads the same maps and writes nothing twice */
	assert_int_equal(event_stream_open(&s2, &m, on_record, &t2), 0);
	assert_int_equal(event_stream_consume(&s2), 0);
	assert_int_equal(event_stream_flush(&s2, fx_now_ns() + later, interval_ms), 0);
	assert_int_equal(t2.calls, 0);
	event_stream_close(&s2);

	/* more refusals: only the new ones, by flush (no second event in 60 m) */
	send_all(f, "198.18.15.6", 4, DROP);
	assert_int_equal(event_stream_consume(&s), 0);
	assert_int_equal(s.records, 1);
	assert_int_equal(event_stream_flush(&s, fx_now_ns() + later, interval_ms), 0);
	assert_int_equal(t.sum, 10);
	assert_int_equal(tally_key(&t, &home), 10);
	assert_int_equal(t.calls, 3);
	assert_int_equal(acct_of(f, &home, &found, NULL), 10);

	/* another CPU's slot is a key of its own, with its own event */
	if (away_cpu >= 0) {
		away = ev_other(0, RW_REASON_SRC_NEW, RW_VERDICT_DROP, away_cpu);
		pin(away_cpu);
		send_all(f, "198.18.15.7", 3, DROP);
		pin(home_cpu);
		assert_int_equal(event_stream_consume(&s), 0);
		assert_int_equal(s.records, 2);
		assert_int_equal(tally_key(&t, &away), 1);
		assert_int_equal(t.sum, 11);
		assert_int_equal(event_stream_flush(&s, fx_now_ns() + later, interval_ms), 0);
		assert_int_equal(tally_key(&t, &away), 3);
		assert_int_equal(tally_key(&t, &home), 10);
		assert_int_equal(t.sum, 13);
		assert_int_equal(t.calls, 5);
		assert_int_equal(acct_of(f, &away, &found, NULL), 3);
		assert_true(found);
		assert_int_equal(acct_of(f, &home, &found, NULL), 10);
		assert_int_equal(event_stream_flush(&s, fx_now_ns() + later, interval_ms), 0);
		assert_int_equal(t.sum, 13);
		assert_int_equal(t.calls, 5);
		total = 13;
		sent = 2;
	} else {
		printf("# one CPU only: not checking another CPU's slot\n");
	}

	/* and a restart still writes nothing */
	memset(&t2, 0, sizeof(t2));
	assert_int_equal(event_stream_open(&s2, &m, on_record, &t2), 0);
	assert_int_equal(event_stream_consume(&s2), 0);
	assert_int_equal(event_stream_flush(&s2, fx_now_ns() + later, interval_ms), 0);
	assert_int_equal(t2.calls, 0);
	event_stream_close(&s2);

	/* every refusal written once, all of them as other sources */
	assert_int_equal(t.sum, total);
	assert_int_equal(t.other, total);
	assert_int_equal(other_total(f), total);
	assert_int_equal(fx_counter(f, RW_REASON_SRC_NEW, RW_VERDICT_DROP).packets, total);
	assert_no_entries(f);
	assert_int_equal(event_stats_read(m.stats_fd, st), 0);
	assert_int_equal(st[RW_EVSTAT_SENT], sent);
	assert_int_equal(st[RW_EVSTAT_RING_FULL], 0);
	assert_int_equal(st[RW_EVSTAT_NO_ENTRY], 0);
	assert_int_equal(s.acct_errors, 0);
	event_stream_close(&s);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refusals_aggregate_in_one_entry, ev_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_interval_from_the_policy, ev_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_default_interval_holds_events_back, ev_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_observe_counts_would_drop, ev_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_admitted_packets_make_no_entry, ev_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_entry_keeps_the_whole_address, ev_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_reasons_and_classes_are_separate_entries,
						ev_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_src_new_counts_under_other_sources, ev_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_events_off, ev_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_entry_budget_spills_to_other_sources, ev_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_full_ring_loses_no_packet, ev_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_stream_counts_every_refusal_once, ev_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_stream_new_incarnation_is_not_the_old_account,
						ev_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_stream_counts_other_sources_once, ev_setup,
						fx_teardown),
	};

	(void)argc;
	if (fx_require_root(argv[0]) || choose_cpus())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
