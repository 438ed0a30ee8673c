// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "netns.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
/* Since Linux 6.18 the initial namespaces have fixed inode numbers (uapi
 * linux/nsfs.h); older kernels need PID 1's /proc entry to tell. */
#define RW_NET_NS_INIT_INO 0xEFFFFFF9U
#define RW_MNT_NS_INIT_INO 0xEFFFFFF8U

int netns_cookie(uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* 1 same, 0 different, -1 unknown (PID's entry not readable). */
static int same_ns(pid_t pid, const char *name)
{
	char self[64], other[64];
	struct stat a, b;

	snprintf(self, sizeof(self), "/proc/self/ns/%s", name);
	snprintf(other, sizeof(other), "/proc/%d/ns/%s", (int)pid, name);
	if (stat(self, &a) < 0 || stat(other, &b) < 0)
		return -1;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Linux 6.18 gave the initial namespaces those fixed inode numbers. */
static bool kernel_has_fixed_init_inos(void)
{
	struct utsname u;
	unsigned int major = 0, minor = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 18);
}

/*
 * On 6.18 and later the inode number answers alone, also inside a container
 * with its own PID namespace, whose PID 1 would otherwise pass for the
 * host's. Before that, compare with PID 1; when PID 1 cannot be inspected
 * the answer is "not initial", which only costs a longer pin path.
 */
static bool ns_is_init(const char *name, unsigned long init_ino)
{
	char self[64];
	struct stat st;

	if (kernel_has_fixed_init_inos()) {
		snprintf(self, sizeof(self), "/proc/self/ns/%s", name);
		return stat(self, &st) == 0 && st.st_ino == init_ino;
	}
	return same_ns(1, name) == 1;
}

bool netns_is_host(void)
{
	return ns_is_init("net", RW_NET_NS_INIT_INO);
}

bool mntns_is_private(void)
{
	return !ns_is_init("mnt", RW_MNT_NS_INIT_INO);
}
