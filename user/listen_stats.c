// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * netstat is pairs of lines: "TcpExt: Name1 Name2 ..." then
 * "TcpExt: 1 2 ...". Columns are found by name, as they vary by kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listen_stats.h"

/* The file is about 4 KiB on current kernels. */
#define LS_FILE_MAX 65536

static const char *ls_next_line(const char *p)
{
	const char *nl = strchr(p, '\n');

	return nl ? nl + 1 : NULL;
}

/* The n-th space-separated word of the line at p (0: "TcpExt:"), its length in *len. */
static const char *ls_word(const char *p, unsigned int n, size_t *len)
{
	for (unsigned int i = 0;; i++) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			return NULL;
		*len = strcspn(p, " \n");
		if (i == n)
			return p;
		p += *len;
	}
}

int listen_stats_parse(const char *text, struct listen_stats *out)
{
	for (const char *p = text; p; p = ls_next_line(p)) {
		const char *values, *w;
		bool got_o = false, got_d = false;
		size_t len;

		if (strncmp(p, "TcpExt:", 7) != 0)
			continue;
		values = ls_next_line(p);
		if (!values || strncmp(values, "TcpExt:", 7) != 0)
			return -EINVAL;
		for (unsigned int i = 1; (w = ls_word(p, i, &len)); i++) {
			bool is_o = len == 15 && !memcmp(w, "ListenOverflows", 15);
			bool is_d = len == 11 && !memcmp(w, "ListenDrops", 11);
			const char *v;
			char *end;
			unsigned long long n;

			if (!is_o && !is_d)
				continue;
			v = ls_word(values, i, &len);
			if (!v)
				return -EINVAL;
			n = strtoull(v, &end, 10);
			if (end != v + len)
				return -EINVAL;
			if (is_o) {
				out->overflows = n;
				got_o = true;
			} else {
				out->drops = n;
				got_d = true;
			}
		}
		return got_o && got_d ? 0 : -EINVAL;
	}
	return -EINVAL;
}

int listen_stats_read(struct listen_stats *out)
{
	int fd = open("/proc/thread-self/net/netstat", O_RDONLY | O_CLOEXEC);
	char *buf;
	size_t len = 0;
	int ret;

	if (fd < 0)
		return -errno;
	buf = malloc(LS_FILE_MAX);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	/* procfs hands out a page or so per read */
	for (;;) {
		ssize_t n = read(fd, buf + len, LS_FILE_MAX - 1 - len);

		if (n < 0) {
			ret = -errno;
			goto out;
		}
		if (n == 0 || (len += (size_t)n) == LS_FILE_MAX - 1)
			break;
	}
	buf[len] = '\0';
	ret = listen_stats_parse(buf, out);
out:
	free(buf);
	close(fd);
	return ret;
}
