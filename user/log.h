/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* One-line diagnostics, always prefixed so scripts can tell ours apart. */
#ifndef RW_LOG_H
#define RW_LOG_H

#include <stdio.h>

#define rw_err(fmt, ...) fprintf(stderr, "ratewall: " fmt "\n", ##__VA_ARGS__)

/*
 * Notes on what a change did ("3 connections already open"). Set when the
 * output is JSON: notes then go to stderr, so stdout stays one document.
 */
extern int rw_notes_to_stderr;
#define rw_note(fmt, ...) \
	fprintf(rw_notes_to_stderr ? stderr : stdout, fmt "\n", ##__VA_ARGS__)

#endif
