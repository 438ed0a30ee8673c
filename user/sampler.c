// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The sampler thread. It lives in the gateway's network namespace (setns
 * changes only the calling thread's), so its HTTP sockets, the sock_diag
 * query and /proc/thread-self/net all see the gateway's side while the
 * daemon's own thread stays where it is.
 *
 * Locking: s->lock guards what the daemon's thread and the sampler share
 * (stop, the pending config, the published sample). Everything under
 * "thread only" is touched by the sampler thread alone, and `want` by the
 * API callers alone (the daemon's one thread).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "accept_queue.h"
#include "clocks.h"
#include "host_cpu.h"
#include "http_fetch.h"
#include "listen_stats.h"
#include "log.h"
#include "prom_text.h"
#include "sampler.h"

/* Ask for the classic text format: some exporters answer protobuf or
 * OpenMetrics by default to clients that say nothing. */
#define SAMPLER_ACCEPT "text/plain;version=0.0.4;q=1.0,*/*;q=0.1"

struct sampler {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC; wakes the sleeping thread to stop */
	int efd;

	/* under lock */
	bool stop;
	bool started;        /* the thread has tried its namespace */
	int start_err;
	bool has_pending;
	struct sampler_config pending;
	int pending_netns_fd; /* the pending netns, opened and tried; -1 none */
	bool fresh;          /* latest not taken yet */
	struct signal_sample latest;

	/* API callers only: the config last accepted */
	struct sampler_config want;

	/* thread only */
	struct sampler_config cfg;
	int own_netns_fd;    /* the daemon's namespace, to go back to for netns "" */
	int start_netns_fd;  /* cfg.netns at start, joined then closed */
	uint32_t seq;
	bool have_hist, have_ctr, have_cpu, have_ls;
	struct prom_histogram prev_hist;
	struct prom_counter prev_ctr;
	struct cpu_times prev_cpu;
	uint64_t prev_ls;    /* ListenDrops (it counts overflows too) */
};

/* Adds "; text" to an error string, or sets it; the same text only once
 * (the histogram and the counter can both say "first sample"). */
static void add_error(char *buf, const char *fmt, ...)
{
	char msg[SIGNAL_ERROR_MAX];
	size_t len = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strstr(buf, msg))
		return;
	snprintf(buf + len, SIGNAL_ERROR_MAX - len, "%s%s", len ? "; " : "", msg);
}

static int open_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int err = -errno;

		rw_err("cannot open network namespace %s: %s", path, strerror(-err));
		return err;
	}
	return fd;
}

static void join_error(const char *path, int err)
{
	rw_err("cannot join network namespace %s: %s", path,
	       err == -EINVAL ? "not a network namespace" : strerror(-err));
}

/* setns in a throwaway thread: tells whether the sampler could join fd
 * without moving any thread that stays. */
static void *try_join_main(void *arg)
{
	int *fd_ret = arg;

	*fd_ret = setns(*fd_ret, CLONE_NEWNET) < 0 ? -errno : 0;
	return NULL;
}

static int try_join(int fd)
{
	pthread_t t;
	int v = fd, err;

	err = pthread_create(&t, NULL, try_join_main, &v);
	if (err)
		return -err;
	pthread_join(t, NULL);
	return v;
}

static int check_config(const struct sampler_config *c)
{
	if (!c->interval_ms || c->n_ports > SAMPLER_MAX_PORTS ||
	    (c->latency_metric[0] && !(c->quantile >= 0 && c->quantile <= 1)))
		return -EINVAL;
	return 0;
}

/* The health probe's answer into the sample. */
static void take_health(const struct sampler_config *c, const struct http_result *r,
			struct signal_sample *out)
{
	out->health_status = (int)r->status;
	if (r->ok && r->status >= 200 && r->status < 300) {
		out->health = SIGNAL_HEALTH_OK;
		out->probe_ms = r->total_ms;
		return;
	}
	out->health = SIGNAL_HEALTH_FAILED;
	if (r->ok)
		add_error(out->health_error, "health: HTTP %ld", r->status);
	else
		add_error(out->health_error, "health: %s (%s)", r->error, c->health_url);
}

/* The scrape into latency, error ratio and requests; keeps it for the next delta. */
static void take_scrape(struct sampler *s, const struct http_result *r, struct signal_sample *out)
{
	const struct sampler_config *c = &s->cfg;
	char *err = out->scrape_error;
	char why[SIGNAL_ERROR_MAX];
	double requests = NAN, n;
	enum prom_delta d;

	if (!r->ok) {
		add_error(err, "scrape: %s (%s)", r->error, c->metrics_url);
		return;
	}
	if (r->status < 200 || r->status >= 300) {
		add_error(err, "scrape: HTTP %ld", r->status);
		return;
	}
	if (c->latency_metric[0]) {
		struct prom_histogram h;

		if (prom_histogram_parse(r->body, c->latency_metric, &h, why, sizeof(why)) < 0) {
			add_error(err, "scrape: %s", why);
		} else {
			if (!s->have_hist) {
				add_error(err, "scrape: first sample");
			} else {
				d = prom_quantile_delta(&s->prev_hist, &h, c->quantile,
							c->latency_to_ms, &out->latency_ms, &n);
				if (d != PROM_DELTA_OK)
					add_error(err, "scrape: %s", prom_delta_text(d));
				requests = n;
			}
			s->prev_hist = h;
			s->have_hist = true;
		}
	}
	if (c->requests_metric[0]) {
		struct prom_counter k;

		if (prom_counter_parse(r->body, c->requests_metric, &k, why, sizeof(why)) < 0) {
			add_error(err, "scrape: %s", why);
		} else {
			if (!s->have_ctr) {
				add_error(err, "scrape: first sample");
			} else {
				d = prom_error_ratio_delta(&s->prev_ctr, &k, &out->error_ratio, &n);
				if (d != PROM_DELTA_OK)
					add_error(err, "scrape: %s", prom_delta_text(d));
				/* the histogram's count when it has one: both count requests */
				if (isnan(requests))
					requests = n;
			}
			s->prev_ctr = k;
			s->have_ctr = true;
		}
	}
	out->requests = requests;
}

static void take_cpu(struct sampler *s, struct signal_sample *out)
{
	struct cpu_times t;
	int err = host_cpu_read(&t);

	if (err < 0) {
		add_error(out->cpu_error, "cpu: /proc/stat: %s", strerror(-err));
		return;
	}
	if (!s->have_cpu)
		add_error(out->cpu_error, "cpu: first sample");
	else if (isnan(out->cpu = host_cpu_busy(&s->prev_cpu, &t)))
		add_error(out->cpu_error, "cpu: no tick passed");
	s->prev_cpu = t;
	s->have_cpu = true;
}

static void take_queue(const struct sampler_config *c, struct signal_sample *out)
{
	struct accept_queue q;
	int err = accept_queue_read(c->ports, c->n_ports, &q);

	if (err < 0) {
		add_error(out->queue_error, "queue: sock_diag: %s", strerror(-err));
	} else if (!q.listeners) {
		/* nothing to measure: wrong ports or namespace, or the gateway is down */
		add_error(out->queue_error, "queue: no listener on port%s %u%s",
			  c->n_ports > 1 ? "s" : "", c->ports[0], c->n_ports > 1 ? ",..." : "");
	} else {
		out->queue_depth = q.depth;
		out->queue_backlog = q.backlog;
	}
}

static void take_netstat(struct sampler *s, struct signal_sample *out)
{
	struct listen_stats l;
	uint64_t sum;
	int err = listen_stats_read(&l);

	if (err < 0) {
		add_error(out->netstat_error, "netstat: /proc/thread-self/net/netstat: %s",
			  strerror(-err));
		return;
	}
	/* the kernel counts every overflow in ListenDrops too: drops alone count each once */
	sum = l.drops;
	if (!s->have_ls)
		add_error(out->netstat_error, "netstat: first sample");
	else if (sum < s->prev_ls)
		add_error(out->netstat_error, "netstat: counters went back");
	else
		out->listen_drops = (int64_t)(sum - s->prev_ls);
	s->prev_ls = sum;
	s->have_ls = true;
}

static void take_sample(struct sampler *s, struct signal_sample *out)
{
	const struct sampler_config *c = &s->cfg;
	struct http_request reqs[2];
	struct http_result res[2];
	int ih = -1, im = -1;
	size_t n = 0;

	signal_sample_clear(out);
	out->seq = ++s->seq;
	if (c->health_url[0]) {
		reqs[n] = (struct http_request){ c->health_url, c->health_timeout_ms, NULL };
		ih = (int)n++;
	}
	if (c->metrics_url[0]) {
		reqs[n] = (struct http_request){ c->metrics_url, c->metrics_timeout_ms,
						 SAMPLER_ACCEPT };
		im = (int)n++;
	}
	/* both at once: the sample takes the longer timeout, not the sum */
	if (n)
		http_fetch(reqs, res, n);
	if (ih >= 0)
		take_health(c, &res[ih], out);
	if (im >= 0)
		take_scrape(s, &res[im], out);
	http_results_free(res, n);
	if (c->cpu)
		take_cpu(s, out);
	if (c->n_ports)
		take_queue(c, out);
	if (c->netstat)
		take_netstat(s, out);
	out->at_ns = monotonic_ns();
}

/* A new config from sampler_reconfigure, in the thread. */
static void apply_config(struct sampler *s, struct sampler_config *p, int fd)
{
	struct sampler_config *c = &s->cfg;

	if (strcmp(p->netns, c->netns)) {
		int use = fd >= 0 ? fd : p->netns[0] ? open(p->netns, O_RDONLY | O_CLOEXEC)
						     : s->own_netns_fd;

		if (use < 0 || setns(use, CLONE_NEWNET) < 0) {
			/* reconfigure tried it already; keep sampling where we are */
			join_error(p->netns, use < 0 ? -ENOENT : -errno);
			memcpy(p->netns, c->netns, sizeof(p->netns));
		} else {
			/* another namespace's counters and gateway */
			s->have_ls = s->have_hist = s->have_ctr = false;
		}
		if (use >= 0 && use != s->own_netns_fd)
			close(use);
	} else if (fd >= 0) {
		close(fd);
	}
	if (strcmp(p->metrics_url, c->metrics_url) || strcmp(p->latency_metric, c->latency_metric))
		s->have_hist = false;
	if (strcmp(p->metrics_url, c->metrics_url) ||
	    strcmp(p->requests_metric, c->requests_metric))
		s->have_ctr = false;
	/* a source switched off and on again must not diff against its old read */
	if (!p->cpu)
		s->have_cpu = false;
	if (!p->netstat)
		s->have_ls = false;
	*c = *p;
}

static uint64_t ms_ns(uint32_t ms)
{
	return (uint64_t)ms * 1000000ULL;
}

static void *sampler_main(void *arg)
{
	struct sampler *s = arg;
	struct signal_sample sample;
	uint64_t next;
	int err = 0;

	if (s->start_netns_fd >= 0) {
		if (setns(s->start_netns_fd, CLONE_NEWNET) < 0)
			err = -errno;
		close(s->start_netns_fd);
		s->start_netns_fd = -1;
	}
	pthread_mutex_lock(&s->lock);
	s->started = true;
	s->start_err = err;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (err)
		return NULL;

	next = monotonic_ns();
	for (;;) {
		struct sampler_config pending;
		bool has_pending;
		int fd = -1;
		uint64_t now, interval;

		/* absolute deadlines: the time a sample takes does not shift the next */
		pthread_mutex_lock(&s->lock);
		while (!s->stop && monotonic_ns() < next) {
			struct timespec ts = { .tv_sec = (time_t)(next / 1000000000ULL),
					       .tv_nsec = (long)(next % 1000000000ULL) };

			pthread_cond_timedwait(&s->cond, &s->lock, &ts);
		}
		if (s->stop) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		has_pending = s->has_pending;
		if (has_pending) {
			pending = s->pending;
			fd = s->pending_netns_fd;
			s->has_pending = false;
			s->pending_netns_fd = -1;
		}
		pthread_mutex_unlock(&s->lock);
		if (has_pending)
			apply_config(s, &pending, fd);

		take_sample(s, &sample);

		pthread_mutex_lock(&s->lock);
		s->latest = sample;
		s->fresh = true;
		pthread_mutex_unlock(&s->lock);
		/* only fails if the counter would overflow: the loop is far behind */
		if (eventfd_write(s->efd, 1) < 0 && errno != EAGAIN)
			rw_err("sampler: eventfd: %s", strerror(errno));

		/* an overrun skips the ticks it missed rather than sampling back to back */
		interval = ms_ns(s->cfg.interval_ms);
		next += interval;
		now = monotonic_ns();
		if (next <= now)
			next += ((now - next) / interval + 1) * interval;
	}
	return NULL;
}

static void sampler_free(struct sampler *s)
{
	if (s->efd >= 0)
		close(s->efd);
	if (s->own_netns_fd >= 0)
		close(s->own_netns_fd);
	if (s->start_netns_fd >= 0)
		close(s->start_netns_fd);
	if (s->pending_netns_fd >= 0)
		close(s->pending_netns_fd);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int sampler_start(struct sampler **out, const struct sampler_config *c)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	struct sampler *s;
	int err;

	*out = NULL;
	err = check_config(c);
	if (err < 0)
		return err;
	if (http_fetch_init() < 0) {
		rw_err("sampler: cannot initialise libcurl");
		return -EIO;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->efd = s->own_netns_fd = s->start_netns_fd = s->pending_netns_fd = -1;
	s->cfg = s->want = *c;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);

	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->efd < 0) {
		err = -errno;
		rw_err("sampler: eventfd: %s", strerror(errno));
		goto fail;
	}
	/* the calling thread's namespace is the daemon's own */
	s->own_netns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (s->own_netns_fd < 0) {
		err = -errno;
		rw_err("cannot open network namespace /proc/thread-self/ns/net: %s",
		       strerror(errno));
		goto fail;
	}
	if (c->netns[0]) {
		s->start_netns_fd = open_netns(c->netns);
		if (s->start_netns_fd < 0) {
			err = s->start_netns_fd;
			goto fail;
		}
	}
	/* signals stay with the daemon's signalfd, never this thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&s->thread, NULL, sampler_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		rw_err("sampler: cannot start its thread: %s", strerror(-err));
		goto fail;
	}
	pthread_setname_np(s->thread, "rw-sampler");

	pthread_mutex_lock(&s->lock);
	while (!s->started)
		pthread_cond_wait(&s->cond, &s->lock);
	err = s->start_err;
	pthread_mutex_unlock(&s->lock);
	if (err) {
		join_error(c->netns, err);
		pthread_join(s->thread, NULL);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	sampler_free(s);
	return err;
}

int sampler_fd(const struct sampler *s)
{
	return s->efd;
}

bool sampler_take(struct sampler *s, struct signal_sample *out)
{
	eventfd_t v;
	bool got;

	/* drain first: a sample published after this still leaves the fd readable */
	(void)eventfd_read(s->efd, &v);
	pthread_mutex_lock(&s->lock);
	got = s->fresh;
	if (got) {
		*out = s->latest;
		s->fresh = false;
	}
	pthread_mutex_unlock(&s->lock);
	return got;
}

int sampler_reconfigure(struct sampler *s, const struct sampler_config *c)
{
	int fd = -1, err = check_config(c);

	if (err < 0)
		return err;
	if (strcmp(c->netns, s->want.netns) && c->netns[0]) {
		fd = open_netns(c->netns);
		if (fd < 0)
			return fd;
		err = try_join(fd);
		if (err < 0) {
			join_error(c->netns, err);
			close(fd);
			return err;
		}
	}
	pthread_mutex_lock(&s->lock);
	if (s->has_pending && s->pending_netns_fd >= 0) {
		/* a pending one not applied yet: keep its opened namespace if unchanged */
		if (fd < 0 && !strcmp(s->pending.netns, c->netns))
			fd = s->pending_netns_fd;
		else
			close(s->pending_netns_fd);
	}
	s->pending = *c;
	s->pending_netns_fd = fd;
	s->has_pending = true;
	pthread_mutex_unlock(&s->lock);
	s->want = *c;
	return 0;
}

void sampler_stop(struct sampler *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	sampler_free(s);
}
