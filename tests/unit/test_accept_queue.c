// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * accept_queue_read against real listeners, in a network namespace of the
 * test's own (unshare) so the host's sockets neither show up nor change:
 * an IPv4 listener with backlog 8 and three handshaken clients nobody has
 * accepted, an IPv6 one with backlog 4 and none, a port bound but not
 * listening, and one accept taking a connection off the queue.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "accept_queue.h"
#include "private_netns.h"

#define V4_BACKLOG 8
#define V6_BACKLOG 4
#define CLIENTS 3

static struct {
	int v4_listener, v6_listener, idle; /* idle: bound, never listening */
	uint16_t v4_port, v6_port, idle_port;
	int clients[CLIENTS];
} t;

static int setup(void **state)
{
	(void)state;
	if (private_netns() < 0)
		return -1;
	t.v4_listener = loopback_socket(AF_INET, 0, V4_BACKLOG, &t.v4_port);
	t.v6_listener = loopback_socket(AF_INET6, 0, V6_BACKLOG, &t.v6_port);
	t.idle = loopback_socket(AF_INET, 0, -1, &t.idle_port);
	if (t.v4_listener < 0 || t.v6_listener < 0 || t.idle < 0)
		return -1;
	for (int i = 0; i < CLIENTS; i++)
		if ((t.clients[i] = loopback_connect(t.v4_port)) < 0)
			return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < CLIENTS; i++)
		close(t.clients[i]);
	close(t.idle);
	close(t.v6_listener);
	close(t.v4_listener);
	return 0;
}

/*
 * connect() returns once the client has the SYN-ACK; the server side joins
 * the accept queue when the final ACK arrives, a moment later. Reads until
 * the depth is want, for at most 2 s, and returns the last reading.
 */
static struct accept_queue read_until_depth(const uint16_t *ports, size_t n, uint32_t want)
{
	struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };
	struct accept_queue q;

	for (int i = 0; i < 200; i++) {
		assert_int_equal(accept_queue_read(ports, n, &q), 0);
		if (q.depth == want)
			break;
		nanosleep(&tick, NULL);
	}
	return q;
}

static void test_unaccepted_clients_are_the_depth(void **state)
{
	struct accept_queue q = read_until_depth(&t.v4_port, 1, CLIENTS);

	(void)state;
	assert_int_equal(q.depth, CLIENTS);
	assert_int_equal(q.backlog, V4_BACKLOG);
	/* the three established children share the port but are not listeners */
	assert_int_equal(q.listeners, 1);
}

static void test_ipv6_listener(void **state)
{
	struct accept_queue q;

	(void)state;
	assert_int_equal(accept_queue_read(&t.v6_port, 1, &q), 0);
	assert_int_equal(q.listeners, 1);
	assert_int_equal(q.depth, 0);
	assert_int_equal(q.backlog, V6_BACKLOG);
}

static void test_both_ports_are_summed(void **state)
{
	const uint16_t ports[] = { t.v4_port, t.v6_port };
	struct accept_queue q = read_until_depth(ports, 2, CLIENTS);

	(void)state;
	assert_int_equal(q.listeners, 2);
	assert_int_equal(q.depth, CLIENTS);
	assert_int_equal(q.backlog, V4_BACKLOG + V6_BACKLOG);
}

static void test_accept_takes_one_off(void **state)
{
	struct accept_queue q;
	int fd;

	(void)state;
	fd = accept(t.v4_listener, NULL, NULL);
	assert_true(fd >= 0);
	/* the accepted socket is gone from the queue at once: no waiting */
	assert_int_equal(accept_queue_read(&t.v4_port, 1, &q), 0);
	assert_int_equal(q.depth, CLIENTS - 1);
	assert_int_equal(q.backlog, V4_BACKLOG);
	assert_int_equal(q.listeners, 1);
	close(fd);
}

static void test_no_listener(void **state)
{
	struct accept_queue q = { 1, 1, 1 };

	(void)state;
	/* bound but not listening: a closed socket, not in the dump */
	assert_int_equal(accept_queue_read(&t.idle_port, 1, &q), 0);
	assert_int_equal(q.listeners, 0);
	assert_int_equal(q.depth, 0);
	assert_int_equal(q.backlog, 0);
	/* no ports at all */
	q = (struct accept_queue){ 1, 1, 1 };
	assert_int_equal(accept_queue_read(NULL, 0, &q), 0);
	assert_int_equal(q.listeners, 0);
	assert_int_equal(q.depth, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unaccepted_clients_are_the_depth),
		cmocka_unit_test(test_ipv6_listener),
		cmocka_unit_test(test_both_ports_are_summed),
		cmocka_unit_test(test_accept_takes_one_off),
		cmocka_unit_test(test_no_listener),
	};

	return cmocka_run_group_tests_name("unit_accept_queue", tests, setup, teardown);
}
