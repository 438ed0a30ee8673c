// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * One source key hammered from every CPU at once. The bucket update is a
 * compare-and-swap on a shared TAT, so the guarantee under contention is
 * the global one: admitted <= burst + rate * t + 1 over the whole run,
 * and every packet lands in exactly one of admitted / refused / contended.
 */
#define _GNU_SOURCE
#include "fixture.h"
#include "frames.h"

#include <pthread.h>
#include <sched.h>

#define RUN_NS (500ull * 1000 * 1000)
#define REPEAT 200000u

struct worker {
	pthread_t th;
	int cpu;
	int prog_fd;
	const uint8_t *frame;
	uint32_t len;
	pthread_barrier_t *start;
	uint64_t run_ns;
	/* results, read after join */
	uint64_t packets;
	int err;
	int wrong_cpu;
	int bad_verdict;
};

/* No cmocka in here: its asserts longjmp and must stay on the main thread. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t deadline;
	uint32_t ret = 0;

	pthread_barrier_wait(w->start);
	deadline = fx_now_ns() + w->run_ns;
	do {
		if (sched_getcpu() != w->cpu)
			w->wrong_cpu++;
		w->err = fx_run_raw(w->prog_fd, w->frame, w->len, REPEAT, &ret);
		if (w->err)
			break;
		if (ret != XDP_PASS && ret != XDP_DROP)
			w->bad_verdict++;
		w->packets += REPEAT;
	} while (fx_now_ns() < deadline);
	return NULL;
}

struct outcome {
	unsigned int threads;
	uint64_t total;    /* packets run, summed over threads */
	uint64_t elapsed;  /* ns, from before the first start to after the last join */
	struct rw_counter admitted, refused, contended, no_state;
};

/* Runs one frame from a thread pinned to each CPU we may use. */
static void drive_all_cpus(struct fx *f, const uint8_t *frame, uint32_t len,
			   struct outcome *o)
{
	struct worker w[CPU_SETSIZE];
	pthread_barrier_t start;
	cpu_set_t allowed;
	unsigned int n = 0, i;
	uint64_t t0, t1;
	int cpu;

	memset(o, 0, sizeof(*o));
	assert_int_equal(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		memset(&w[n], 0, sizeof(w[n]));
		w[n].cpu = cpu;
		w[n].prog_fd = f->prog_fd;
		w[n].frame = frame;
		w[n].len = len;
		w[n].start = &start;
		w[n].run_ns = RUN_NS;
		n++;
	}
	assert_true(n >= 1);
	if (n == 1)
		printf("# only one CPU available: no cross-CPU contention exercised\n");
	assert_int_equal(pthread_barrier_init(&start, NULL, n), 0);

	t0 = fx_now_ns();
	for (i = 0; i < n; i++) {
		pthread_attr_t attr;
		cpu_set_t one;

		/* Pinned before it first runs, so no packet is sent elsewhere. */
		CPU_ZERO(&one);
		CPU_SET(w[i].cpu, &one);
		assert_int_equal(pthread_attr_init(&attr), 0);
		assert_int_equal(pthread_attr_setaffinity_np(&attr, sizeof(one), &one), 0);
		assert_int_equal(pthread_create(&w[i].th, &attr, worker_main, &w[i]), 0);
		pthread_attr_destroy(&attr);
	}
	for (i = 0; i < n; i++)
		assert_int_equal(pthread_join(w[i].th, NULL), 0);
	t1 = fx_now_ns();
	pthread_barrier_destroy(&start);

	for (i = 0; i < n; i++) {
		if (w[i].err)
			print_error("worker on CPU %d: test run failed: %s\n", w[i].cpu,
				    strerror(-w[i].err));
		assert_int_equal(w[i].err, 0);
		assert_int_equal(w[i].wrong_cpu, 0);
		assert_int_equal(w[i].bad_verdict, 0);
		printf("# cpu %d: %llu packets\n", w[i].cpu, (unsigned long long)w[i].packets);
		o->total += w[i].packets;
	}
	o->threads = n;
	o->elapsed = t1 - t0;
	o->admitted = fx_counter(f, RW_REASON_ADMITTED, RW_VERDICT_PASS);
	o->refused = fx_counter(f, RW_REASON_SRC_PKT, RW_VERDICT_DROP);
	o->contended = fx_counter(f, RW_REASON_CONTENDED, RW_VERDICT_DROP);
	o->no_state = fx_counter(f, RW_REASON_NO_STATE, RW_VERDICT_PASS);
	printf("# %u threads, %.3f s: total %llu admitted %llu refused %llu contended %llu no_state %llu\n",
	       n, o->elapsed / 1e9, (unsigned long long)o->total,
	       (unsigned long long)o->admitted.packets, (unsigned long long)o->refused.packets,
	       (unsigned long long)o->contended.packets, (unsigned long long)o->no_state.packets);
}

static size_t build(uint8_t *b)
{
	struct frame_spec s = { .family = 4, .src = "198.18.20.1", .l4 = FR_PROTO_UDP,
				.payload = 18 };
	size_t n = frame_build(b, FRAME_MAX, &s, NULL);

	assert_true(n > 0);
	return n;
}

static void test_one_key_all_cpus_limited(void **state)
{
	struct fx *f = *state;
	const uint64_t rate = 100000, burst = 1000;
	uint8_t b[FRAME_MAX];
	size_t len = build(b);
	struct outcome o;
	uint64_t bound;

	fx_set_config(f, rate, burst, 32, 64, 0);
	drive_all_cpus(f, b, (uint32_t)len, &o);

	bound = burst + rate * o.elapsed / RW_NS_PER_SEC + 1;
	printf("# limited: rate %llu/s burst %llu: admitted %llu, bound %llu (%.1f%% of it)\n",
	       (unsigned long long)rate, (unsigned long long)burst,
	       (unsigned long long)o.admitted.packets, (unsigned long long)bound,
	       100.0 * (double)o.admitted.packets / (double)bound);
	assert_true(o.admitted.packets <= bound);
	assert_true(o.admitted.packets >= burst);
	/* The load must have exceeded the limit, or the bound proves nothing. */
	assert_true(o.total > bound);
	assert_int_equal(o.admitted.packets + o.refused.packets + o.contended.packets, o.total);
	assert_int_equal(o.no_state.packets, 0);
	assert_int_equal(o.admitted.bytes, o.admitted.packets * len);
	assert_int_equal(o.refused.bytes, o.refused.packets * len);
	assert_int_equal(o.contended.bytes, o.contended.packets * len);
}

static void test_one_key_all_cpus_unlimited(void **state)
{
	struct fx *f = *state;
	const uint64_t rate = RW_RATE_MAX, burst = RW_BURST_MAX;
	uint8_t b[FRAME_MAX];
	size_t len = build(b);
	struct outcome o;

	fx_set_config(f, rate, burst, 32, 64, 0);
	drive_all_cpus(f, b, (uint32_t)len, &o);

	/* Premise: the offered load stayed under the limit at any instant. */
	printf("# unlimited: offered %.1f Mpps against %.1f Mpps allowed\n",
	       (double)o.total * 1e3 / (double)o.elapsed, (double)rate / 1e6);
	assert_true(o.total < burst + rate * o.elapsed / RW_NS_PER_SEC);
	/*
	 * Nothing may be refused by the bucket. A packet whose CAS lost
	 * RW_CAS_RETRIES races in a row is dropped as contended by design;
	 * with a handful of CPUs that must stay rare, far under 0.01%.
	 */
	assert_int_equal(o.refused.packets, 0);
	assert_int_equal(o.no_state.packets, 0);
	assert_int_equal(o.admitted.packets + o.contended.packets, o.total);
	assert_int_equal(o.admitted.bytes, o.admitted.packets * len);
	assert_int_equal(o.contended.bytes, o.contended.packets * len);
	assert_true(o.contended.packets * 10000 < o.total);
}

/* ---- the new-source budget under races -------------------------------- */

#define RACE_SOURCES 3000u
#define RACE_BURST 1500u

struct racer {
	pthread_t th;
	int cpu;
	int prog_fd;
	const uint8_t (*frames)[FRAME_MAX];
	const size_t *lens;
	pthread_barrier_t *start;
	int err;
};

/* Every racer sends the same never-seen sources in the same order. */
static void *racer_main(void *arg)
{
	struct racer *r = arg;
	uint32_t ret = 0;

	pthread_barrier_wait(r->start);
	for (unsigned int i = 0; i < RACE_SOURCES && !r->err; i++)
		r->err = fx_run_raw(r->prog_fd, r->frames[i], (uint32_t)r->lens[i], 1, &ret);
	return NULL;
}

/*
 * CPUs that meet the same new source at once may each take a token, but
 * only one entry can be made: the others give theirs back. So with no
 * refill (1 new source per second) exactly new-burst sources get entries,
 * however the racers interleave.
 */
static void test_new_source_races_waste_no_budget(void **state)
{
	static uint8_t frames[RACE_SOURCES][FRAME_MAX];
	static size_t lens[RACE_SOURCES];
	struct fx *f = *state;
	struct racer r[2];
	pthread_barrier_t start;
	struct rw_config c;
	char src[32];
	int ncpu = 0;
	cpu_set_t allowed;

	assert_int_equal(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	fx_config_compute(&c, 32, 64, 0);
	c.new_limit = rw_limit_pack(gcra_interval_ticks(1), RACE_BURST);
	fx_write_config(f, &c);
	for (unsigned int i = 0; i < RACE_SOURCES; i++) {
		struct frame_spec s = { .family = 4, .src = src, .l4 = FR_PROTO_UDP,
					.payload = 18 };

		snprintf(src, sizeof(src), "198.18.%u.%u", 100 + i / 256, i % 256);
		lens[i] = frame_build(frames[i], FRAME_MAX, &s, NULL);
		assert_true(lens[i] > 0);
	}
	assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
	uint64_t t0 = fx_now_ns();

	for (int cpu = 0; cpu < CPU_SETSIZE && ncpu < 2; cpu++) {
		pthread_attr_t attr;
		cpu_set_t one;

		if (!CPU_ISSET(cpu, &allowed))
			continue;
		r[ncpu] = (struct racer){ .cpu = cpu, .prog_fd = f->prog_fd, .frames = frames,
					  .lens = lens, .start = &start };
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		assert_int_equal(pthread_attr_init(&attr), 0);
		assert_int_equal(pthread_attr_setaffinity_np(&attr, sizeof(one), &one), 0);
		assert_int_equal(pthread_create(&r[ncpu].th, &attr, racer_main, &r[ncpu]), 0);
		pthread_attr_destroy(&attr);
		ncpu++;
	}
	/* On one CPU the second racer must still start: run it here. */
	if (ncpu == 1) {
		printf("# only one CPU available: no race exercised\n");
		r[1] = (struct racer){ .cpu = -1, .prog_fd = f->prog_fd, .frames = frames,
				       .lens = lens, .start = &start };
		assert_int_equal(pthread_create(&r[1].th, NULL, racer_main, &r[1]), 0);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(r[i].th, NULL), 0);
		assert_int_equal(r[i].err, 0);
	}
	pthread_barrier_destroy(&start);
	/* 1 new source per second refills one token per whole second taken. */
	uint64_t refill = (fx_now_ns() - t0) / 1000000000ull;

	printf("# entries %u of burst %u\n", fx_src_count(f), RACE_BURST);
	assert_true(fx_src_count(f) >= RACE_BURST);
	assert_true(fx_src_count(f) <= RACE_BURST + refill);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(test_one_key_all_cpus_limited),
		T(test_one_key_all_cpus_unlimited),
		T(test_new_source_races_waste_no_budget),
	};

	(void)argc;
	if (fx_require_root(argv[0]))
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
