// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/file.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "args.h"
#include "log.h"
#include "netns.h"
#include "pins.h"

static int fits(int n, size_t len)
{
	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

int pins_ns_dir(char *buf, size_t len, bool init_netns, uint64_t cookie)
{
	if (init_netns)
		return fits(snprintf(buf, len, "%s", RW_PIN_ROOT), len);
	return fits(snprintf(buf, len, "%s/netns:%" PRIu64, RW_PIN_ROOT, cookie), len);
}

#define ESC_DOT "%2e"
#define ESC_PCT "%25"

int pins_name_encode(char *buf, size_t len, const char *ifname)
{
	size_t n = 0;

	if (!arg_ifname_valid(ifname))
		return -EINVAL;
	for (const char *p = ifname; *p; p++) {
		const char *esc = *p == '.' ? ESC_DOT : *p == '%' ? ESC_PCT : NULL;
		size_t k = esc ? 3 : 1;

		if (n + k >= len)
			return -ENAMETOOLONG;
		if (esc)
			memcpy(buf + n, esc, k);
		else
			buf[n] = *p;
		n += k;
	}
	if (n >= len)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

int pins_name_decode(char *buf, size_t len, const char *dirname)
{
	size_t n = 0;

	if (len == 0)
		return -ENAMETOOLONG;
	for (const char *p = dirname; *p; p++) {
		char c = *p;

		/* Only the two escapes, lower case, so each name has one spelling. */
		if (strncmp(p, ESC_DOT, 3) == 0) {
			c = '.';
			p += 2;
		} else if (strncmp(p, ESC_PCT, 3) == 0) {
			p += 2;
		} else if (c == '%' || c == '.') {
			return -EINVAL;
		}
		if (n + 1 >= len)
			return -ENAMETOOLONG;
		buf[n++] = c;
	}
	buf[n] = '\0';
	return arg_ifname_valid(buf) ? 0 : -EINVAL;
}

int pins_dev_dir(char *buf, size_t len, bool init_netns, uint64_t cookie,
		 const char *ifname)
{
	char ns[256], name[NAME_MAX + 1];
	int err = pins_ns_dir(ns, sizeof(ns), init_netns, cookie);

	if (!err)
		err = pins_name_encode(name, sizeof(name), ifname);
	return err ? err : pins_path(buf, len, ns, name);
}

int pins_ns_dir_here(char *buf, size_t len)
{
	uint64_t cookie = 0;
	int err = netns_cookie(&cookie);

	if (err) {
		rw_err("cannot read the network namespace cookie: %s", strerror(-err));
		return err;
	}
	return pins_ns_dir(buf, len, netns_is_host(), cookie);
}

int pins_dev_dir_here(char *buf, size_t len, const char *ifname)
{
	char ns[256], name[NAME_MAX + 1];
	int err = pins_ns_dir_here(ns, sizeof(ns));

	if (!err)
		err = pins_name_encode(name, sizeof(name), ifname);
	return err ? err : pins_path(buf, len, ns, name);
}

int pins_path(char *buf, size_t len, const char *dir, const char *name)
{
	return fits(snprintf(buf, len, "%s/%s", dir, name), len);
}

int pins_mkdir(const char *dir)
{
	char buf[PATH_MAX], *first = NULL; /* where the first parent made here ends */
	int err = 0;

	if (fits(snprintf(buf, sizeof(buf), "%s", dir), sizeof(buf)))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p && !err; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) == 0)
			first = first ? first : p;
		else if (errno != EEXIST)
			err = -errno;
		*p = '/';
	}
	if (!err && mkdir(buf, 0700) == 0)
		return 0;
	if (!err)
		err = -errno;
	/* Deepest first; parents that were there before stay. */
	while (first) {
		char *slash = strrchr(buf, '/');

		if (!slash || slash < first)
			break;
		*slash = '\0';
		rmdir(buf);
	}
	return err;
}

bool pins_bpffs_mounted(void)
{
	struct statfs st;

	return statfs(RW_BPFFS, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

int pins_ensure_bpffs(bool may_mount, bool *mounted)
{
	if (mounted)
		*mounted = false;
	if (pins_bpffs_mounted())
		return 0;
	if (!may_mount) {
		rw_err("bpffs is not mounted at %s: nothing is attached here", RW_BPFFS);
		return -ENOENT;
	}
	if (mntns_is_private()) {
		rw_err("bpffs is not mounted at %s in this mount namespace (as under "
		       "'ip netns exec'); pins made here would vanish when ratewall exits: "
		       "use 'nsenter --net=/run/netns/NAME ratewall ...' or mount bpffs first",
		       RW_BPFFS);
		return -ENOENT;
	}
	if (mount("bpf", RW_BPFFS, "bpf", 0, "mode=0700") < 0) {
		int err = errno;

		rw_err("cannot mount bpffs at %s: %s", RW_BPFFS, strerror(err));
		return -err;
	}
	if (mounted)
		*mounted = true;
	return 0;
}

void pins_unmount_if_empty(void)
{
	DIR *d = opendir(RW_BPFFS);
	struct dirent *de;
	bool empty = true;

	if (!d)
		return;
	while (empty && (de = readdir(d)))
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	if (empty)
		umount2(RW_BPFFS, UMOUNT_NOFOLLOW);
}

static int lock_with(int how)
{
	int fd, err;

	if (mkdir(RW_LOCK_DIR, 0755) < 0 && errno != EEXIST) {
		err = errno;
		rw_err("cannot create %s for the lock: %s", RW_LOCK_DIR, strerror(err));
		return -err;
	}
	fd = open(RW_LOCK_FILE, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = errno;
		rw_err("cannot open %s to lock it: %s", RW_LOCK_FILE, strerror(err));
		return -err;
	}
	if (flock(fd, how) < 0) {
		err = errno;
		if (err != EWOULDBLOCK)
			rw_err("cannot lock %s: %s", RW_LOCK_FILE, strerror(err));
		close(fd);
		return -err;
	}
	return fd;
}

int pins_lock(bool exclusive)
{
	return lock_with(exclusive ? LOCK_EX : LOCK_SH);
}

int pins_try_lock_shared(void)
{
	return lock_with(LOCK_SH | LOCK_NB);
}

int pins_try_lock_exclusive(void)
{
	return lock_with(LOCK_EX | LOCK_NB);
}

void pins_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* closing the last fd releases the flock */
}
