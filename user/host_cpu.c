// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "host_cpu.h"

int host_cpu_parse(const char *text, struct cpu_times *out)
{
	/* user nice system idle iowait irq softirq steal [guest guest_nice] */
	uint64_t v[8] = { 0 };
	int n;

	/* the aggregate line comes first, as "cpu " (cpu0.. follow) */
	if (strncmp(text, "cpu ", 4) != 0)
		return -EINVAL;
	n = sscanf(text + 4, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		   " %" SCNu64 " %" SCNu64 " %" SCNu64,
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	/* kernels before 2.6.11 had fewer columns; four is the least that means anything */
	if (n < 4)
		return -EINVAL;
	out->total = 0;
	for (int i = 0; i < n; i++)
		out->total += v[i];
	out->idle = v[3] + v[4];
	return 0;
}

int host_cpu_read(struct cpu_times *out)
{
	char buf[512]; /* the first line fits: ten numbers */
	ssize_t len;
	int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	if (len < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	buf[len] = '\0';
	return host_cpu_parse(buf, out);
}

double host_cpu_busy(const struct cpu_times *prev, const struct cpu_times *cur)
{
	double total, idle;

	if (cur->total <= prev->total || cur->idle < prev->idle)
		return NAN;
	total = (double)(cur->total - prev->total);
	idle = (double)(cur->idle - prev->idle);
	/* idle can outrun total by a tick: the columns are not read atomically */
	return idle >= total ? 0 : 1 - idle / total;
}
