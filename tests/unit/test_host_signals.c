// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * /proc/stat and netstat parsing on fixed texts with numbers worked out by
 * hand, and one real read of each, which must succeed on any Linux host.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <cmocka.h>

#include "host_cpu.h"
#include "listen_stats.h"

static void test_cpu_parse(void **state)
{
	struct cpu_times t;

	(void)state;
	/* user nice system idle iowait irq softirq steal guest guest_nice: the
	 * guest columns are already inside user and nice, so not added again */
	assert_int_equal(host_cpu_parse("cpu  100 20 30 400 50 6 7 8 90 10\n"
					"cpu0 50 10 15 200 25 3 3 4 45 5\n", &t), 0);
	assert_int_equal(t.total, 100 + 20 + 30 + 400 + 50 + 6 + 7 + 8);
	assert_int_equal(t.idle, 400 + 50);
	/* an old kernel's four columns */
	assert_int_equal(host_cpu_parse("cpu 1 2 3 4\n", &t), 0);
	assert_int_equal(t.total, 10);
	assert_int_equal(t.idle, 4);
	assert_int_equal(host_cpu_parse("cpu0 1 2 3 4\n", &t), -EINVAL);
	assert_int_equal(host_cpu_parse("cpu 1 2\n", &t), -EINVAL);
	assert_int_equal(host_cpu_parse("", &t), -EINVAL);
}

static void test_cpu_busy(void **state)
{
	struct cpu_times a = { .total = 1000, .idle = 600 };
	struct cpu_times b = { .total = 1400, .idle = 700 }; /* 400 ticks, 100 idle */
	struct cpu_times c = { .total = 1400, .idle = 1100 }; /* 500 idle of 400 */

	(void)state;
	assert_true(fabs(host_cpu_busy(&a, &b) - 0.75) < 1e-12);
	assert_true(isnan(host_cpu_busy(&a, &a))); /* no tick passed */
	assert_true(isnan(host_cpu_busy(&b, &a)));
	/* more idle than ticks: read skew, not negative busy */
	assert_true(host_cpu_busy(&a, &c) == 0);
}

static const char netstat[] =
	"TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops TCPHPHits\n"
	"TcpExt: 1 2 37 41 99\n"
	"IpExt: InNoRoutes InTruncatedPkts\n"
	"IpExt: 0 0\n"
	"MPTcpExt: MPCapableSYNRX\n"
	"MPTcpExt: 5\n";

static void test_netstat_parse(void **state)
{
	struct listen_stats s;

	(void)state;
	assert_int_equal(listen_stats_parse(netstat, &s), 0);
	assert_int_equal(s.overflows, 37);
	assert_int_equal(s.drops, 41);
	/* columns in another order, TcpExt not first */
	assert_int_equal(listen_stats_parse("IpExt: A\nIpExt: 3\n"
					    "TcpExt: ListenDrops X ListenOverflows\n"
					    "TcpExt: 18446744073709551615 7 5\n", &s), 0);
	assert_int_equal(s.overflows, 5);
	assert_true(s.drops == UINT64_MAX);
	/* a counter missing, a value missing, no values line, no TcpExt */
	assert_int_equal(listen_stats_parse("TcpExt: ListenDrops\nTcpExt: 3\n", &s), -EINVAL);
	assert_int_equal(listen_stats_parse("TcpExt: ListenDrops ListenOverflows\nTcpExt: 3\n", &s),
			 -EINVAL);
	assert_int_equal(listen_stats_parse("TcpExt: ListenDrops ListenOverflows\n", &s), -EINVAL);
	assert_int_equal(listen_stats_parse("MPTcpExt: ListenDrops ListenOverflows\nMPTcpExt: 1 2\n",
					    &s), -EINVAL);
	assert_int_equal(listen_stats_parse("TcpExt: ListenDrops ListenOverflows\nTcpExt: 1 x\n", &s),
			 -EINVAL);
}

static void test_real_reads(void **state)
{
	struct cpu_times a, b;
	struct listen_stats s;

	(void)state;
	assert_int_equal(host_cpu_read(&a), 0);
	assert_true(a.total > 0 && a.idle <= a.total);
	assert_int_equal(host_cpu_read(&b), 0);
	assert_true(b.total >= a.total);
	assert_int_equal(listen_stats_read(&s), 0);
	/* every drop at a listener is counted in ListenDrops, overflows too */
	assert_true(s.drops >= s.overflows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_parse),
		cmocka_unit_test(test_cpu_busy),
		cmocka_unit_test(test_netstat_parse),
		cmocka_unit_test(test_real_reads),
	};

	return cmocka_run_group_tests_name("unit_host_signals", tests, NULL, NULL);
}
