// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "log.h"
#include "privileges.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool has_cap(const struct __user_cap_data_struct data[2], int cap)
{
	return data[cap / 32].effective & (1u << (cap % 32));
}

int privileges_check(const char *command)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0) {
		int err = errno; /* rw_err's fprintf may change errno */

		rw_err("cannot read capabilities: %s", strerror(err));
		return -err;
	}
	if ((has_cap(data, CAP_BPF) || has_cap(data, CAP_SYS_ADMIN)) &&
	    has_cap(data, CAP_NET_ADMIN))
		return 0;
	rw_err("permission denied: '%s' needs root (CAP_BPF and CAP_NET_ADMIN)", command);
	return -EPERM;
}
