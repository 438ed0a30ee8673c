// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "conns.h"
#include "log.h"
#include "map_mmap.h"
#include "percpu.h"
#include "policy_show.h"
#include "conns.skel.h"
#include "ratewall.skel.h"

static const char *const event_names[RW_CONN_EVENT_MAX] = {
	[RW_CONN_OPENED] = "opened",
	[RW_CONN_CLOSED] = "closed",
	[RW_CONN_TABLE_FULL] = "table_full",
	[RW_CONN_LOST] = "lost",
	[RW_CONN_SEEDED] = "seeded",
	[RW_CONN_MOVED] = "moved",
};

const char *conn_event_name(unsigned int event)
{
	return event < RW_CONN_EVENT_MAX ? event_names[event] : "unknown";
}

/* The first cgroup2 mount point of this mount namespace, from mountinfo. */
static int cgroup2_mount(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096];
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE ... */
		char mnt[PATH_MAX], *sep = strstr(line, " - ");

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && strlen(mnt) < len) {
			snprintf(buf, len, "%s", mnt);
			err = 0;
		}
	}
	fclose(f);
	return err;
}

int conns_cgroup_resolve(const char *path, struct conn_cgroup *cg)
{
	char mnt[PATH_MAX];
	struct statfs fs;
	struct stat st;
	size_t mlen;
	int err;

	memset(cg, 0, sizeof(*cg));
	err = cgroup2_mount(mnt, sizeof(mnt));
	if (err) {
		rw_err("no cgroup2 file system is mounted here (looked in /proc/self/mountinfo)%s",
		       err == -ENOENT ? "; under 'ip netns exec' /sys is remounted without it, "
					"use 'nsenter --net=/run/netns/NAME' instead" : "");
		return err;
	}
	if (!path || !path[0])
		path = mnt;
	if (!realpath(path, cg->path)) {
		err = -errno;
		rw_err("cgroup '%s': %s", path, strerror(-err));
		return err;
	}
	if (statfs(cg->path, &fs) || stat(cg->path, &st)) {
		err = -errno;
		rw_err("cgroup '%s': %s", path, strerror(-err));
		return err;
	}
	mlen = strlen(mnt);
	if (fs.f_type != CGROUP2_SUPER_MAGIC || !S_ISDIR(st.st_mode) ||
	    strncmp(cg->path, mnt, mlen) != 0 || (cg->path[mlen] && cg->path[mlen] != '/')) {
		rw_err("cgroup '%s' is not a directory of the cgroup2 mount at %s", path, mnt);
		return -EINVAL;
	}
	/* cgroup2 directory inodes are the kernel's cgroup ids. */
	cg->id = st.st_ino;
	return 0;
}

void conn_maps_of_skeleton(struct ratewall_bpf *skel, struct conn_maps *cm)
{
	cm->conns_fd = bpf_map__fd(skel->maps.rw_conns);
	cm->class_conns_fd = bpf_map__fd(skel->maps.rw_class_conns);
	cm->events_fd = bpf_map__fd(skel->maps.rw_conn_events);
	cm->socks_fd = -1;
}

/* The sockops and sync programs, loaded on the attachment's maps. */
struct conns_bpf *conns_walker_load(const struct policy_maps *pm, const struct conn_maps *cm,
				    uint64_t cgroup_id)
{
	struct conns_bpf *skel = conns_bpf__open();
	int err;

	if (!skel) {
		err = -errno;
		rw_err("cannot open the connection-counting BPF object: %s", strerror(-err));
		errno = -err;
		return NULL;
	}
	err = bpf_map__reuse_fd(skel->maps.rw_config, pm->config_fd);
	if (!err)
		err = bpf_map__reuse_fd(skel->maps.rw_policy, pm->policy_fd);
	if (!err)
		err = bpf_map__reuse_fd(skel->maps.rw_ports, pm->ports_fd);
	if (!err)
		err = bpf_map__reuse_fd(skel->maps.rw_conns, cm->conns_fd);
	if (!err)
		err = bpf_map__reuse_fd(skel->maps.rw_class_conns, cm->class_conns_fd);
	if (!err)
		err = bpf_map__reuse_fd(skel->maps.rw_conn_events, cm->events_fd);
	if (!err && cm->socks_fd >= 0)
		err = bpf_map__reuse_fd(skel->maps.rw_conn_socks, cm->socks_fd);
	if (!err) {
		skel->rodata->sync_cgroup_id = cgroup_id;
		err = conns_bpf__load(skel);
	}
	if (err) {
		rw_err("cannot load the connection-counting programs: %s", strerror(-err));
		conns_bpf__destroy(skel);
		errno = -err;
		return NULL;
	}
	return skel;
}

/* One full walk of the namespace's TCP sockets through the sync program. */
static int run_iter(struct conns_bpf *skel)
{
	struct bpf_link *link = bpf_program__attach_iter(skel->progs.ratewall_conns_sync, NULL);
	char buf[256];
	int fd, err = 0;
	ssize_t n;

	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
	} else {
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			;
		if (n < 0)
			err = -errno;
		close(fd);
	}
	bpf_link__destroy(link);
	return err;
}

int conn_events_read(int fd, uint64_t events[RW_CONN_EVENT_MAX])
{
	return percpu_sum(fd, RW_CONN_EVENT_MAX, 1, events);
}

int conns_walk(struct conns_bpf *skel, const struct conn_maps *cm,
	       uint64_t events[RW_CONN_EVENT_MAX])
{
	uint64_t before[RW_CONN_EVENT_MAX], after[RW_CONN_EVENT_MAX];
	int err;

	err = conn_events_read(cm->events_fd, before);
	/* First the listeners' ports, then the connections on them. */
	if (!err) {
		skel->bss->sync_phase = 0;
		err = run_iter(skel);
	}
	if (!err) {
		skel->bss->sync_phase = 1;
		err = run_iter(skel);
	}
	if (!err)
		err = conn_events_read(cm->events_fd, after);
	if (err) {
		rw_err("cannot walk the TCP sockets to count open connections: %s",
		       strerror(-err));
		return err;
	}
	for (int e = 0; e < RW_CONN_EVENT_MAX; e++)
		events[e] = after[e] - before[e];
	return 0;
}

void conns_walker_free(struct conns_bpf *walker)
{
	conns_bpf__destroy(walker);
}

uint64_t conns_uncounted(const uint64_t events[RW_CONN_EVENT_MAX])
{
	return events[RW_CONN_TABLE_FULL] + events[RW_CONN_LOST];
}

int conns_attach(const struct policy_maps *pm, struct conn_maps *cm,
		 const struct conn_cgroup *cg, const char *link_path, const char *socks_path,
		 uint64_t events[RW_CONN_EVENT_MAX])
{
	struct conns_bpf *skel = conns_walker_load(pm, cm, cg->id);
	struct bpf_link *link = NULL;
	int cg_fd, err;

	if (!skel)
		return -errno;
	cg_fd = open(cg->path, O_RDONLY | O_DIRECTORY);
	if (cg_fd < 0) {
		err = -errno;
		rw_err("cannot open cgroup %s: %s", cg->path, strerror(-err));
		goto out;
	}
	link = bpf_program__attach_cgroup(skel->progs.ratewall_sockops, cg_fd);
	close(cg_fd);
	if (!link) {
		err = -errno;
		rw_err("cannot attach sockops to cgroup %s: %s", cg->path, strerror(-err));
		goto out;
	}
	err = bpf_link__pin(link, link_path);
	if (err) {
		rw_err("cannot pin %s: %s", link_path, strerror(-err));
		goto out;
	}
	err = bpf_map__pin(skel->maps.rw_conn_socks, socks_path);
	if (err) {
		rw_err("cannot pin %s: %s", socks_path, strerror(-err));
		goto out;
	}
	cm->socks_fd = dup(bpf_map__fd(skel->maps.rw_conn_socks));
	if (cm->socks_fd < 0) {
		err = -errno;
		goto out;
	}
	/* Attached first, then walked: a connection made in between is
	 * counted once, by whichever sees it first (its storage says so). */
	err = conns_walk(skel, cm, events);
out:
	bpf_link__destroy(link);
	conns_bpf__destroy(skel);
	return err;
}

/* Most open connections first; ties by key, so the order is stable. */
static int by_open_desc(const void *a, const void *b)
{
	const struct conn_source *x = a, *y = b;

	if (x->open != y->open)
		return x->open < y->open ? 1 : -1;
	return memcmp(&x->key, &y->key, sizeof(x->key));
}

int conns_top(int conns_fd, struct conn_source *top, size_t n, size_t *n_top, uint64_t *sources)
{
	enum { CHUNK = 1024 };
	static struct rw_src_key keys[CHUNK];
	static struct rw_conn_entry vals[CHUNK];
	__u32 batch = 0;
	bool first = true, done = false;
	size_t have = 0;
	int err = 0;

	*sources = 0;
	/* Batches walk the table bucket by bucket, so entries deleted meanwhile
	 * cannot send the walk back to the start. */
	while (!done) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 count = CHUNK;

		if (bpf_map_lookup_batch(conns_fd, first ? NULL : &batch, &batch, keys, vals, &count,
					 &opts)) {
			if (errno != ENOENT) {
				err = -errno;
				break;
			}
			done = true;
		}
		first = false;
		for (__u32 i = 0; i < count; i++) {
			struct conn_source cur = { .key = keys[i], .open = rw_conn_open(vals[i].word) };

			/* Being deleted, or left at zero by a failed delete: holds nothing. */
			if (rw_conn_gone(vals[i].word) || !cur.open)
				continue;
			(*sources)++;
			if (have < n)
				top[have++] = cur;
			else if (n && by_open_desc(&cur, &top[n - 1]) < 0)
				top[n - 1] = cur;
			else
				continue;
			qsort(top, have, sizeof(*top), by_open_desc);
		}
	}
	*n_top = have;
	return err;
}

int conns_by_class(int class_conns_fd, uint64_t open[RW_MAX_CLASSES])
{
	struct rw_class_conns cc;

	for (__u32 c = 0; c < RW_MAX_CLASSES; c++) {
		if (bpf_map_lookup_elem(class_conns_fd, &c, &cc))
			return -errno;
		open[c] = cc.open;
	}
	return 0;
}

int conns_walk_needed(const struct policy_maps *pm, const struct conn_maps *cm,
		      const struct rw_config *cfg, const struct policy_image *img, bool *walk)
{
	struct live_policy *lp = calloc(1, sizeof(*lp));
	uint64_t totals[RW_CONN_EVENT_MAX];
	int err = lp ? live_policy_read(pm, lp) : -ENOMEM;

	if (err) {
		rw_err("cannot read the live policy: %s", strerror(-err));
		free(lp);
		return err;
	}
	*walk = memcmp(lp->ports[RW_PROTO_TCP], img->ports[RW_PROTO_TCP],
		       sizeof(img->ports[RW_PROTO_TCP])) != 0;
	for (int c = 0; c < RW_MAX_CLASSES && !*walk; c++)
		*walk = !lp->policy.classes[c].src_conn != !img->policy.classes[c].src_conn;
	free(lp);
	/* Connections a full table (or a lost race) left out get another try. */
	if (!*walk && !conn_events_read(cm->events_fd, totals))
		*walk = conns_uncounted(totals) > cfg->uncounted_walked;
	return 0;
}

void conns_note_walk(const struct policy_maps *pm, const struct conn_maps *cm)
{
	uint64_t totals[RW_CONN_EVENT_MAX];
	struct rw_config *live;
	size_t len;

	if (conn_events_read(cm->events_fd, totals))
		return;
	live = map_mmap(pm->config_fd, sizeof(*live), &len);
	if (!live)
		return;
	__atomic_store_n(&live->uncounted_walked, conns_uncounted(totals), __ATOMIC_RELAXED);
	munmap(live, len);
}

int conns_check_fixed(const struct rw_config *cfg, const struct policy_image *img,
		      const char *ifname)
{
	struct conn_cgroup cg;
	int err;

	if (img->conn_table && img->conn_table != cfg->conn_entries) {
		rw_err("the policy's connection table size %u differs from the %u that %s was "
		       "attached with; it is fixed at attach (detach and attach to change it)",
		       img->conn_table, cfg->conn_entries, ifname);
		return -EINVAL;
	}
	if (!img->cgroup[0])
		return 0;
	err = conns_cgroup_resolve(img->cgroup, &cg);
	if (err)
		return err;
	if (cg.id != cfg->cgroup_id) {
		rw_err("the policy's cgroup %s is not the one %s counts connections in (cgroup id "
		       "%" PRIu64 "); it is fixed at attach (detach and attach to change it)",
		       cg.path, ifname, (uint64_t)cfg->cgroup_id);
		return -EINVAL;
	}
	return 0;
}
