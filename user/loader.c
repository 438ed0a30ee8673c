// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "attachment.h"
#include "conns.h"
#include "log.h"
#include "loader.h"
#include "clocks.h"
#include "map_mmap.h"
#include "netns.h"
#include "pins.h"
#include "policy_apply.h"
#include "policy_load.h"
#include "ratewall.skel.h"

const char *attach_mode_name(unsigned int mode)
{
	return mode == RW_MODE_SKB ? "skb" : "native";
}

/*
 * In the order detach removes them: the link first (that stops the
 * program), the config last. Attach pins the config first, so pins left
 * by an interrupted attach or detach always keep the config, whose
 * netns cookie proves whose they are.
 */
static const char *const pin_names[] = {
	RW_PIN_LINK,	     RW_PIN_SOCKOPS_LINK, RW_PIN_SOURCES,     RW_PIN_COUNTERS,
	RW_PIN_POLICY,	     RW_PIN_PORTS,	  RW_PIN_CIDRS,	      RW_PIN_TENANTS,
	RW_PIN_TENANT_STATE, RW_PIN_CLASS_STATE,  RW_PIN_CONNS,	      RW_PIN_CLASS_CONNS,
	RW_PIN_CONN_EVENTS,  RW_PIN_CONN_SOCKS,	  RW_PIN_POLICY_TEXT, RW_PIN_TALKERS,	  RW_PIN_GLOBAL,
	RW_PIN_EVENTS,	     RW_PIN_EVENT_ENTRIES, RW_PIN_EVENT_ACCT, RW_PIN_EVENT_STATS,
	RW_PIN_EVENT_OTHER,  RW_PIN_ADAPT,	  RW_PIN_QUOTAS,      RW_PIN_QUOTA_COUNTS,
	RW_PIN_CONFIG,
};

/*
 * 0 when `dir` holds nothing but pins ratewall makes (or is gone);
 * -ENOTEMPTY with the first other entry in `stranger`; or -errno when it
 * cannot be read. `stranger` is always a string.
 */
static int only_our_pins(const char *dir, char *stranger, size_t len)
{
	struct dirent *de;
	int err = 0;
	DIR *d;

	stranger[0] = '\0';
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!err && (de = readdir(d))) {
		bool known = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");

		for (size_t i = 0; !known && i < sizeof(pin_names) / sizeof(pin_names[0]); i++)
			known = strcmp(de->d_name, pin_names[i]) == 0;
		if (!known) {
			snprintf(stranger, len, "%s", de->d_name);
			err = -ENOTEMPTY;
		}
	}
	closedir(d);
	return err;
}

/*
 * Removes an attachment's pins: the link first, which detaches the
 * program, then the maps, then the directory and its empty parents.
 * A directory holding anything else is left whole, program included.
 * `report`: print the one error line; attach cleaning up after its own
 * failure has printed one already.
 */
static int remove_pins(const char *dir, bool report)
{
	char path[PATH_MAX], parent[PATH_MAX], stranger[NAME_MAX + 1];
	int err;

	err = only_our_pins(dir, stranger, sizeof(stranger));
	if (err) {
		if (report && err == -ENOTEMPTY)
			rw_err("%s holds '%s', which ratewall did not make; nothing was removed",
			       dir, stranger);
		else if (report)
			rw_err("cannot list %s to check that it holds only ratewall's pins: %s; "
			       "nothing was removed", dir, strerror(-err));
		return err;
	}
	for (size_t i = 0; i < sizeof(pin_names) / sizeof(pin_names[0]); i++) {
		if (pins_path(path, sizeof(path), dir, pin_names[i]) == 0 &&
		    unlink(path) < 0 && errno != ENOENT && !err)
			err = -errno;
	}
	if (rmdir(dir) < 0 && errno != ENOENT && !err)
		err = -errno;
	if (err && report)
		rw_err("cannot remove the pins at %s: %s", dir, strerror(-err));

	/* Parents (netns:COOKIE, then ratewall/) go when nothing else is in them. */
	snprintf(parent, sizeof(parent), "%s", dir);
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(parent, '/');

		if (!slash || strcmp(parent, RW_PIN_ROOT) == 0)
			break;
		*slash = '\0';
		if (strncmp(parent, RW_PIN_ROOT, strlen(RW_PIN_ROOT)) != 0)
			break;
		rmdir(parent); /* ENOTEMPTY is the common, fine answer */
	}
	return err;
}

/* Why `dir` (pins under the name being attached) stands in the way. */
static void explain_existing_pins(const char *ifname, const char *dir)
{
	struct attachment a;

	switch (attachment_open_dir(dir, ifname, &a)) {
	case ATT_OK:
		if (a.moved)
			rw_err("the pins at %s belong to an attachment whose interface moved to "
			       "another network namespace: run 'ratewall link detach dev %s' first",
			       dir, ifname);
		else if (!a.link_ifindex)
			rw_err("%s has a defunct attachment at %s (its interface was removed): "
			       "run 'ratewall link detach dev %s' first", ifname, dir, ifname);
		else if (strcmp(a.ifname, ifname) != 0)
			rw_err("the pins at %s belong to the interface now named '%s' (renamed "
			       "since attach): detach it with 'ratewall link detach dev %s' first",
			       dir, a.ifname, a.ifname);
		else
			rw_err("%s is already attached (pins at %s); detach it first", ifname, dir);
		attachment_close(&a);
		break;
	case ATT_FOREIGN:
		rw_err("the pins at %s were made in another network namespace (cookie %" PRIu64
		       "); %s cannot be attached under that name here", dir, a.netns_cookie,
		       ifname);
		break;
	case ATT_UNPROVEN:
		rw_err("the pins at %s have no config or link pin to tell whose they are; "
		       "%s cannot be attached under that name until they are removed by hand",
		       dir, ifname);
		break;
	case ATT_OTHER_VERSION:
		rw_err("the pins at %s were made by another ratewall version; detach %s with "
		       "that version, or remove the directory by hand", dir, ifname);
		break;
	default:
		rw_err("%s has stale pins at %s: run 'ratewall link detach dev %s' to clear them",
		       ifname, dir, ifname);
	}
}

static int explain_link_error(int err, const char *ifname, enum rw_attach_mode mode)
{
	if (err == -EOPNOTSUPP && mode == RW_MODE_NATIVE)
		rw_err("the driver of %s has no native XDP support; use 'mode skb'", ifname);
	else if (err == -EBUSY || err == -EEXIST)
		rw_err("another XDP program is already attached to %s", ifname);
	else
		rw_err("cannot attach XDP to %s in %s mode: %s", ifname,
		       attach_mode_name(mode), strerror(-err));
	return err;
}

static int pin_map(struct bpf_map *map, const char *dir, const char *name)
{
	char path[PATH_MAX];
	int err = pins_path(path, sizeof(path), dir, name);

	if (!err)
		err = bpf_map__pin(map, path);
	if (err)
		rw_err("cannot pin %s: %s", path, strerror(-err));
	return err;
}

static int fill_config(struct rw_config *cfg, const struct limit_opts *o,
		       unsigned int ifindex, enum rw_attach_mode mode)
{
	int err;

	memset(cfg, 0, sizeof(*cfg));
	limits_to_config(o, cfg);
	/* A seed nobody outside can know, so no one can aim sources at one bit. */
	if (getrandom(&cfg->seen_seed, sizeof(cfg->seen_seed), 0) != sizeof(cfg->seen_seed)) {
		err = -errno;
		rw_err("cannot read random bytes for the filter seed: %s", strerror(-err));
		return err;
	}
	cfg->ifindex = ifindex;
	cfg->attach_mode = mode;
	cfg->layout = RW_CONFIG_LAYOUT;
	uint64_t cookie = 0;

	err = netns_cookie(&cookie);
	cfg->netns_cookie = cookie;
	if (err) {
		rw_err("cannot read the network namespace cookie: %s", strerror(-err));
		return err;
	}
	cfg->attached_at_ns = realtime_ns();
	return 0;
}

/* The steps of attach after the lock is taken; see loader_attach. */
static int attach_locked(const char *ifname, unsigned int ifindex, enum rw_attach_mode mode,
			 const struct limit_opts *o, const struct policy_image *img)
{
	uint64_t events[RW_CONN_EVENT_MAX];
	struct policy_maps maps;
	struct conn_maps conns;
	struct conn_cgroup cg;
	LIBBPF_OPTS(bpf_link_create_opts, link_opts);
	struct ratewall_bpf *skel = NULL;
	char dir[PATH_MAX], path[PATH_MAX];
	struct attachment other;
	struct rw_config cfg;
	bool made_dir = false;
	struct stat st;
	int link_fd = -1, err;
	__u32 zero = 0;

	err = pins_dev_dir_here(dir, sizeof(dir), ifname);
	if (err)
		return err;
	if (stat(dir, &st) == 0) {
		explain_existing_pins(ifname, dir);
		return -EEXIST;
	}
	if (attachment_find_by_ifindex(ifindex, ifname, &other)) {
		rw_err("%s is already attached, pinned under its earlier name at %s; detach it "
		       "first", ifname, other.dir);
		attachment_close(&other);
		return -EEXIST;
	}

	err = conns_cgroup_resolve(img->cgroup, &cg);
	if (err)
		return err;
	err = fill_config(&cfg, o, ifindex, mode);
	if (err)
		return err;
	cfg.cgroup_id = cg.id;
	/* For status only: a longer path is shown cut, ending in "...". */
	memcpy(cfg.cgroup_path, cg.path, sizeof(cfg.cgroup_path) - 1);
	if (strlen(cg.path) >= sizeof(cfg.cgroup_path))
		strcpy(cfg.cgroup_path + sizeof(cfg.cgroup_path) - 4, "...");
	cfg.conn_entries = img->conn_table ? img->conn_table : RW_DEFAULT_CONN_ENTRIES;

	skel = ratewall_bpf__open();
	if (!skel) {
		err = -errno;
		rw_err("cannot open the BPF object: %s", strerror(-err));
		return err;
	}
	err = bpf_map__set_max_entries(skel->maps.rw_sources, o->entries);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.rw_seen, seen_filter_words(o->entries));
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.rw_conns, cfg.conn_entries);
	/* an account per entry, per entry evicted since the last flush, and
	 * per other-sources slot of every CPU */
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.rw_event_acct,
					       2 * RW_EVENT_ENTRIES +
						       RW_COUNTER_SLOTS * (uint32_t)libbpf_num_possible_cpus());
	if (!err)
		err = ratewall_bpf__load(skel);
	if (err) {
		rw_err("cannot load the XDP program: %s", strerror(-err));
		goto out;
	}
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.rw_config), &zero, &cfg, BPF_ANY)) {
		err = -errno;
		rw_err("cannot write the configuration: %s", strerror(-err));
		goto out;
	}
	policy_maps_of_skeleton(skel, &maps);
	err = policy_install(&maps, img, POLICY_FRESH);
	if (err)
		goto out;

	err = pins_mkdir(dir);
	if (err == -EEXIST) {
		rw_err("%s is already attached (pins at %s); detach it first", ifname, dir);
		goto out;
	} else if (err) {
		rw_err("cannot create %s: %s", dir, strerror(-err));
		goto out;
	}
	made_dir = true;
	{
		/* The config first: see pin_names. */
		const struct {
			struct bpf_map *map;
			const char *name;
		} maps_to_pin[] = {
			{ skel->maps.rw_config, RW_PIN_CONFIG },
			{ skel->maps.rw_sources, RW_PIN_SOURCES },
			{ skel->maps.rw_counters, RW_PIN_COUNTERS },
			{ skel->maps.rw_policy, RW_PIN_POLICY },
			{ skel->maps.rw_ports, RW_PIN_PORTS },
			{ skel->maps.rw_cidrs, RW_PIN_CIDRS },
			{ skel->maps.rw_tenants, RW_PIN_TENANTS },
			{ skel->maps.rw_tenant_state, RW_PIN_TENANT_STATE },
			{ skel->maps.rw_class_state, RW_PIN_CLASS_STATE },
			{ skel->maps.rw_conns, RW_PIN_CONNS },
			{ skel->maps.rw_class_conns, RW_PIN_CLASS_CONNS },
			{ skel->maps.rw_conn_events, RW_PIN_CONN_EVENTS },
			{ skel->maps.rw_policy_text, RW_PIN_POLICY_TEXT },
			{ skel->maps.rw_talkers, RW_PIN_TALKERS },
			{ skel->maps.rw_global, RW_PIN_GLOBAL },
			{ skel->maps.rw_events, RW_PIN_EVENTS },
			{ skel->maps.rw_event_entries, RW_PIN_EVENT_ENTRIES },
			{ skel->maps.rw_event_acct, RW_PIN_EVENT_ACCT },
			{ skel->maps.rw_event_stats, RW_PIN_EVENT_STATS },
			{ skel->maps.rw_event_other, RW_PIN_EVENT_OTHER },
			{ skel->maps.rw_adapt, RW_PIN_ADAPT },
			{ skel->maps.rw_quotas, RW_PIN_QUOTAS },
			{ skel->maps.rw_quota_counts, RW_PIN_QUOTA_COUNTS },
		};

		for (size_t i = 0; !err && i < sizeof(maps_to_pin) / sizeof(maps_to_pin[0]); i++)
			err = pin_map(maps_to_pin[i].map, dir, maps_to_pin[i].name);
	}
	if (err)
		goto out;

	/* Connections are counted, those already open included, before the
	 * first SYN is judged against the counts. */
	conn_maps_of_skeleton(skel, &conns);
	{
		char socks_path[PATH_MAX];

		pins_path(path, sizeof(path), dir, RW_PIN_SOCKOPS_LINK);
		pins_path(socks_path, sizeof(socks_path), dir, RW_PIN_CONN_SOCKS);
		err = conns_attach(&maps, &conns, &cg, path, socks_path, events);
	}
	if (conns.socks_fd >= 0)
		close(conns.socks_fd);
	if (err)
		goto out;
	/* No packet runs yet: the whole config may still be rewritten. */
	cfg.uncounted_walked = conns_uncounted(events);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.rw_config), &zero, &cfg, BPF_ANY)) {
		err = -errno;
		rw_err("cannot write the configuration: %s", strerror(-err));
		goto out;
	}

	link_opts.flags = mode == RW_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	link_fd = bpf_link_create(bpf_program__fd(skel->progs.ratewall_xdp), ifindex,
				  BPF_XDP, &link_opts);
	if (link_fd < 0) {
		err = explain_link_error(-errno, ifname, mode);
		goto out;
	}
	pins_path(path, sizeof(path), dir, RW_PIN_LINK);
	if (bpf_obj_pin(link_fd, path)) {
		err = -errno;
		rw_err("cannot pin %s: %s", path, strerror(-err));
		goto out;
	}
	rw_note("%s: counting TCP connections in cgroup %s (%" PRIu64 " already open)", ifname,
	       cg.path, events[RW_CONN_SEEDED]);
	err = 0;
out:
	/* On failure nothing stays: closing an unpinned link detaches it. */
	if (link_fd >= 0)
		close(link_fd);
	if (err && made_dir)
		remove_pins(dir, false);
	ratewall_bpf__destroy(skel);
	return err;
}

int loader_attach(const char *ifname, enum rw_attach_mode mode, const struct limit_opts *o,
		  const struct policy_image *img)
{
	unsigned int ifindex = if_nametoindex(ifname);
	bool mounted = false;
	int lock, err;

	if (!ifindex) {
		rw_err("unknown interface '%s' in this network namespace", ifname);
		return -ENODEV;
	}
	/* The lock covers the mount too: two first attaches must not mount twice. */
	lock = pins_lock(true);
	if (lock < 0)
		return lock;
	err = pins_ensure_bpffs(true, &mounted);
	if (!err)
		err = attach_locked(ifname, ifindex, mode, o, img);
	/* A failed attach leaves no trace, not even the mount it made. */
	if (err && mounted)
		pins_unmount_if_empty();
	pins_unlock(lock);
	return err;
}

int loader_detach(const char *ifname)
{
	struct attachment a;
	int lock, err;

	lock = pins_lock(true);
	if (lock < 0)
		return lock;
	err = attachment_resolve(ifname, &a);
	if (err >= 0) {
		attachment_close(&a);
		err = remove_pins(a.dir, true);
	}
	pins_unlock(lock);
	return err;
}

/*
 * Test-only hook: RATEWALL_TEST_SET_DELAY_MS holds `set` between reading
 * the config and storing it, so that a test can overlap two sets and show
 * that the lock keeps them from losing each other's fields. Unset, it
 * costs one getenv.
 */
static void test_set_delay(void)
{
	const char *v = getenv("RATEWALL_TEST_SET_DELAY_MS");
	unsigned long ms = v ? strtoul(v, NULL, 10) : 0;
	struct timespec ts;

	if (!ms)
		return;
	if (ms > 10000)
		ms = 10000;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Opens the attachment of `ifname` for a change: it must be running on an
 * interface of this namespace. Prints one error line otherwise.
 */
static int open_for_change(const char *ifname, struct attachment *a)
{
	int err = attachment_open(ifname, a);

	if (err)
		return err;
	if (!a->link_ifindex) {
		rw_err("the attachment of %s is defunct (its interface was removed): nothing to "
		       "change; run 'ratewall link detach dev %s'", ifname, a->pin_name);
		attachment_close(a);
		return -ENODEV;
	}
	if (a->moved) {
		rw_err("the attachment pinned as %s runs on an interface that moved to another "
		       "network namespace: it cannot be changed from here; 'ratewall link detach "
		       "dev %s' removes it", a->pin_name, a->pin_name);
		attachment_close(a);
		return -EXDEV;
	}
	return 0;
}

/*
 * Writes through a shared mapping of the config entry: every field the
 * fast path reads is one word, stored atomically, and nothing is stored
 * before every check has passed. The exclusive lock keeps two concurrent
 * `link set`s from mixing their fields.
 */
static int set_locked(const char *ifname, const struct live_change *chg)
{
	struct rw_config *live, next;
	struct attachment a;
	struct limit_opts o;
	size_t cfg_len;
	int err;

	err = open_for_change(ifname, &a);
	if (err)
		return err;
	live = map_mmap(a.maps.config_fd, sizeof(*live), &cfg_len);
	if (!live) {
		err = -errno;
		rw_err("cannot map the configuration of %s: %s", ifname, strerror(-err));
		attachment_close(&a);
		return err;
	}
	next = *live;
	limit_opts_default(&o);
	o.new_rate = chg->has_new_rate ? chg->new_rate : next.new_rate;
	o.new_burst = chg->has_new_burst ? chg->new_burst : next.new_burst;
	o.prefix4 = next.prefix4;
	o.prefix6 = next.prefix6;
	o.entries = next.max_entries;
	o.malformed_drop = chg->has_malformed ? chg->malformed_drop : next.malformed_drop;
	limits_to_config(&o, &next);
	test_set_delay();

	live->new_rate = next.new_rate;
	live->new_burst = next.new_burst;
	__atomic_store_n(&live->new_limit, next.new_limit, __ATOMIC_RELEASE);
	__atomic_store_n(&live->malformed_drop, next.malformed_drop, __ATOMIC_RELAXED);
	if (chg->has_shed)
		__atomic_store_n(&live->shed_all, chg->shed ? 1 : 0, __ATOMIC_RELEASE);
	munmap(live, cfg_len);
	attachment_close(&a);
	return 0;
}

int loader_set(const char *ifname, const struct live_change *chg)
{
	int lock, err;

	lock = pins_lock(true);
	if (lock < 0)
		return lock;
	err = set_locked(ifname, chg);
	pins_unlock(lock);
	return err;
}

/*
 * Installs `img` over the live policy of the opened attachment `a`: the
 * fixed `connections:` settings must agree, and a walk of the open
 * connections that the new policy needs is loaded before anything changes.
 */
static int install_locked(struct attachment *a, const char *ifname,
			  const struct policy_image *img, enum policy_install_kind kind)
{
	uint64_t events[RW_CONN_EVENT_MAX] = { 0 };
	struct conns_bpf *walker = NULL;
	bool walk = false;
	struct rw_config cfg;
	__u32 zero = 0;
	int err = 0;

	if (bpf_map_lookup_elem(a->maps.config_fd, &zero, &cfg)) {
		err = -errno;
		rw_err("cannot read the configuration of %s: %s", ifname, strerror(-err));
		return err;
	}
	/* An edit keeps the live policy's settings: nothing to check, and a
	 * cgroup recreated since attach must not block every change. */
	if (kind != POLICY_EDIT)
		err = conns_check_fixed(&cfg, img, ifname);
	if (!err)
		err = conns_walk_needed(&a->maps, &a->conns, &cfg, img, &walk);
	/* Loaded before anything changes: a walk that cannot run refuses the change. */
	if (!err && walk) {
		walker = conns_walker_load(&a->maps, &a->conns, cfg.cgroup_id);
		if (!walker)
			err = -errno ? -errno : -EINVAL;
	}
	if (!err)
		err = policy_install(&a->maps, img, kind);
	/* Open connections follow their port to the class the new policy gives it. */
	if (!err && walker) {
		err = conns_walk(walker, &a->conns, events);
		if (err)
			rw_err("the policy is applied, but connections it moves to another class are "
			       "still counted under their old one");
		else
			conns_note_walk(&a->maps, &a->conns);
	}
	if (!err && events[RW_CONN_MOVED])
		rw_note("%s: %" PRIu64 " open connections recounted under their new class",
		       ifname, events[RW_CONN_MOVED]);
	conns_walker_free(walker);
	return err;
}

int loader_policy_apply(const char *ifname, const struct policy_image *img)
{
	struct attachment a;
	int lock, err;

	lock = pins_lock(true);
	if (lock < 0)
		return lock;
	err = open_for_change(ifname, &a);
	if (!err) {
		err = install_locked(&a, ifname, img, POLICY_REPLACE);
		attachment_close(&a);
	}
	pins_unlock(lock);
	return err;
}

int live_policy_model(const struct policy_maps *m, const char *ifname, struct policy *p,
		      struct rw_policy *active)
{
	char errors[4096], name[64];
	uint32_t slot;
	char *text;
	int err;

	err = policy_read_active(m, &slot, active);
	if (err) {
		rw_err("cannot read the live policy of %s: %s", ifname, strerror(-err));
		return err;
	}
	text = policy_text_read(m, slot, active->text_len);
	if (!text) {
		err = -errno;
		rw_err("cannot read the text of the live policy of %s: %s", ifname, strerror(-err));
		return err;
	}
	snprintf(name, sizeof(name), "live policy of %s", ifname);
	err = policy_parse_string(name, text, strlen(text), p, errors, sizeof(errors));
	free(text);
	if (err) {
		/* Only a build mismatch or a broken pin can get here: say what it said. */
		rw_err("the live policy of %s does not read back: %s", ifname, errors);
		return -EINVAL;
	}
	return 0;
}

int loader_policy_edit(const char *ifname, policy_edit_fn edit, void *ctx)
{
	struct policy p = { 0 };
	struct policy_image *img = NULL;
	struct rw_policy active;
	struct attachment a;
	bool refused;
	int lock, err;

	lock = pins_lock(true);
	if (lock < 0)
		return lock;
	err = open_for_change(ifname, &a);
	if (err)
		goto unlock;
	err = live_policy_model(&a.maps, ifname, &p, &active);
	if (!err) {
		err = edit(&p, ctx);
		/* The edits say why they refuse; running out of memory they leave to us. */
		if (err == -ENOMEM)
			rw_err("out of memory changing the policy of %s", ifname);
	}
	if (!err) {
		img = policy_load_model(&p, "the change is refused: ", &refused);
		err = img ? 0 : refused ? -EINVAL : -ENOMEM;
	}
	test_set_delay();
	if (!err)
		err = install_locked(&a, ifname, img, POLICY_EDIT);
	policy_image_delete(img);
	policy_free(&p);
	attachment_close(&a);
unlock:
	pins_unlock(lock);
	return err;
}
