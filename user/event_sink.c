// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>

#include "event_sink.h"
#include "log.h"

static FILE *open_path(const char *path)
{
	FILE *f = fopen(path, "a");

	if (!f)
		rw_err("cannot open the events file %s: %s", path, strerror(errno));
	return f;
}

int event_sink_open(struct event_sink *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	if (strlen(path) >= sizeof(s->path)) {
		rw_err("events file path %s is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(s->path, path);
	if (!strcmp(path, "-")) {
		s->f = stdout;
		return 0;
	}
	s->f = open_path(path);
	return s->f ? 0 : -errno;
}

int event_sink_reopen(struct event_sink *s)
{
	FILE *f;

	if (!strcmp(s->path, "-"))
		return 0;
	f = open_path(s->path);
	if (!f)
		return -errno;
	fclose(s->f);
	s->f = f;
	s->reopens++;
	return 0;
}

int event_sink_write(struct event_sink *s, const char *line)
{
	if (fputs(line, s->f) < 0 || fputc('\n', s->f) == EOF || fflush(s->f)) {
		s->write_errors++;
		s->failing = true;
		clearerr(s->f);
		return -EIO;
	}
	s->failing = false;
	s->lines++;
	return 0;
}

void event_sink_close(struct event_sink *s)
{
	if (s->f && s->f != stdout)
		fclose(s->f);
	s->f = NULL;
}
