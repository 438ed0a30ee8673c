// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The exposition parser on scrape bodies written by hand (labels in any
 * order, escaped quotes, comments, timestamps, several label sets), and the
 * interval quantile and 5xx ratio against values worked out on paper.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "prom_text.h"

#define EPS 1e-9

/* cmocka's float assert rounds to float; these are doubles */
#define assert_near(a, b, eps)                                                       \
	do {                                                                         \
		double a_ = (a), b_ = (b);                                           \
		if (!(fabs(a_ - b_) <= (eps)))                                       \
			fail_msg("%s is %.12g, want %.12g", #a, a_, b_);             \
	} while (0)

/*
 * Two label sets of one histogram, their buckets and _count summed:
 * route="/a" has per-bucket increases 10/10/5/1/0 (cumulative 10 20 25 26 26),
 * route="/b" 20/5/10/2/1 (cumulative 20 25 35 37 38). Sum: 30 45 60 63 64.
 */
static const char scrape_a[] =
	"# HELP gw_request_duration_seconds Time to answer.\n"
	"# TYPE gw_request_duration_seconds histogram\n"
	"gw_request_duration_seconds_bucket{route=\"/a\",le=\"0.05\"} 10\n"
	"gw_request_duration_seconds_bucket{le=\"0.1\",route=\"/a\"} 20\n"
	"gw_request_duration_seconds_bucket{route=\"/a\", le=\"0.25\" } 25 1700000000000\n"
	"gw_request_duration_seconds_bucket{route=\"/a\",le=\"0.5\",} 26\n"
	"gw_request_duration_seconds_bucket{route=\"/a\",le=\"+Inf\"} 26\n"
	"gw_request_duration_seconds_sum{route=\"/a\"} 3.5\n"
	"gw_request_duration_seconds_count{route=\"/a\"} 26\n"
	/* a quote, a backslash and a brace in a label value must not end the labels */
	"gw_request_duration_seconds_bucket{route=\"/b \\\"q\\\" \\\\ }\",le=\"0.05\"} 20\n"
	"gw_request_duration_seconds_bucket{le=\"0.1\",route=\"/b \\\"q\\\" \\\\ }\"} 25\n"
	"gw_request_duration_seconds_bucket{le=\"0.25\",route=\"/b \\\"q\\\" \\\\ }\"} 35\n"
	"gw_request_duration_seconds_bucket{le=\"0.5\",route=\"/b \\\"q\\\" \\\\ }\"} 37\n"
	"gw_request_duration_seconds_bucket{le=\"+Inf\",route=\"/b \\\"q\\\" \\\\ }\"} 38\n"
	"gw_request_duration_seconds_count{route=\"/b \\\"q\\\" \\\\ }\"} 38\n"
	"\n"
	"# a metric whose name starts like ours is not ours\n"
	"gw_request_duration_seconds_bucket_other{le=\"0.1\"} 1000\n"
	"gw_requests_total_created 1.7e9\n"
	"# TYPE gw_requests_total counter\n"
	"gw_requests_total{code=\"200\",method=\"GET\"} 1000\n"
	"gw_requests_total{method=\"POST\",code=\"503\"} 40\n"
	"gw_requests_total{code=\"500\"} 10 1700000000000\n"
	"gw_requests_total{code=\"404\"} 50\n"
	"gw_responses{status=\"502\",path=\"/x\"} 7\r\n"
	"gw_responses{path=\"/x\",status=\"201\"} 93\r\n"
	"odd_metric NaN\n"
	"other_metric +Inf\n"
	"# EOF\n";

/*
 * Later: the two label sets merged into one with increases over scrape_a of
 * 40/30/20/6/4 per bucket (cumulative increase 40 70 90 96 100):
 *   p95: rank 95 in (0.25, 0.5], 5 of that bucket's 6 -> 0.25 + 0.25 * 5/6
 *   p50: rank 50 in (0.05, 0.1], 50 - 40 = 10 of its 30 -> 0.05 + 0.05 * 10/30
 * and counters up by 200: 160 2xx (+150 on 200 and +10 on a new 201),
 * 30 on 503, 10 on 500: 40/200 = 0.2.
 */
static const char scrape_b[] =
	"gw_request_duration_seconds_bucket{le=\"0.05\"} 70\n"
	"gw_request_duration_seconds_bucket{le=\"0.1\"} 115\n"
	"gw_request_duration_seconds_bucket{le=\"0.25\"} 150\n"
	"gw_request_duration_seconds_bucket{le=\"0.5\"} 159\n"
	"gw_request_duration_seconds_bucket{le=\"+Inf\"} 164\n"
	"gw_request_duration_seconds_count 164\n"
	"gw_requests_total{code=\"200\",method=\"GET\"} 1150\n"
	"gw_requests_total{code=\"201\",method=\"GET\"} 10\n"
	"gw_requests_total{method=\"POST\",code=\"503\"} 70\n"
	"gw_requests_total{code=\"500\"} 20\n"
	"gw_requests_total{code=\"404\"} 50\n";

static const double bounds[] = { 0.05, 0.1, 0.25, 0.5, INFINITY };

static void test_histogram_summed_over_label_sets(void **state)
{
	static const double cum[] = { 30, 45, 60, 63, 64 };
	struct prom_histogram h;
	char err[128] = "";

	(void)state;
	assert_int_equal(prom_histogram_parse(scrape_a, "gw_request_duration_seconds", &h, err,
					      sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(h.n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_true(h.le[i] == bounds[i]);
		assert_near(h.cum[i], cum[i], EPS);
	}
	assert_near(h.count, 64, EPS);
}

static void test_counter_and_its_5xx(void **state)
{
	struct prom_counter c;

	(void)state;
	assert_int_equal(prom_counter_parse(scrape_a, "gw_requests_total", &c, NULL, 0), 0);
	assert_int_equal(c.series, 4);
	assert_near(c.total, 1100, EPS);
	assert_near(c.errors, 50, EPS);
	/* no code label: status decides; CRLF line ends are fine */
	assert_int_equal(prom_counter_parse(scrape_a, "gw_responses", &c, NULL, 0), 0);
	assert_int_equal(c.series, 2);
	assert_near(c.total, 100, EPS);
	assert_near(c.errors, 7, EPS);
	/* the name is matched as given: no _total added or removed */
	assert_int_equal(prom_counter_parse(scrape_a, "gw_requests", &c, NULL, 0), -ENOENT);
	/* NaN and +Inf are values */
	assert_int_equal(prom_counter_parse(scrape_a, "odd_metric", &c, NULL, 0), 0);
	assert_true(isnan(c.total));
	assert_int_equal(prom_counter_parse(scrape_a, "other_metric", &c, NULL, 0), 0);
	assert_true(isinf(c.total) && c.total > 0);
}

static void test_missing_and_malformed(void **state)
{
	struct prom_histogram h;
	struct prom_counter c;
	char err[128];

	(void)state;
	assert_int_equal(prom_histogram_parse(scrape_a, "gw_latency", &h, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "no histogram gw_latency");
	assert_int_equal(prom_counter_parse("# only a comment\n", "gw_requests_total", &c, err,
					    sizeof(err)), -ENOENT);
	assert_string_equal(err, "no counter gw_requests_total");
	/* a broken line of the metric fails, naming the line */
	assert_int_equal(prom_counter_parse("a 1\nx{code=\"200\" 5\n", "x", &c, err, sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err, "line 2: bad label");
	assert_int_equal(prom_counter_parse("x{code=\"2} 5\n", "x", &c, err, sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err, "line 1: unterminated label value");
	assert_int_equal(prom_counter_parse("x 5 12 junk\n", "x", &c, err, sizeof(err)), -EBADMSG);
	assert_int_equal(prom_counter_parse("x five\n", "x", &c, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "line 1: bad value");
	/* while a broken line of another metric does not matter */
	assert_int_equal(prom_counter_parse("y{ 5\nx 5\n", "x", &c, err, sizeof(err)), 0);
	assert_near(c.total, 5, EPS);
	assert_int_equal(prom_histogram_parse("h_bucket{a=\"1\"} 5\n", "h", &h, err, sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err, "line 1: bucket without le");
	assert_int_equal(prom_histogram_parse("h_bucket{le=\"1\"} 5\n", "h", &h, err, sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err, "no +Inf bucket in h");
	/* more bounds than kept */
	{
		static char many[PROM_MAX_BUCKETS * 32 + 64];
		size_t len = 0;

		for (int i = 0; i <= PROM_MAX_BUCKETS; i++)
			len += (size_t)snprintf(many + len, sizeof(many) - len,
						"h_bucket{le=\"%d\"} 1\n", i);
		assert_int_equal(prom_histogram_parse(many, "h", &h, err, sizeof(err)), -E2BIG);
		assert_string_equal(err, "line 129: too many buckets");
	}
	/* without +Inf, _count stands for it */
	assert_int_equal(prom_histogram_parse("h_bucket{le=\"1\"} 5\nh_count 8\n", "h", &h, err,
					      sizeof(err)), 0);
	assert_int_equal(h.n, 2);
	assert_true(isinf(h.le[1]));
	assert_near(h.cum[1], 8, EPS);
}

static void parse_both(struct prom_histogram *a, struct prom_histogram *b)
{
	assert_int_equal(prom_histogram_parse(scrape_a, "gw_request_duration_seconds", a, NULL, 0), 0);
	assert_int_equal(prom_histogram_parse(scrape_b, "gw_request_duration_seconds", b, NULL, 0), 0);
}

static void test_quantile_over_the_increase(void **state)
{
	struct prom_histogram a, b;
	double v, n;

	(void)state;
	parse_both(&a, &b);
	assert_int_equal(prom_quantile_delta(&a, &b, 0.95, 1000, &v, &n), PROM_DELTA_OK);
	assert_near(v, (0.25 + 0.25 * 5.0 / 6.0) * 1000, 1e-6); /* 458.333 ms */
	assert_near(n, 100, EPS);
	assert_int_equal(prom_quantile_delta(&a, &b, 0.5, 1000, &v, NULL), PROM_DELTA_OK);
	assert_near(v, (0.05 + 0.05 * 10.0 / 30.0) * 1000, 1e-6); /* 66.667 ms */
	/* in the first bucket the interpolation starts at 0: rank 20 of 40 */
	assert_int_equal(prom_quantile_delta(&a, &b, 0.2, 1, &v, NULL), PROM_DELTA_OK);
	assert_near(v, 0.025, EPS);
	/* the rank on a bound gives the bound: 90 is all of the first three */
	assert_int_equal(prom_quantile_delta(&a, &b, 0.9, 1, &v, NULL), PROM_DELTA_OK);
	assert_near(v, 0.25, EPS);
}

static void test_quantile_in_the_inf_bucket(void **state)
{
	struct prom_histogram a, b;
	double v;

	(void)state;
	parse_both(&a, &b);
	/* rank 99 of 100 is past the 96 at 0.5: the highest finite bound */
	assert_int_equal(prom_quantile_delta(&a, &b, 0.99, 1000, &v, NULL), PROM_DELTA_OK);
	assert_near(v, 500, EPS);
}

static void test_quantile_unknown(void **state)
{
	struct prom_histogram a, b, c;
	double v, n;

	(void)state;
	parse_both(&a, &b);
	/* nothing happened */
	assert_int_equal(prom_quantile_delta(&a, &a, 0.95, 1000, &v, &n), PROM_DELTA_NO_REQUESTS);
	assert_true(isnan(v));
	assert_near(n, 0, EPS);
	/* the other way round every bucket went down: a restart */
	assert_int_equal(prom_quantile_delta(&b, &a, 0.95, 1000, &v, &n), PROM_DELTA_RESET);
	assert_true(isnan(v) && isnan(n));
	/* one bucket going down is enough */
	c = b;
	c.cum[1] = a.cum[1] - 1;
	assert_int_equal(prom_quantile_delta(&a, &c, 0.95, 1000, &v, NULL), PROM_DELTA_RESET);
	assert_string_equal(prom_delta_text(PROM_DELTA_RESET), "counter reset");
	/* and different bounds cannot be subtracted */
	c = b;
	c.le[2] = 0.3;
	assert_int_equal(prom_quantile_delta(&a, &c, 0.95, 1000, &v, NULL), PROM_DELTA_LAYOUT);
	/* a NaN count */
	c = b;
	c.cum[0] = NAN;
	assert_int_equal(prom_quantile_delta(&a, &c, 0.95, 1000, &v, NULL), PROM_DELTA_INVALID);
	assert_true(isnan(v));
}

static void test_error_ratio(void **state)
{
	struct prom_counter a, b, s1, s2;
	double r, n;

	(void)state;
	assert_int_equal(prom_counter_parse(scrape_a, "gw_requests_total", &a, NULL, 0), 0);
	assert_int_equal(prom_counter_parse(scrape_b, "gw_requests_total", &b, NULL, 0), 0);
	assert_int_equal(prom_error_ratio_delta(&a, &b, &r, &n), PROM_DELTA_OK);
	assert_near(r, 0.2, EPS);
	assert_near(n, 200, EPS);
	/* status labels: 502 up by 3 of 12 */
	assert_int_equal(prom_counter_parse("r{status=\"502\"} 1\nr{status=\"200\"} 10\n", "r", &s1,
					    NULL, 0), 0);
	assert_int_equal(prom_counter_parse("r{status=\"200\"} 19\nr{status=\"502\"} 4\n", "r", &s2,
					    NULL, 0), 0);
	assert_int_equal(prom_error_ratio_delta(&s1, &s2, &r, &n), PROM_DELTA_OK);
	assert_near(r, 0.25, EPS);
	assert_near(n, 12, EPS);
	/* code wins over status when a series has both */
	assert_int_equal(prom_counter_parse("r{status=\"500\",code=\"200\"} 4\n", "r", &s1, NULL, 0), 0);
	assert_near(s1.errors, 0, EPS);
	/* no requests, then a reset */
	assert_int_equal(prom_error_ratio_delta(&a, &a, &r, &n), PROM_DELTA_NO_REQUESTS);
	assert_true(isnan(r));
	assert_near(n, 0, EPS);
	assert_int_equal(prom_error_ratio_delta(&b, &a, &r, &n), PROM_DELTA_RESET);
	assert_true(isnan(r) && isnan(n));
	assert_string_equal(prom_delta_text(PROM_DELTA_NO_REQUESTS), "no requests in the interval");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_histogram_summed_over_label_sets),
		cmocka_unit_test(test_counter_and_its_5xx),
		cmocka_unit_test(test_missing_and_malformed),
		cmocka_unit_test(test_quantile_over_the_increase),
		cmocka_unit_test(test_quantile_in_the_inf_bucket),
		cmocka_unit_test(test_quantile_unknown),
		cmocka_unit_test(test_error_ratio),
	};

	return cmocka_run_group_tests_name("unit_prom_text", tests, NULL, NULL);
}
