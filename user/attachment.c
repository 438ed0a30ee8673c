// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "attachment.h"
#include "log.h"
#include "netns.h"
#include "pins.h"

/* Every pin of an attachment and the fd it is opened into. */
static const struct {
	const char *name;
	size_t fd_offset;
} pins[] = {
	{ RW_PIN_LINK, offsetof(struct attachment, link_fd) },
	{ RW_PIN_SOURCES, offsetof(struct attachment, sources_fd) },
	{ RW_PIN_CONFIG, offsetof(struct attachment, maps.config_fd) },
	{ RW_PIN_COUNTERS, offsetof(struct attachment, maps.counters_fd) },
	{ RW_PIN_POLICY, offsetof(struct attachment, maps.policy_fd) },
	{ RW_PIN_PORTS, offsetof(struct attachment, maps.ports_fd) },
	{ RW_PIN_CIDRS, offsetof(struct attachment, maps.cidrs_fd) },
	{ RW_PIN_TENANTS, offsetof(struct attachment, maps.tenants_fd) },
	{ RW_PIN_TENANT_STATE, offsetof(struct attachment, maps.tenant_state_fd) },
	{ RW_PIN_CLASS_STATE, offsetof(struct attachment, maps.class_state_fd) },
	{ RW_PIN_SOCKOPS_LINK, offsetof(struct attachment, sockops_link_fd) },
	{ RW_PIN_CONNS, offsetof(struct attachment, conns.conns_fd) },
	{ RW_PIN_CLASS_CONNS, offsetof(struct attachment, conns.class_conns_fd) },
	{ RW_PIN_CONN_EVENTS, offsetof(struct attachment, conns.events_fd) },
	{ RW_PIN_CONN_SOCKS, offsetof(struct attachment, conns.socks_fd) },
	{ RW_PIN_POLICY_TEXT, offsetof(struct attachment, maps.text_fd) },
	{ RW_PIN_TALKERS, offsetof(struct attachment, talkers_fd) },
	{ RW_PIN_GLOBAL, offsetof(struct attachment, global_fd) },
	{ RW_PIN_EVENTS, offsetof(struct attachment, maps.events.ring_fd) },
	{ RW_PIN_EVENT_ENTRIES, offsetof(struct attachment, maps.events.entries_fd) },
	{ RW_PIN_EVENT_ACCT, offsetof(struct attachment, maps.events.acct_fd) },
	{ RW_PIN_EVENT_STATS, offsetof(struct attachment, maps.events.stats_fd) },
	{ RW_PIN_EVENT_OTHER, offsetof(struct attachment, maps.events.other_fd) },
	{ RW_PIN_ADAPT, offsetof(struct attachment, maps.adapt_fd) },
	{ RW_PIN_QUOTAS, offsetof(struct attachment, maps.quotas_fd) },
	{ RW_PIN_QUOTA_COUNTS, offsetof(struct attachment, maps.quota_counts_fd) },
};
#define N_PINS (sizeof(pins) / sizeof(pins[0]))

static int *pin_fd(struct attachment *a, size_t i)
{
	return (int *)((char *)a + pins[i].fd_offset);
}

static int open_pin(const char *dir, const char *name)
{
	char path[PATH_MAX];

	if (pins_path(path, sizeof(path), dir, name))
		return -ENAMETOOLONG;
	return bpf_obj_get(path);
}

/*
 * A link follows its interface into another network namespace, where the
 * ifindex it reports names a device of that namespace. It runs here only
 * if the device with that ifindex here runs the link's program in the
 * recorded mode; anything else (no such device, another program) means
 * the interface moved away.
 */
static bool runs_here(unsigned int ifindex, unsigned int mode, __u32 prog_id)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query((int)ifindex, 0, &q))
		return false;
	return (mode == RW_MODE_SKB ? q.skb_prog_id : q.drv_prog_id) == prog_id;
}

/* The name the BPF object gives the config map (bpf/ratewall.bpf.c). */
#define RW_CONFIG_MAP_NAME "rw_config"
#define RW_PROG_NAME "ratewall_xdp"

/* Reads entry 0 of `fd` after checking that it has the config map's shape. */
static int read_config(int fd, struct rw_config *cfg)
{
	struct bpf_map_info mi;
	__u32 len = sizeof(mi), zero = 0;

	memset(&mi, 0, sizeof(mi));
	if (bpf_obj_get_info_by_fd(fd, &mi, &len))
		return -errno;
	if (mi.type != BPF_MAP_TYPE_ARRAY || strcmp(mi.name, RW_CONFIG_MAP_NAME) != 0)
		return -EINVAL;
	/* Ours, from a build whose maps have another layout. */
	if (mi.value_size != sizeof(*cfg))
		return -EPROTO;
	if (bpf_map_lookup_elem(fd, &zero, cfg))
		return -errno;
	return cfg->layout == RW_CONFIG_LAYOUT ? 0 : -EPROTO;
}

/*
 * Finds the config of the program behind a link when its config pin is
 * gone: the program holds its maps, one of which is the config map.
 */
static int config_of_prog(__u32 prog_id, struct rw_config *cfg)
{
	__u32 ids[32], len = sizeof(struct bpf_prog_info), n;
	struct bpf_prog_info pi;
	int fd, err;

	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return -errno;
	memset(&pi, 0, sizeof(pi));
	pi.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	pi.map_ids = (__u64)(unsigned long)ids;
	err = bpf_obj_get_info_by_fd(fd, &pi, &len) ? -errno : 0;
	close(fd);
	if (err)
		return err;
	if (strcmp(pi.name, RW_PROG_NAME) != 0)
		return -EINVAL;
	n = pi.nr_map_ids < sizeof(ids) / sizeof(ids[0]) ? pi.nr_map_ids
							  : sizeof(ids) / sizeof(ids[0]);
	for (__u32 i = 0; i < n; i++) {
		bool found;

		fd = bpf_map_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue;
		found = read_config(fd, cfg) == 0;
		close(fd);
		if (found)
			return 0;
	}
	return -ENOENT;
}

int attachment_open_dir(const char *dir, const char *pin_name, struct attachment *a)
{
	struct bpf_link_info info;
	struct rw_config cfg;
	__u32 len = sizeof(info);
	bool have_link, have_cfg;
	uint64_t here = 0;
	int cfg_err;
	size_t opened = 0;

	memset(a, 0, sizeof(*a));
	snprintf(a->pin_name, sizeof(a->pin_name), "%s", pin_name);
	snprintf(a->ifname, sizeof(a->ifname), "%s", pin_name);
	snprintf(a->dir, sizeof(a->dir), "%s", dir);

	for (size_t i = 0; i < N_PINS; i++) {
		*pin_fd(a, i) = open_pin(dir, pins[i].name);
		opened += *pin_fd(a, i) >= 0;
	}
	memset(&info, 0, sizeof(info));
	have_link = a->link_fd >= 0 && !bpf_obj_get_info_by_fd(a->link_fd, &info, &len) &&
		    info.type == BPF_LINK_TYPE_XDP;
	/*
	 * Ownership first, whatever else is missing: pins of another namespace
	 * must never be cleared as "incomplete". Without the config pin, the
	 * link's program still leads to its config map.
	 */
	cfg_err = a->maps.config_fd >= 0 ? read_config(a->maps.config_fd, &cfg) : -ENOENT;
	have_cfg = cfg_err == 0 || (have_link && config_of_prog(info.prog_id, &cfg) == 0);
	if (!have_cfg) {
		attachment_close(a);
		if (cfg_err == -EPROTO)
			return ATT_OTHER_VERSION;
		/* Nothing pinned at all leaves nothing to lose: clearing it is safe. */
		return opened == 0 ? ATT_INCOMPLETE : ATT_UNPROVEN;
	}
	a->netns_cookie = cfg.netns_cookie;
	if (netns_cookie(&here) || here != cfg.netns_cookie) {
		attachment_close(a);
		return ATT_FOREIGN;
	}
	if (!have_link || opened < N_PINS) {
		attachment_close(a);
		return ATT_INCOMPLETE;
	}
	a->link_ifindex = info.xdp.ifindex;
	if (a->link_ifindex && !runs_here(a->link_ifindex, cfg.attach_mode, info.prog_id))
		a->moved = true;
	else if (a->link_ifindex && !if_indextoname(a->link_ifindex, a->ifname))
		snprintf(a->ifname, sizeof(a->ifname), "%s", pin_name);
	return ATT_OK;
}

bool attachment_find_by_ifindex(unsigned int ifindex, const char *skip, struct attachment *a)
{
	char ns_dir[PATH_MAX], dir[PATH_MAX], name[IF_NAMESIZE];
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (!ifindex || pins_ns_dir_here(ns_dir, sizeof(ns_dir)))
		return false;
	d = opendir(ns_dir);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		/* Not an interface's directory (".", "..", netns:COOKIE): no name. */
		if (pins_name_decode(name, sizeof(name), de->d_name) ||
		    (skip && strcmp(name, skip) == 0) ||
		    pins_path(dir, sizeof(dir), ns_dir, de->d_name))
			continue;
		if (attachment_open_dir(dir, name, a) != ATT_OK)
			continue;
		if (a->link_ifindex == ifindex && !a->moved)
			found = true;
		else
			attachment_close(a);
	}
	closedir(d);
	return found;
}

int attachment_resolve(const char *ifname, struct attachment *a)
{
	unsigned int ifindex = if_nametoindex(ifname);
	char dir[PATH_MAX];
	struct stat st;
	int err;

	err = pins_ensure_bpffs(false, NULL);
	if (err)
		return err;
	err = pins_dev_dir_here(dir, sizeof(dir), ifname);
	if (err)
		return err;

	if (stat(dir, &st) < 0) {
		/* Not under this name; maybe attached before a rename. */
		if (attachment_find_by_ifindex(ifindex, NULL, a))
			return 0;
		if (!ifindex)
			rw_err("%s is not attached, and no interface of that name exists in this "
			       "network namespace", ifname);
		else
			rw_err("%s is not attached (no pins at %s)", ifname, dir);
		return -ENOENT;
	}

	switch (attachment_open_dir(dir, ifname, a)) {
	case ATT_OK:
		break;
	case ATT_FOREIGN:
		rw_err("the pins at %s were made in another network namespace (cookie %" PRIu64
		       "); they are not this namespace's %s", dir, a->netns_cookie, ifname);
		return -EXDEV;
	case ATT_UNPROVEN:
		rw_err("cannot tell which network namespace the pins at %s belong to (no "
		       "config or link pin left): nothing was changed; if they are this "
		       "namespace's, remove them by hand", dir);
		return -EPERM;
	case ATT_OTHER_VERSION:
		rw_err("the pins at %s were made by another ratewall version (its config has "
		       "another layout): nothing was changed; detach with the version that "
		       "attached it, or remove the directory by hand", dir);
		return -EPROTO;
	default:
		return 1;
	}
	/* Its ifindex counts in another namespace: only the pin name is its own. */
	if (a->moved)
		return 0;
	if (a->link_ifindex && a->link_ifindex != ifindex) {
		rw_err("the attachment pinned as %s now runs on '%s' (ifindex %u, renamed since "
		       "attach): use 'dev %s'", ifname, a->ifname, a->link_ifindex, a->ifname);
		attachment_close(a);
		return -ESTALE;
	}
	return 0;
}

int attachment_open(const char *ifname, struct attachment *a)
{
	int res = attachment_resolve(ifname, a);

	if (res == 1) {
		rw_err("%s has incomplete pins at %s: run 'ratewall link detach dev %s' to clear them",
		       ifname, a->dir, ifname);
		return -ENOENT;
	}
	return res;
}

void attachment_close(struct attachment *a)
{
	for (size_t i = 0; i < N_PINS; i++) {
		if (*pin_fd(a, i) >= 0)
			close(*pin_fd(a, i));
		*pin_fd(a, i) = -1;
	}
}

