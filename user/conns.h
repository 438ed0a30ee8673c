/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Open-connection counting: the cgroup sockops watches, attaching it, the
 * sync that counts connections open before the attach (and recounts them
 * when a policy moves their class), and reading the counts back.
 */
#ifndef RW_CONNS_H
#define RW_CONNS_H

#include <linux/limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "ratewall.h"
#include "policy_maps.h"

/* The cgroup v2 directory whose sockets are counted. */
struct conn_cgroup {
	char path[PATH_MAX]; /* resolved, absolute */
	uint64_t id;
};

/*
 * Resolves `path` (NULL or "": the root of the cgroup2 mount, found in
 * /proc/self/mountinfo) to a cgroup v2 directory. Prints one error line
 * naming the path and returns a negative errno when it is not one.
 */
int conns_cgroup_resolve(const char *path, struct conn_cgroup *cg);

/* The connection maps of an attachment. */
struct conn_maps {
	int conns_fd;       /* (source, class) -> open connections */
	int class_conns_fd; /* class -> open connections */
	int events_fd;      /* per-CPU rw_conn_event counters */
	int socks_fd;       /* socket storage: where each socket was counted */
};

struct ratewall_bpf;
/* The maps the XDP program shares with sockops (socks_fd: -1, sockops makes it). */
void conn_maps_of_skeleton(struct ratewall_bpf *skel, struct conn_maps *cm);

/*
 * Attaches sockops to the cgroup with a link pinned at `link_path`, pins
 * its socket storage at `socks_path` (filling cm->socks_fd), then syncs
 * (see conns_walk). Prints one error line on failure; the caller removes
 * the pins.
 */
int conns_attach(const struct policy_maps *pm, struct conn_maps *cm,
		 const struct conn_cgroup *cg, const char *link_path, const char *socks_path,
		 uint64_t events[RW_CONN_EVENT_MAX]);

/*
 * The walk of the namespace's TCP sockets (this process's network
 * namespace): it counts the gateway's open connections that are not
 * counted yet, recounts those whose class the live policy changed, and
 * counts per source those whose class caps sources now (or that a full
 * table left out). `events` receives what it did, by rw_conn_event.
 *
 * In two steps, so that a caller can load its programs before it changes
 * anything: conns_walker_load() (NULL, said on stderr, when the programs
 * cannot be loaded), conns_walk() (one error line on failure), then
 * conns_walker_free().
 */
struct conns_bpf;
struct conns_bpf *conns_walker_load(const struct policy_maps *pm, const struct conn_maps *cm,
				    uint64_t cgroup_id);
int conns_walk(struct conns_bpf *walker, const struct conn_maps *cm,
	       uint64_t events[RW_CONN_EVENT_MAX]);
void conns_walker_free(struct conns_bpf *walker);

/* Connections the per-source table left out so far (table_full + lost). */
uint64_t conns_uncounted(const uint64_t events[RW_CONN_EVENT_MAX]);

struct policy_image;
/*
 * Whether open connections need a walk when `img` replaces the live
 * policy: a TCP port changes class, a class starts or stops capping
 * sources, or the table left connections out since the last walk
 * (cfg->uncounted_walked). Without one an apply stays a few milliseconds.
 * 0, or -errno with one error line.
 */
int conns_walk_needed(const struct policy_maps *pm, const struct conn_maps *cm,
		      const struct rw_config *cfg, const struct policy_image *img, bool *walk);

/*
 * The policy's `connections:` settings are fixed at attach: a policy that
 * names another cgroup or table size than `cfg` was attached with is
 * refused, with one error line naming it (-EINVAL). 0 otherwise.
 */
int conns_check_fixed(const struct rw_config *cfg, const struct policy_image *img,
		      const char *ifname);

/* Records, after a walk, how many connections the table had left out. */
void conns_note_walk(const struct policy_maps *pm, const struct conn_maps *cm);

/* The events so far, summed over CPUs. */
int conn_events_read(int fd, uint64_t events[RW_CONN_EVENT_MAX]);
const char *conn_event_name(unsigned int event);

/* One (source, class) with open connections. */
struct conn_source {
	struct rw_src_key key;
	uint64_t open;
};

/*
 * The `n` sources with most open connections, most first (ties by key), and
 * the number of sources with any. Fills top[0..*n_top). 0 or -errno.
 */
int conns_top(int conns_fd, struct conn_source *top, size_t n, size_t *n_top, uint64_t *sources);

/* Open connections by class id. */
int conns_by_class(int class_conns_fd, uint64_t open[RW_MAX_CLASSES]);

#endif
