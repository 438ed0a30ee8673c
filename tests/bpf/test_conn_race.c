// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * conn_add(), the count sockops keeps per (source, class), hammered on one
 * key from threads pinned to every CPU: the count must end exactly where
 * the opens and closes put it, with nothing lost, whatever the
 * interleaving of entries being made, retired and deleted.
 */
#define _GNU_SOURCE
#include "fixture.h"

#include <pthread.h>
#include <sched.h>

#include "conns.h"
#include "tests/conn_race.skel.h"

#define REPEAT 20000u
#define ROUNDS 10u

struct race {
	struct conn_race_bpf *skel;
	int conns_fd;
};

static int race_setup(void **state)
{
	struct race *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	r->skel = conn_race_bpf__open();
	if (!r->skel || bpf_map__set_max_entries(r->skel->maps.rw_conns, 4) ||
	    conn_race_bpf__load(r->skel)) {
		fprintf(stderr, "# loading conn_race: %s\n", strerror(errno));
		conn_race_bpf__destroy(r->skel);
		free(r);
		return -1;
	}
	r->conns_fd = bpf_map__fd(r->skel->maps.rw_conns);
	r->skel->bss->race_key.family = 4;
	r->skel->bss->race_key.addr[0] = htonl(0xc6120501); /* 198.18.5.1 */
	r->skel->bss->race_key.class_id = 1;
	*state = r;
	return 0;
}

static int race_teardown(void **state)
{
	struct race *r = *state;

	conn_race_bpf__destroy(r->skel);
	free(r);
	return 0;
}

struct worker {
	pthread_t th;
	int cpu, prog_fd, err;
	unsigned int rounds;
	pthread_barrier_t *start;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t frame[64] = { 0 };
	uint32_t ret;

	pthread_barrier_wait(w->start);
	for (unsigned int i = 0; i < w->rounds && !w->err; i++)
		w->err = fx_run_raw(w->prog_fd, frame, sizeof(frame), REPEAT, &ret);
	return NULL;
}

/* Runs progs[i % n] on a thread pinned to the i-th usable CPU, all at once. */
static void race(const int *prog_fds, unsigned int n, unsigned int threads)
{
	struct worker w[CPU_SETSIZE];
	pthread_barrier_t start;
	cpu_set_t allowed;
	unsigned int t = 0;

	assert_int_equal(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	assert_int_equal(pthread_barrier_init(&start, NULL, threads), 0);
	for (int cpu = 0; cpu < CPU_SETSIZE && t < threads; cpu++) {
		pthread_attr_t attr;
		cpu_set_t one;

		if (!CPU_ISSET(cpu, &allowed))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		w[t] = (struct worker){ .cpu = cpu, .prog_fd = prog_fds[t % n],
					.rounds = ROUNDS, .start = &start };
		pthread_attr_init(&attr);
		pthread_attr_setaffinity_np(&attr, sizeof(one), &one);
		assert_int_equal(pthread_create(&w[t].th, &attr, worker_main, &w[t]), 0);
		pthread_attr_destroy(&attr);
		t++;
	}
	/* Fewer CPUs than threads: the rest would wait at the barrier forever. */
	assert_int_equal(t, threads);
	for (unsigned int i = 0; i < t; i++) {
		pthread_join(w[i].th, NULL);
		assert_int_equal(w[i].err, 0);
	}
	pthread_barrier_destroy(&start);
}

static unsigned int usable_cpus(void)
{
	cpu_set_t allowed;

	assert_int_equal(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	return (unsigned int)CPU_COUNT(&allowed);
}

static void assert_nothing_failed(struct race *r)
{
	for (int e = 0; e < RW_CONN_EVENT_MAX; e++)
		if (r->skel->bss->failed[e])
			print_error("%s: %llu\n", conn_event_name(e),
				    (unsigned long long)r->skel->bss->failed[e]);
	for (int e = 0; e < RW_CONN_EVENT_MAX; e++)
		assert_int_equal(r->skel->bss->failed[e], 0);
}

/* The key's count, or `absent` when it has no entry. */
static bool key_word(struct race *r, uint64_t *word)
{
	return bpf_map_lookup_elem(r->conns_fd, &r->skel->bss->race_key, word) == 0;
}

/* Every CPU opens and closes on one key: the entry is made and deleted
 * all the time, and must be gone at the end. */
static void test_flips_from_every_cpu_end_at_zero(void **state)
{
	struct race *r = *state;
	int fd = bpf_program__fd(r->skel->progs.conn_flip);
	uint64_t word;

	assert_true(usable_cpus() >= 2);
	race(&fd, 1, usable_cpus());
	assert_nothing_failed(r);
	assert_false(key_word(r, &word));
}

/* One CPU only opens, another only closes, as many: counts go below zero
 * and back while entries are made and retired; the net is zero. */
static void test_opens_racing_closes_net_to_zero(void **state)
{
	struct race *r = *state;
	int fds[2] = { bpf_program__fd(r->skel->progs.conn_open),
		       bpf_program__fd(r->skel->progs.conn_close) };
	uint64_t word;

	assert_true(usable_cpus() >= 2);
	race(fds, 2, 2);
	assert_nothing_failed(r);
	assert_false(key_word(r, &word));
}

/* Opens on every CPU at once: the count is exactly how many ran. */
static void test_opens_from_every_cpu_all_count(void **state)
{
	struct race *r = *state;
	int fd = bpf_program__fd(r->skel->progs.conn_open);
	uint64_t word;

	race(&fd, 1, usable_cpus());
	assert_nothing_failed(r);
	assert_true(key_word(r, &word));
	assert_int_equal(rw_conn_state(word), RW_CONN_LIVE);
	assert_int_equal(rw_conn_open(word), (int64_t)usable_cpus() * ROUNDS * REPEAT);
}

/* A full table refuses a new key and says so; the count is not stored. */
static void test_full_table_refuses_new_keys(void **state)
{
	struct race *r = *state;
	int fd = bpf_program__fd(r->skel->progs.conn_open);
	uint8_t frame[64] = { 0 };
	uint64_t one = rw_conn_word(RW_CONN_LIVE, 1), word;
	struct rw_src_key k = r->skel->bss->race_key;
	uint32_t ret;

	for (int i = 0; i < 4; i++) {
		k.addr[0] = htonl(0xc6120600 + i);
		assert_int_equal(bpf_map_update_elem(r->conns_fd, &k, &one, BPF_NOEXIST), 0);
	}
	assert_int_equal(fx_run_raw(fd, frame, sizeof(frame), 3, &ret), 0);
	assert_int_equal(r->skel->bss->failed[RW_CONN_TABLE_FULL], 3);
	assert_false(key_word(r, &word));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flips_from_every_cpu_end_at_zero, race_setup,
						race_teardown),
		cmocka_unit_test_setup_teardown(test_opens_racing_closes_net_to_zero, race_setup,
						race_teardown),
		cmocka_unit_test_setup_teardown(test_opens_from_every_cpu_all_count, race_setup,
						race_teardown),
		cmocka_unit_test_setup_teardown(test_full_table_refuses_new_keys, race_setup,
						race_teardown),
	};

	(void)argc;
	if (fx_require_root(argv[0]))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
