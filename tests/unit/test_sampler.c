// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The sampler thread against a gateway of the test's own, in a network
 * namespace of the test (unshare) so nothing of the host is touched:
 * libmicrohttpd serves /healthz and /metrics on 127.0.0.1 with answers the
 * tests change, listeners with handshaken but unaccepted clients stand in
 * for the gateway's accept queue, and a second namespace, held by a helper
 * thread, is what the sampler joins through netns. Intervals are 100 ms;
 * time is only ever checked against generous bounds.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <microhttpd.h>
#include <cmocka.h>

#include "clocks.h"
#include "private_netns.h"
#include "sampler.h"

#define INTERVAL_MS 100
#define TIMEOUT_MS 60
/* room for a loaded machine: never a tight bound on time */
#define SLACK_MS 1000

#define EPS 1e-6
#define assert_near(a, b)                                                            \
	do {                                                                         \
		double a_ = (a), b_ = (b);                                           \
		if (!(fabs(a_ - b_) <= EPS))                                         \
			fail_msg("%s is %.12g, want %.12g", #a, a_, b_);             \
	} while (0)

/* What the fake gateway answers; the tests change it between samples. */
static struct {
	pthread_mutex_t lock;
	unsigned int health_status;
	unsigned int health_delay_ms;
	unsigned int metrics_status;
	char metrics[4096];
	bool metrics_huge; /* answer 5 MiB of comments instead */
} gw = { .lock = PTHREAD_MUTEX_INITIALIZER, .health_status = 200, .metrics_status = 200 };

static struct MHD_Daemon *httpd;
static uint16_t http_port;
static char health_url[128], metrics_url[128];

/* the second namespace's holder */
static struct {
	pthread_t thread;
	pid_t tid;
	int release[2]; /* the thread leaves its namespace when this pipe closes */
	uint16_t port;
	int listener, clients[2];
	int err;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ready;
} other = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void set_health(unsigned int status, unsigned int delay_ms)
{
	pthread_mutex_lock(&gw.lock);
	gw.health_status = status;
	gw.health_delay_ms = delay_ms;
	pthread_mutex_unlock(&gw.lock);
}

static void set_metrics(unsigned int status, const char *body)
{
	pthread_mutex_lock(&gw.lock);
	gw.metrics_status = status;
	snprintf(gw.metrics, sizeof(gw.metrics), "%s", body);
	pthread_mutex_unlock(&gw.lock);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **con_cls)
{
	struct MHD_Response *r;
	unsigned int status = 404, delay = 0;
	char body[4096] = "not found\n";
	enum MHD_Result ret;
	bool huge = false;

	(void)cls, (void)method, (void)version, (void)upload, (void)upload_len, (void)con_cls;
	pthread_mutex_lock(&gw.lock);
	if (!strcmp(url, "/healthz")) {
		status = gw.health_status;
		delay = gw.health_delay_ms;
		snprintf(body, sizeof(body), "status %u\n", status);
	} else if (!strcmp(url, "/metrics")) {
		status = gw.metrics_status;
		snprintf(body, sizeof(body), "%s", gw.metrics);
		huge = gw.metrics_huge;
	}
	pthread_mutex_unlock(&gw.lock);
	if (huge) {
		size_t len = 5u << 20;
		char *big = malloc(len);

		if (!big)
			return MHD_NO;
		memset(big, '#', len);
		r = MHD_create_response_from_buffer(len, big, MHD_RESPMEM_MUST_FREE);
		if (!r) {
			free(big);
			return MHD_NO;
		}
		ret = MHD_queue_response(conn, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
	/* a thread per connection: a slow /healthz holds up nothing else */
	if (delay)
		usleep(delay * 1000);
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Holds a second namespace with a listener (backlog 5) and two clients in its queue. */
static void *other_main(void *arg)
{
	char c;
	int err = 0;

	(void)arg;
	other.tid = (pid_t)syscall(SYS_gettid);
	if (private_netns() < 0)
		err = -1;
	if (!err) {
		other.listener = loopback_socket(AF_INET, 0, 5, &other.port);
		for (int i = 0; i < 2; i++)
			other.clients[i] = other.listener < 0 ? -1 : loopback_connect(other.port);
		if (other.listener < 0 || other.clients[0] < 0 || other.clients[1] < 0)
			err = -1;
	}
	pthread_mutex_lock(&other.lock);
	other.err = err;
	other.ready = true;
	pthread_cond_signal(&other.cond);
	pthread_mutex_unlock(&other.lock);
	/* the namespace lives while this thread (and its sockets) do */
	while (read(other.release[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static int setup(void **state)
{
	uint16_t port;
	int lfd;

	(void)state;
	if (private_netns() < 0)
		return -1;
	lfd = loopback_socket(AF_INET, 0, 64, &port);
	if (lfd < 0)
		return -1;
	httpd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
				 0, NULL, NULL, on_request, NULL, MHD_OPTION_LISTEN_SOCKET, lfd,
				 MHD_OPTION_END);
	if (!httpd)
		return -1;
	http_port = port;
	snprintf(health_url, sizeof(health_url), "http://127.0.0.1:%u/healthz", port);
	snprintf(metrics_url, sizeof(metrics_url), "http://127.0.0.1:%u/metrics", port);

	if (pipe2(other.release, O_CLOEXEC) < 0 ||
	    pthread_create(&other.thread, NULL, other_main, NULL))
		return -1;
	pthread_mutex_lock(&other.lock);
	while (!other.ready)
		pthread_cond_wait(&other.cond, &other.lock);
	pthread_mutex_unlock(&other.lock);
	return other.err;
}

static int teardown(void **state)
{
	(void)state;
	close(other.release[1]);
	pthread_join(other.thread, NULL);
	MHD_stop_daemon(httpd);
	return 0;
}

static void base_config(struct sampler_config *c)
{
	memset(c, 0, sizeof(*c));
	c->interval_ms = INTERVAL_MS;
	c->health_timeout_ms = TIMEOUT_MS;
	c->metrics_timeout_ms = TIMEOUT_MS;
	c->quantile = 0.95;
	c->latency_to_ms = 1000;
}

static struct sampler *start(const struct sampler_config *c)
{
	struct sampler *s = NULL;

	assert_int_equal(sampler_start(&s, c), 0);
	assert_non_null(s);
	return s;
}

/* The next sample, as the daemon's loop would get it: poll, then take. */
static void next_sample(struct sampler *s, struct signal_sample *out)
{
	uint64_t deadline = monotonic_ns() + (uint64_t)(INTERVAL_MS + TIMEOUT_MS + SLACK_MS) * 1000000;
	struct pollfd p = { .fd = sampler_fd(s), .events = POLLIN };

	for (;;) {
		int64_t left = (int64_t)(deadline - monotonic_ns()) / 1000000;

		if (left <= 0)
			fail_msg("no sample within %d ms", INTERVAL_MS + TIMEOUT_MS + SLACK_MS);
		if (poll(&p, 1, (int)left) > 0 && sampler_take(s, out))
			return;
	}
}

static void test_health_ok_then_503(void **state)
{
	struct sampler_config c;
	struct signal_sample x;
	struct sampler *s;
	int i;

	(void)state;
	set_health(200, 0);
	base_config(&c);
	snprintf(c.health_url, sizeof(c.health_url), "%s", health_url);
	c.cpu = true;
	c.netstat = true;
	s = start(&c);

	next_sample(s, &x);
	assert_int_equal(x.seq, 1);
	assert_int_equal(x.health, SIGNAL_HEALTH_OK);
	assert_int_equal(x.health_status, 200);
	assert_true(x.probe_ms >= 0 && x.probe_ms <= TIMEOUT_MS);
	assert_string_equal(x.health_error, "");
	assert_true(x.at_ns > 0 && x.at_ns <= monotonic_ns());
	/* deltas need two reads */
	assert_true(isnan(x.cpu));
	assert_string_equal(x.cpu_error, "cpu: first sample");
	assert_int_equal(x.listen_drops, -1);
	assert_string_equal(x.netstat_error, "netstat: first sample");
	/* not configured: unknown, and no error */
	assert_true(isnan(x.latency_ms) && isnan(x.error_ratio) && isnan(x.requests));
	assert_string_equal(x.scrape_error, "");
	assert_int_equal(x.queue_depth, -1);
	assert_int_equal(x.queue_backlog, -1);
	assert_string_equal(x.queue_error, "");

	next_sample(s, &x);
	assert_int_equal(x.seq, 2);
	assert_int_equal(x.health, SIGNAL_HEALTH_OK);
	assert_true(x.cpu >= 0 && x.cpu <= 1);
	assert_string_equal(x.cpu_error, "");
	assert_true(x.listen_drops == 0); /* nothing overflows in this namespace */
	assert_string_equal(x.netstat_error, "");

	set_health(503, 0);
	/* a sample already under way may still see 200 */
	for (i = 0; i < 3; i++) {
		next_sample(s, &x);
		if (x.health == SIGNAL_HEALTH_FAILED)
			break;
	}
	for (int k = 0; k < 2; k++) {
		assert_int_equal(x.health, SIGNAL_HEALTH_FAILED);
		assert_int_equal(x.health_status, 503);
		assert_true(isnan(x.probe_ms));
		assert_string_equal(x.health_error, "health: HTTP 503");
		next_sample(s, &x);
	}
	set_health(200, 0);
	sampler_stop(s);
}

static void test_refused_probe(void **state)
{
	struct sampler_config c;
	struct signal_sample x;
	struct sampler *s;
	uint16_t port;
	char want[1100];
	int idle = loopback_socket(AF_INET, 0, -1, &port); /* bound, never listening: refused */

	(void)state;
	assert_true(idle >= 0);
	base_config(&c);
	snprintf(c.health_url, sizeof(c.health_url), "http://127.0.0.1:%u/healthz", port);
	s = start(&c);
	next_sample(s, &x);
	sampler_stop(s);
	close(idle);
	assert_int_equal(x.health, SIGNAL_HEALTH_FAILED);
	assert_int_equal(x.health_status, 0);
	assert_true(isnan(x.probe_ms));
	/* curl's words for it, then the address */
	assert_true(strncmp(x.health_error, "health: ", 8) == 0);
	snprintf(want, sizeof(want), "(%s)", c.health_url);
	assert_non_null(strstr(x.health_error, want));
}

static void test_slow_probe_times_out(void **state)
{
	struct sampler_config c;
	struct signal_sample x;
	struct sampler *s;
	char want[1100];
	uint64_t t0, took_ms;

	(void)state;
	set_health(200, 5 * TIMEOUT_MS);
	base_config(&c);
	snprintf(c.health_url, sizeof(c.health_url), "%s", health_url);
	t0 = monotonic_ns();
	s = start(&c);
	next_sample(s, &x);
	took_ms = (monotonic_ns() - t0) / 1000000;
	assert_true(took_ms < INTERVAL_MS + TIMEOUT_MS + SLACK_MS);
	assert_int_equal(x.health, SIGNAL_HEALTH_FAILED);
	assert_true(isnan(x.probe_ms));
	snprintf(want, sizeof(want), "health: timeout after %d ms (%s)", TIMEOUT_MS, health_url);
	assert_string_equal(x.health_error, want);

	/* stopping in the middle of a probe waits for that probe at most */
	usleep(INTERVAL_MS * 1000 + 20 * 1000);
	t0 = monotonic_ns();
	sampler_stop(s);
	took_ms = (monotonic_ns() - t0) / 1000000;
	assert_true(took_ms < INTERVAL_MS + TIMEOUT_MS + SLACK_MS);
	set_health(200, 0);
}

/* Per-bucket increases 40/30/20/6/4 and 200 requests, 40 of them 5xx, from A to B. */
static const char scrape_a[] =
	"# HELP gw_request_duration_seconds Time to answer.\n"
	"# TYPE gw_request_duration_seconds histogram\n"
	"gw_request_duration_seconds_bucket{route=\"/a\",le=\"0.05\"} 10\n"
	"gw_request_duration_seconds_bucket{le=\"0.1\",route=\"/a\"} 20\n"
	"gw_request_duration_seconds_bucket{route=\"/a\",le=\"0.25\"} 25\n"
	"gw_request_duration_seconds_bucket{route=\"/a\",le=\"0.5\"} 26\n"
	"gw_request_duration_seconds_bucket{route=\"/a\",le=\"+Inf\"} 26\n"
	"gw_request_duration_seconds_count{route=\"/a\"} 26\n"
	"gw_request_duration_seconds_bucket{route=\"/b\",le=\"0.05\"} 20\n"
	"gw_request_duration_seconds_bucket{route=\"/b\",le=\"0.1\"} 25\n"
	"gw_request_duration_seconds_bucket{route=\"/b\",le=\"0.25\"} 35\n"
	"gw_request_duration_seconds_bucket{route=\"/b\",le=\"0.5\"} 37\n"
	"gw_request_duration_seconds_bucket{route=\"/b\",le=\"+Inf\"} 38\n"
	"gw_request_duration_seconds_count{route=\"/b\"} 38\n"
	"gw_requests_total{code=\"200\"} 1000\n"
	"gw_requests_total{code=\"503\"} 40\n"
	"gw_requests_total{code=\"500\"} 10\n";

static const char scrape_b[] =
	"gw_request_duration_seconds_bucket{route=\"/a\",le=\"0.05\"} 50\n"
	"gw_request_duration_seconds_bucket{le=\"0.1\",route=\"/a\"} 90\n"
	"gw_request_duration_seconds_bucket{route=\"/a\",le=\"0.25\"} 115\n"
	"gw_request_duration_seconds_bucket{route=\"/a\",le=\"0.5\"} 122\n"
	"gw_request_duration_seconds_bucket{route=\"/a\",le=\"+Inf\"} 126\n"
	"gw_request_duration_seconds_count{route=\"/a\"} 126\n"
	"gw_request_duration_seconds_bucket{route=\"/b\",le=\"0.05\"} 20\n"
	"gw_request_duration_seconds_bucket{route=\"/b\",le=\"0.1\"} 25\n"
	"gw_request_duration_seconds_bucket{route=\"/b\",le=\"0.25\"} 35\n"
	"gw_request_duration_seconds_bucket{route=\"/b\",le=\"0.5\"} 37\n"
	"gw_request_duration_seconds_bucket{route=\"/b\",le=\"+Inf\"} 38\n"
	"gw_request_duration_seconds_count{route=\"/b\"} 38\n"
	"gw_requests_total{code=\"200\"} 1160\n"
	"gw_requests_total{code=\"503\"} 70\n"
	"gw_requests_total{code=\"500\"} 20\n";

static void test_scrape_quantile_and_errors(void **state)
{
	struct sampler_config c;
	struct signal_sample x;
	struct sampler *s;
	char want[1100];
	int i;

	(void)state;
	set_metrics(200, scrape_a);
	base_config(&c);
	snprintf(c.metrics_url, sizeof(c.metrics_url), "%s", metrics_url);
	snprintf(c.latency_metric, sizeof(c.latency_metric), "gw_request_duration_seconds");
	snprintf(c.requests_metric, sizeof(c.requests_metric), "gw_requests_total");
	s = start(&c);

	next_sample(s, &x);
	assert_true(isnan(x.latency_ms) && isnan(x.error_ratio) && isnan(x.requests));
	assert_string_equal(x.scrape_error, "scrape: first sample");
	assert_int_equal(x.health, SIGNAL_HEALTH_NONE);
	assert_string_equal(x.health_error, "");

	set_metrics(200, scrape_b);
	/* a scrape already under way still sees A: nothing happened then */
	for (i = 0; i < 3; i++) {
		next_sample(s, &x);
		if (!isnan(x.latency_ms))
			break;
		assert_string_equal(x.scrape_error, "scrape: no requests in the interval");
		assert_near(x.requests, 0);
	}
	/* rank 95 of 100 lies 5/6 into (0.25 s, 0.5 s]; 40 of 200 are 5xx */
	assert_near(x.latency_ms, (0.25 + 0.25 * 5.0 / 6.0) * 1000);
	assert_near(x.error_ratio, 0.2);
	assert_near(x.requests, 100); /* the histogram's count */
	assert_string_equal(x.scrape_error, "");

	/* the same again: no requests, so nothing known but the count */
	next_sample(s, &x);
	assert_true(isnan(x.latency_ms) && isnan(x.error_ratio));
	assert_near(x.requests, 0);
	assert_string_equal(x.scrape_error, "scrape: no requests in the interval");

	/* back to A: every counter went down */
	set_metrics(200, scrape_a);
	next_sample(s, &x);
	if (!strcmp(x.scrape_error, "scrape: no requests in the interval"))
		next_sample(s, &x);
	assert_string_equal(x.scrape_error, "scrape: counter reset");
	assert_true(isnan(x.latency_ms) && isnan(x.error_ratio) && isnan(x.requests));

	set_metrics(500, "oops\n");
	for (i = 0; i < 2 && strcmp(x.scrape_error, "scrape: HTTP 500"); i++)
		next_sample(s, &x);
	assert_string_equal(x.scrape_error, "scrape: HTTP 500");

	set_metrics(200, "gw_requests_total{code=\"200\"} 1010\n"
			 "gw_requests_total{code=\"503\"} 40\n"
			 "gw_requests_total{code=\"500\"} 10\n");
	for (i = 0; i < 2 && !strstr(x.scrape_error, "no histogram"); i++)
		next_sample(s, &x);
	assert_non_null(strstr(x.scrape_error, "scrape: no histogram gw_request_duration_seconds"));
	/* the counter still counts: 10 more, none of them 5xx */
	assert_near(x.requests, 10);
	assert_near(x.error_ratio, 0);

	/* more than 4 MiB is not read */
	pthread_mutex_lock(&gw.lock);
	gw.metrics_huge = true;
	pthread_mutex_unlock(&gw.lock);
	for (i = 0; i < 2 && !strstr(x.scrape_error, "larger"); i++)
		next_sample(s, &x);
	snprintf(want, sizeof(want), "scrape: body larger than 4 MiB (%s)", metrics_url);
	assert_string_equal(x.scrape_error, want);
	pthread_mutex_lock(&gw.lock);
	gw.metrics_huge = false;
	pthread_mutex_unlock(&gw.lock);
	sampler_stop(s);
}

static void test_accept_queue_depth(void **state)
{
	struct sampler_config c;
	struct signal_sample x;
	struct sampler *s;
	uint16_t port, idle_port;
	int lfd = loopback_socket(AF_INET, 0, 16, &port);
	int idle = loopback_socket(AF_INET, 0, -1, &idle_port), cl[3];
	char want[64];
	int i;

	(void)state;
	assert_true(lfd >= 0 && idle >= 0);
	for (i = 0; i < 3; i++)
		assert_true((cl[i] = loopback_connect(port)) >= 0);
	base_config(&c);
	c.ports[0] = port;
	c.n_ports = 1;
	s = start(&c);
	/* the last ACK of each handshake lands a moment after connect() */
	for (i = 0; i < 10; i++) {
		next_sample(s, &x);
		if (x.queue_depth == 3)
			break;
	}
	assert_int_equal(x.queue_depth, 3);
	assert_int_equal(x.queue_backlog, 16);
	assert_string_equal(x.queue_error, "");

	/* a port nothing listens on: unknown, and said */
	c.ports[0] = idle_port;
	assert_int_equal(sampler_reconfigure(s, &c), 0);
	for (i = 0; i < 3 && x.queue_depth != -1; i++)
		next_sample(s, &x);
	assert_int_equal(x.queue_depth, -1);
	assert_int_equal(x.queue_backlog, -1);
	snprintf(want, sizeof(want), "queue: no listener on port %u", idle_port);
	assert_string_equal(x.queue_error, want);
	sampler_stop(s);
	for (i = 0; i < 3; i++)
		close(cl[i]);
	close(idle);
	close(lfd);
}

static void test_netns(void **state)
{
	struct sampler_config c;
	struct signal_sample x;
	struct sampler *s;
	uint16_t port;
	int here, i;

	(void)state;
	/* the same port here, with a different backlog and nobody queued */
	here = loopback_socket(AF_INET, other.port, 7, &port);
	assert_true(here >= 0);
	base_config(&c);
	c.ports[0] = other.port;
	c.n_ports = 1;
	snprintf(c.netns, sizeof(c.netns), "/proc/self/task/%d/ns/net", (int)other.tid);
	s = start(&c);
	for (i = 0; i < 10; i++) {
		next_sample(s, &x);
		if (x.queue_depth == 2)
			break;
	}
	assert_int_equal(x.queue_depth, 2);
	assert_int_equal(x.queue_backlog, 5);

	/* namespaces that cannot be joined leave the sampler where it was */
	snprintf(c.netns, sizeof(c.netns), "/nonexistent/netns");
	assert_int_equal(sampler_reconfigure(s, &c), -ENOENT);
	snprintf(c.netns, sizeof(c.netns), "/etc/hostname");
	assert_int_equal(sampler_reconfigure(s, &c), -EINVAL);
	next_sample(s, &x);
	next_sample(s, &x);
	assert_int_equal(x.queue_depth, 2);
	assert_int_equal(x.queue_backlog, 5);

	/* "" is the daemon's own namespace again: the listener here */
	c.netns[0] = '\0';
	assert_int_equal(sampler_reconfigure(s, &c), 0);
	for (i = 0; i < 3 && x.queue_backlog != 7; i++)
		next_sample(s, &x);
	assert_int_equal(x.queue_depth, 0);
	assert_int_equal(x.queue_backlog, 7);
	sampler_stop(s);
	close(here);
}

static void test_bad_netns_at_start(void **state)
{
	struct sampler_config c;
	struct sampler *s = (struct sampler *)&c;

	(void)state;
	base_config(&c);
	snprintf(c.netns, sizeof(c.netns), "/nonexistent/netns");
	assert_int_equal(sampler_start(&s, &c), -ENOENT);
	assert_null(s);
	/* a file, but not a namespace: fails at the join */
	snprintf(c.netns, sizeof(c.netns), "/etc/hostname");
	assert_int_equal(sampler_start(&s, &c), -EINVAL);
	assert_null(s);
	c.netns[0] = '\0';
	c.interval_ms = 0;
	assert_int_equal(sampler_start(&s, &c), -EINVAL);
	sampler_stop(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health_ok_then_503),
		cmocka_unit_test(test_refused_probe),
		cmocka_unit_test(test_slow_probe_times_out),
		cmocka_unit_test(test_scrape_quantile_and_errors),
		cmocka_unit_test(test_accept_queue_depth),
		cmocka_unit_test(test_netns),
		cmocka_unit_test(test_bad_netns_at_start),
	};

	return cmocka_run_group_tests_name("unit_sampler", tests, setup, teardown);
}
