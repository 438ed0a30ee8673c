// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event_sink.h"
#include "log.h"

/* 0640: the lines may name client addresses. */
static int open_path(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0)
		rw_err("cannot open the events file %s: %s", path, strerror(errno));
	return fd;
}

int event_sink_open(struct event_sink *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (strlen(path) >= sizeof(s->path)) {
		rw_err("events file path %s is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(s->path, path);
	if (!strcmp(path, "-")) {
		s->fd = STDOUT_FILENO;
		return 0;
	}
	s->fd = open_path(path);
	return s->fd < 0 ? -errno : 0;
}

int event_sink_reopen(struct event_sink *s)
{
	int fd;

	if (!strcmp(s->path, "-"))
		return 0;
	fd = open_path(s->path);
	if (fd < 0)
		return -errno;
	close(s->fd);
	s->fd = fd;
	s->reopens++;
	return 0;
}

int event_sink_write(struct event_sink *s, const char *line)
{
	size_t len = strlen(line);
	char *buf = malloc(len + 1);
	ssize_t n;

	/* one write of the line and its newline: appended whole, never mixed
	 * with a half of another (a short write is counted as lost) */
	if (buf) {
		memcpy(buf, line, len);
		buf[len] = '\n';
	}
	n = buf ? write(s->fd, buf, len + 1) : -1;
	free(buf);
	if (n != (ssize_t)(len + 1)) {
		s->write_errors++;
		s->failing = true;
		return -EIO;
	}
	s->failing = false;
	s->lines++;
	return 0;
}

void event_sink_close(struct event_sink *s)
{
	if (s->fd > STDOUT_FILENO)
		close(s->fd);
	s->fd = -1;
}
