// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * `ratewall daemon`: runs in the foreground beside an attachment (made
 * here when there is none), serves its metrics, writes its refusal events
 * as JSON lines, and leaves the limiter running when it stops unless told
 * to detach. One thread: the event ring, the HTTP endpoint, signals and a
 * tick share one epoll loop, so nothing needs a lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "cli.h"
#include "cli_objects.h"
#include "clocks.h"
#include "daemon_control.h"
#include "daemon_opts.h"
#include "daemon_quota.h"
#include "event_line.h"
#include "event_sink.h"
#include "event_stream.h"
#include "loader.h"
#include "map_count.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "pins.h"
#include "policy_load.h"
#include "privileges.h"

#define TICK_MS 100
#define COUNT_TABLES_EVERY_NS (15 * 1000000000ULL)
#define CHECK_PINS_EVERY_NS 1000000000ULL
/* /healthz fails when the loop has not ticked for this long */
#define STALL_NS (3 * 1000000000ULL)

struct daemon {
	const struct daemon_opts *o;
	struct attachment a;
	uint32_t config_map_id;
	struct policy model;
	struct rw_policy active;
	struct event_line_ctx lines;
	struct event_sink sink;
	struct event_stream stream;
	struct metrics_http *http;
	struct daemon_health health;
	char unhealthy[512]; /* why, or "" */
	/* the policy last tried: read again only when it changes, so that a
	 * failure is said once and stays in /healthz until a new policy */
	uint32_t tried_slot;
	uint64_t tried_generation;
	uint8_t tried_hash[32];
	int policy_err;      /* reading it failed: -errno */
	bool key_failed;     /* its client_key could not be read */
	uint64_t last_tick_ns, last_flush_ns, last_pins_ns;
	int dir_fd;          /* the pin directory, locked: one daemon per attachment */
	uint64_t acct_errors_seen; /* at the flush before the last */
	int flush_err;             /* the last flush failed: -errno */
	struct daemon_control control;        /* the adaptive loop */
	struct daemon_quota quota;            /* the buckets shared with the fleet */
	char member[128];                     /* this gateway in the fleet: instance/interface */
	/* the loop's epoll, and the fds of the sampler, the quota sync timer
	 * and the quota client in it (-1: none) */
	int ep, control_fd, quota_timer_fd, quota_fd;
	struct map_count counts[COUNTED_MAX]; /* counting the large tables */
	uint64_t counted_ns[COUNTED_MAX];     /* when each pass ended */
	bool opened, stop, detached;
};

static double real_seconds(void)
{
	return (double)realtime_ns() / 1e9;
}

static int64_t realtime_offset_ns(void)
{
	return (int64_t)(realtime_ns() - monotonic_ns());
}

static int map_id(int fd, uint32_t *id)
{
	struct bpf_map_info info = { 0 };
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*id = info.id;
	return 0;
}

/* Attaches when nothing is attached (*attached_here then true); applies
 * `policy FILE` when something is. */
static int ensure_attached(const struct daemon_opts *o, bool *attached_here)
{
	struct policy_image *img = NULL;
	char dir[4096];
	bool attached, refused;
	int err;

	/* Pins under that name say "attached"; whether they are sound is for
	 * attachment_open to say, with its own errors. */
	err = pins_dev_dir_here(dir, sizeof(dir), o->ifname);
	if (err) {
		rw_err("cannot find the pins of %s: %s", o->ifname, strerror(-err));
		return err;
	}
	attached = access(dir, F_OK) == 0;
	if (attached && !o->policy_file)
		return 0;
	img = o->policy_file ? policy_load(o->policy_file) : policy_load_builtin(NULL, &refused);
	if (!img)
		return -EINVAL;
	if (attached) {
		err = loader_policy_apply(o->ifname, img);
	} else {
		struct limit_opts lo;

		limit_opts_default(&lo);
		err = loader_attach(o->ifname, o->mode, &lo, img);
		*attached_here = !err;
		if (!err)
			rw_err("attached to %s", o->ifname);
	}
	policy_image_delete(img);
	return err;
}

enum { TAG_SIGNAL = 1, TAG_RING, TAG_HTTP, TAG_CONTROL, TAG_QUOTA_TIMER, TAG_QUOTA };

/*
 * The fds of the modules a policy change may restart (the sampler, the
 * quota timer and client) follow them in the loop's epoll. A restarted
 * module's new fds may reuse the old numbers, even crosswise, so every
 * old registration goes before any new one is made; a failure goes to the
 * module's error.
 */
static void sync_module_fds(struct daemon *d)
{
	struct {
		int *polled, fd;
		uint32_t tag;
		const char *what;
		char *error;
		size_t len;
	} fds[] = {
		{ &d->control_fd, daemon_control_fd(&d->control), TAG_CONTROL, "the signal sampler",
		  d->control.error, sizeof(d->control.error) },
		{ &d->quota_timer_fd, daemon_quota_timer_fd(&d->quota), TAG_QUOTA_TIMER,
		  "the quota sync timer", d->quota.error, sizeof(d->quota.error) },
		{ &d->quota_fd, daemon_quota_client_fd(&d->quota), TAG_QUOTA, "the quota client",
		  d->quota.error, sizeof(d->quota.error) },
	};
	size_t n = sizeof(fds) / sizeof(fds[0]);

	if (d->ep < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (*fds[i].polled >= 0)
			epoll_ctl(d->ep, EPOLL_CTL_DEL, *fds[i].polled, NULL);
		*fds[i].polled = -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = fds[i].tag };

		if (fds[i].fd < 0)
			continue;
		if (epoll_ctl(d->ep, EPOLL_CTL_ADD, fds[i].fd, &ev) == 0)
			*fds[i].polled = fds[i].fd;
		else
			snprintf(fds[i].error, fds[i].len, "cannot poll %s: %s", fds[i].what,
				 strerror(errno));
	}
}

static void write_quota_line(void *ctx, const char *line)
{
	struct daemon *d = ctx;

	if (d->o->events)
		event_sink_write(&d->sink, line);
}

static void write_control_line(void *ctx, const char *line)
{
	struct daemon *d = ctx;

	if (d->o->events)
		event_sink_write(&d->sink, line);
}

/* Reads the live policy again when its slot, generation or hash moved;
 * 0 or the failure of the last try (also in d->policy_err, d->key_failed). */
static int refresh_policy(struct daemon *d, bool force)
{
	struct rw_config cfg;
	struct rw_policy pol;
	uint32_t zero = 0, slot = 0;
	int lock, err = 0;

	if (bpf_map_lookup_elem(d->a.maps.config_fd, &zero, &cfg)) {
		err = -errno;
	} else {
		slot = cfg.policy_slot & (RW_POLICY_SLOTS - 1);
		if (bpf_map_lookup_elem(d->a.maps.policy_fd, &slot, &pol))
			err = -errno;
	}
	if (err) {
		/* at start a reason is due; later /healthz says it */
		if (force)
			rw_err("cannot read the live policy of %s: %s", d->o->ifname, strerror(-err));
		return err;
	}
	if (!force && slot == d->tried_slot && pol.generation == d->tried_generation &&
	    !memcmp(pol.hash, d->tried_hash, sizeof(pol.hash)))
		return d->key_failed ? -ENOKEY : d->policy_err;
	/* a change in progress holds the lock: try again at the next tick */
	lock = force ? pins_lock(false) : pins_try_lock_shared();
	if (lock == -EWOULDBLOCK)
		return 0;
	d->tried_slot = slot;
	d->tried_generation = pol.generation;
	memcpy(d->tried_hash, pol.hash, sizeof(pol.hash));
	/* until the new policy is read, lines name no client (fail closed) */
	d->lines.key.len = 0;
	d->lines.redact = true;
	if (lock < 0)
		return d->policy_err = lock;
	policy_free(&d->model);
	d->policy_err = live_policy_model(&d->a.maps, d->o->ifname, &d->model, &d->active);
	pins_unlock(lock);
	if (d->policy_err)
		return d->policy_err;
	d->lines.redact = d->model.client_id == POLICY_CLIENT_HASHED;
	/* a failure is kept in d->control.error and shown in /healthz */
	daemon_control_configure(&d->control, &d->model, &d->active, &d->a.maps);
	/* likewise in d->quota.error */
	daemon_quota_configure(&d->quota, &d->model, &d->a.maps, d->member);
	sync_module_fds(d);
	/* Until a policy with a readable key comes, lines name no client. */
	d->key_failed = d->lines.redact && client_key_read(d->model.client_key, &d->lines.key);
	return d->key_failed ? -ENOKEY : 0;
}

static int write_record(const struct event_record *r, void *ctx)
{
	struct daemon *d = ctx;
	json_object *line = event_line_build(&d->lines, r, monotonic_ns());
	int err;

	if (!line) {
		d->sink.write_errors++;
		return -ENOMEM;
	}
	err = event_sink_write(&d->sink, json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN));
	json_object_put(line);
	return err;
}

static int render(void *ctx, char **text, size_t *len)
{
	struct daemon *d = ctx;

	d->health.healthy = !d->unhealthy[0];
	return metrics_render(&d->a, &d->health, text, len);
}

static bool healthy(void *ctx, char *why, size_t len)
{
	struct daemon *d = ctx;

	if (monotonic_ns() - d->last_tick_ns > STALL_NS) {
		snprintf(why, len, "the daemon's loop has not run for over 3 s");
		return false;
	}
	snprintf(why, len, "%s", d->unhealthy);
	return !d->unhealthy[0];
}

/* False once the pins are gone or are another attachment's: the limiter
 * was detached (or replaced) under us. */
static bool still_attached(struct daemon *d)
{
	char path[4096];
	uint32_t id = 0;
	int fd;

	if (pins_path(path, sizeof(path), d->a.dir, RW_PIN_CONFIG))
		return false;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	map_id(fd, &id);
	close(fd);
	return id == d->config_map_id;
}

static void tick(struct daemon *d)
{
	uint64_t now = monotonic_ns();
	uint32_t interval_ms = d->active.event_interval_ms ? d->active.event_interval_ms
							   : RW_DEFAULT_EVENT_INTERVAL_MS;
	int err;

	d->last_tick_ns = now;
	d->lines.realtime_offset_ns = realtime_offset_ns();
	if (now - d->last_pins_ns >= CHECK_PINS_EVERY_NS) {
		d->last_pins_ns = now;
		if (!still_attached(d)) {
			rw_err("%s was detached; the daemon stops", d->o->ifname);
			d->stop = d->detached = true;
			return;
		}
	}
	err = refresh_policy(d, false);
	if (d->key_failed)
		snprintf(d->unhealthy, sizeof(d->unhealthy),
			 "cannot read the client id key %.300s: lines name no client",
			 d->model.client_key);
	else if (err)
		snprintf(d->unhealthy, sizeof(d->unhealthy), "cannot read the live policy: %s",
			 strerror(-err));
	else if (d->control.error[0])
		snprintf(d->unhealthy, sizeof(d->unhealthy), "%s", d->control.error);
	else if (d->control.write_error[0])
		snprintf(d->unhealthy, sizeof(d->unhealthy), "%s", d->control.write_error);
	else if (d->quota.error[0])
		snprintf(d->unhealthy, sizeof(d->unhealthy), "%s", d->quota.error);
	else if (d->flush_err)
		snprintf(d->unhealthy, sizeof(d->unhealthy), "cannot walk the event tables: %s",
			 strerror(-d->flush_err));
	else if (d->stream.acct_errors != d->acct_errors_seen)
		snprintf(d->unhealthy, sizeof(d->unhealthy),
			 "the event accounts are full: %llu records held back",
			 (unsigned long long)(d->stream.acct_errors - d->acct_errors_seen));
	else if (d->sink.failing)
		snprintf(d->unhealthy, sizeof(d->unhealthy), "the last event line could not be written to %.300s",
			 d->sink.path);
	else
		d->unhealthy[0] = 0;
	/* half an interval: a quiet source's last packets are written within 1.5 intervals */
	if (d->o->events && now - d->last_flush_ns >= (uint64_t)interval_ms * 500000) {
		d->last_flush_ns = now;
		d->acct_errors_seen = d->stream.acct_errors;
		d->flush_err = event_stream_flush(&d->stream, now, interval_ms);
	}
	/* passes over the large tables in steps of 16 batches (about 5 ms
	 * each), so that millions of entries never hold the loop up */
	for (int t = 0; d->http && t < COUNTED_MAX; t++) {
		int64_t n;

		if (!d->counts[t].running && d->health.counted_at[t] &&
		    now - d->counted_ns[t] < COUNT_TABLES_EVERY_NS)
			continue;
		if (map_count_step(&d->counts[t], 16, &n) == 1) {
			d->counted_ns[t] = now;
			d->health.counted[t] = (uint64_t)n;
			d->health.counted_at[t] = real_seconds();
		}
	}
	daemon_control_tick(&d->control, &d->a.maps);
	if (d->http)
		metrics_http_run(d->http);
}

static int add_fd(int ep, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static void on_signal(struct daemon *d, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			if (d->o->events && event_sink_reopen(&d->sink) == 0)
				rw_err("reopened %s", d->sink.path);
		} else {
			d->stop = true;
		}
	}
}

static int run_loop(struct daemon *d, int sfd)
{
	struct epoll_event evs[8];
	int ep = epoll_create1(EPOLL_CLOEXEC), err;

	d->ep = ep;
	sync_module_fds(d);
	if (ep < 0) {
		err = -errno;
		rw_err("cannot poll: %s", strerror(-err));
		return err;
	}
	err = add_fd(ep, sfd, TAG_SIGNAL);
	if (!err && d->o->events)
		err = add_fd(ep, event_stream_fd(&d->stream), TAG_RING);
	if (!err && d->http)
		err = add_fd(ep, metrics_http_fd(d->http), TAG_HTTP);
	if (err) {
		rw_err("cannot poll: %s", strerror(-err));
		d->ep = -1;
		close(ep);
		return err;
	}
	while (!d->stop) {
		uint64_t now = monotonic_ns();
		int wait = TICK_MS, n;

		if (now - d->last_tick_ns < (uint64_t)TICK_MS * 1000000)
			wait = (int)((d->last_tick_ns + (uint64_t)TICK_MS * 1000000 - now) / 1000000);
		n = epoll_wait(ep, evs, 8, wait);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == TAG_SIGNAL)
				on_signal(d, sfd);
			else if (evs[i].data.u32 == TAG_RING)
				event_stream_consume(&d->stream);
			else if (evs[i].data.u32 == TAG_HTTP)
				metrics_http_run(d->http);
			else if (evs[i].data.u32 == TAG_CONTROL)
				daemon_control_on_sample(&d->control, &d->a.maps, d->o->instance_id,
							 d->lines.realtime_offset_ns,
							 write_control_line, d);
			else if (evs[i].data.u32 == TAG_QUOTA_TIMER)
				daemon_quota_on_timer(&d->quota, &d->a.maps);
			else if (evs[i].data.u32 == TAG_QUOTA)
				daemon_quota_on_result(&d->quota, &d->a.maps, d->o->instance_id,
						       d->lines.realtime_offset_ns,
						       write_quota_line, d);
		}
		if (monotonic_ns() - d->last_tick_ns >= (uint64_t)TICK_MS * 1000000)
			tick(d);
	}
	d->ep = -1;
	d->control_fd = d->quota_timer_fd = d->quota_fd = -1;
	close(ep);
	return 0;
}

/* The outputs first: a port in use or an unwritable file must stop the
 * daemon before it attaches anything. No request is served before the loop. */
static int open_outputs(struct daemon *d)
{
	struct metrics_http_handlers h = { .render = render, .healthy = healthy, .ctx = d };
	int err;

	if (d->o->events) {
		err = event_sink_open(&d->sink, d->o->events);
		if (err)
			return err;
		d->health.sink = &d->sink;
	}
	if (d->o->metrics) {
		d->http = metrics_http_start(d->o->metrics, &h);
		if (!d->http)
			return -EADDRNOTAVAIL;
	}
	return 0;
}

/*
 * One daemon per attachment: two would both drain the ring and both keep
 * the accounts, writing lines twice or not at all. The lock is on the
 * attachment's pin directory and goes with the process.
 */
static int one_daemon(struct daemon *d)
{
	d->dir_fd = open(d->a.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dir_fd < 0) {
		int err = -errno;

		rw_err("cannot open %s: %s", d->a.dir, strerror(-err));
		return err;
	}
	if (flock(d->dir_fd, LOCK_EX | LOCK_NB)) {
		int err = -errno;

		if (err == -EWOULDBLOCK)
			rw_err("another ratewall daemon runs for %s", d->o->ifname);
		else
			rw_err("cannot lock %s: %s", d->a.dir, strerror(-err));
		return err;
	}
	return 0;
}

static int daemon_start(struct daemon *d)
{
	int lock, err;

	lock = pins_lock(false);
	if (lock < 0)
		return lock;
	err = attachment_open(d->o->ifname, &d->a);
	pins_unlock(lock);
	if (err)
		return err;
	d->opened = true;
	err = one_daemon(d);
	d->counts[COUNTED_SOURCES].fd = d->a.sources_fd;
	d->counts[COUNTED_CONNS].fd = d->a.conns.conns_fd;
	if (!err && (err = map_id(d->a.maps.config_fd, &d->config_map_id)))
		rw_err("cannot identify the configuration map of %s: %s", d->o->ifname,
		       strerror(-err));
	if (!err)
		err = refresh_policy(d, true);
	/* an unreadable key is said, and lines name no client until it reads */
	if (err && err != -ENOKEY)
		return err;
	d->lines.instance_id = d->o->instance_id;
	d->lines.model = &d->model;
	d->lines.active = &d->active;
	explain_maps_of(&d->a, &d->lines.maps);
	d->lines.realtime_offset_ns = realtime_offset_ns();
	d->health.start_time = real_seconds();
	if (d->o->events) {
		err = event_stream_open(&d->stream, &d->a.maps.events, write_record, d);
		if (err)
			return err;
		d->health.stream = &d->stream;
	}
	rw_err("daemon on %s: metrics %s, events %s, instance %s", d->o->ifname,
	       d->o->metrics ? d->o->metrics : "off", d->o->events ? d->o->events : "off",
	       d->o->instance_id);
	return 0;
}

static void daemon_stop(struct daemon *d)
{
	if (d->o->events && d->stream.ring) {
		/* what the ring still holds and what quiet sources left, before going */
		if (!d->detached)
			event_stream_flush(&d->stream, monotonic_ns(), 0);
		event_stream_close(&d->stream);
	}
	/* a clean stop gives the classes their written rates back: no loop, no
	 * adaptation; the live policy first, so that what it restores is what
	 * is in force */
	if (d->opened && !d->detached)
		refresh_policy(d, false);
	if (d->opened)
		daemon_control_stop(&d->control, &d->a.maps, !d->detached);
	/* back to the safe share, and the shares left to the fleet at once */
	daemon_quota_stop(&d->quota);
	event_sink_close(&d->sink);
	metrics_http_stop(d->http);
	policy_free(&d->model);
	if (d->opened)
		attachment_close(&d->a);
	if (d->dir_fd > 0)
		close(d->dir_fd);
}

int cli_daemon(struct arg_cursor *cur)
{
	bool attached_here = false, failed_start = false;
	struct daemon_opts o;
	struct daemon *d;
	sigset_t sigs;
	int rc, sfd, err;

	if (cli_wants_help(cur))
		return cli_help(daemon_usage, cur);
	rc = daemon_opts_parse(cur, &o);
	if (rc != CLI_OK)
		return rc;
	if (privileges_check("daemon"))
		return CLI_FAIL;
	/* signals arrive through the loop, never in the middle of a write */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		rw_err("cannot take signals: %s", strerror(errno));
		return CLI_FAIL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		rw_err("out of memory starting the daemon");
		close(sfd);
		return CLI_FAIL;
	}
	d->o = &o;
	d->ep = d->control_fd = d->quota_timer_fd = d->quota_fd = -1;
	daemon_quota_init(&d->quota);
	d->health.quota = &d->quota.stats;
	snprintf(d->member, sizeof(d->member), "%.100s/%.15s", o.instance_id, o.ifname);
	err = open_outputs(d);
	if (!err)
		err = ensure_attached(&o, &attached_here);
	if (!err) {
		err = daemon_start(d);
		/* what failed to start leaves nothing it attached behind */
		failed_start = err != 0;
	}
	if (!err)
		err = run_loop(d, sfd);
	daemon_stop(d);
	close(sfd);
	if (!d->detached && ((!err && o.detach_on_exit) || (failed_start && attached_here))) {
		int derr = loader_detach(o.ifname);

		if (!derr)
			rw_err("detached from %s", o.ifname);
		err = err ? err : derr;
	}
	free(d);
	return err ? CLI_FAIL : CLI_OK;
}
