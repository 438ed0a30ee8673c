/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Where event lines go: standard output, or a file opened for appending
 * and reopened on request (SIGHUP after logrotate moved it away).
 */
#ifndef RW_EVENT_SINK_H
#define RW_EVENT_SINK_H

#include <stdbool.h>
#include <stdint.h>

struct event_sink {
	char path[4096]; /* "-" for standard output */
	int fd;
	uint64_t lines;        /* written whole */
	uint64_t write_errors; /* lines lost to a failed write */
	uint64_t reopens;
	bool failing;          /* the last write failed */
};

/* Opens `path` ("-": stdout). 0, or -errno after one error line. */
int event_sink_open(struct event_sink *s, const char *path);
/* Opens the path again; on failure keeps writing to the old file. */
int event_sink_reopen(struct event_sink *s);
/* Writes one line (a newline is added) with one write(2), so that a
 * reader never sees half a line and a crash loses none written. */
int event_sink_write(struct event_sink *s, const char *line);
void event_sink_close(struct event_sink *s);

#endif
