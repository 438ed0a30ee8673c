// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Refusal events through the real program (BPF_PROG_TEST_RUN): every
 * refused packet adds one to its (source, class, reason, verdict) entry,
 * the entry's first refusal and then at most one per interval goes to the
 * ring buffer carrying the entry's count, new entries are made only while
 * their budget lasts (the rest count under the class's "other sources"),
 * a full ring buffer loses no packet, and the daemon's accounting
 * (event_stream) turns events and quiet entries into exact packet counts,
 * never writing one twice. Every test gets a freshly loaded skeleton.
 */
#include "fixture.h"
#include "frames.h"
#include "event_stream.h"

#define PASS XDP_PASS
#define DROP XDP_DROP
#define PORT 9999  /* claimed by no class: the default class */
#define MS 1000000ULL

/* A source-limited default class whose bucket does not refill during a test. */
static const char one_per_minute[] =
	"default:\n"
	"  source:\n"
	"    packets: { rate: 1/m, burst: 1 }\n";

/* Everything in 198.18.0.0/15 is refused from its first packet. */
static const char deny_benchmark[] = "deny: [198.18.0.0/15]\n";

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

/* The class's "other sources" entry. */
static struct rw_event_key ev_other(uint16_t class_id, uint8_t reason, uint8_t verdict)
{
	struct rw_event_key k;

	memset(&k, 0, sizeof(k));
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

static void assert_stats(struct fx *f, uint64_t sent, uint64_t ring_full, uint64_t other,
			 uint64_t no_entry)
{
	uint64_t s[RW_EVSTAT_MAX];

	stats_read(f, s);
	if (s[RW_EVSTAT_SENT] != sent || s[RW_EVSTAT_RING_FULL] != ring_full ||
	    s[RW_EVSTAT_OTHER] != other || s[RW_EVSTAT_NO_ENTRY] != no_entry)
		print_error("event stats sent %llu ring_full %llu other %llu no_entry %llu\n",
			    (unsigned long long)s[RW_EVSTAT_SENT],
			    (unsigned long long)s[RW_EVSTAT_RING_FULL],
			    (unsigned long long)s[RW_EVSTAT_OTHER],
			    (unsigned long long)s[RW_EVSTAT_NO_ENTRY]);
	assert_int_equal(s[RW_EVSTAT_SENT], sent);
	assert_int_equal(s[RW_EVSTAT_RING_FULL], ring_full);
	assert_int_equal(s[RW_EVSTAT_OTHER], other);
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
	uint64_t t0, t1, t2;

	fx_policy(f, one_per_minute);
	t0 = fx_now_ns();
	send_all(f, "198.18.7.7", 1, PASS);
	/* the admitted packet made no entry */
	all = entries_read(f);
	assert_int_equal(all->n, 0);
	free(all);
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
	(void)t0;

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
		     "    packets: { rate: 1/m, burst: 1 }\n");
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

	fx_policy(f, one_per_minute);
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
		     "      packets: { rate: 1/m, burst: 1 }\n");
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
	struct ev_entries *all;
	struct ev_list *l;

	/* fx_open installed the generous built-in policy */
	for (size_t i = 0; i < 4; i++)
		send_all(f, srcs[i], 20, PASS);
	assert_int_equal(fx_counter(f, RW_REASON_ADMITTED, RW_VERDICT_PASS).packets, 80);
	all = entries_read(f);
	assert_int_equal(all->n, 0);
	free(all);
	l = ring_drain(f);
	assert_int_equal(l->n, 0);
	free(l);
	assert_stats(f, 0, 0, 0, 0);
	/* an allowed source is no refusal either */
	fx_policy(f, "allow: [198.18.9.0/24]\n"
		     "default: { source: { packets: { rate: 1/m, burst: 1 } } }\n");
	send_all(f, "198.18.9.1", 5, PASS);
	all = entries_read(f);
	assert_int_equal(all->n, 0);
	free(all);
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

	fx_policy(f, one_per_minute);
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
		     "    source: { packets: { rate: 1/m, burst: 1 } }\n"
		     "default: { source: { packets: { rate: 1/m, burst: 1 } } }\n");
	send_all(f, src, 1, PASS);
	send_all(f, src, 2, DROP);
	assert_int_equal(fx_run(f, b, len, 1), PASS);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fx_run(f, b, len, 1), DROP);
	fx_policy(f, "deny: [198.18.10.0/24]\n");
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
