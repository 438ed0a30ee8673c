/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The errors of one policy parse, gathered so that every mistake in a file
 * is reported at once, in line order, as "NAME:LINE: message" lines.
 */
#ifndef RW_POLICY_ERRORS_H
#define RW_POLICY_ERRORS_H

#include <stdbool.h>
#include <stddef.h>

/* More errors than this mostly repeat one mistake; the report says it stopped. */
#define POLICY_MAX_ERRORS 32

struct policy_error {
	int line;
	int seq; /* order found, so that one line's errors keep their order */
	char *msg;
};

struct policy_errors {
	const char *name; /* the file, or the name given for a string */
	struct policy_error list[POLICY_MAX_ERRORS];
	int n;
	bool too_many;      /* another error came after the list was full */
	bool out_of_memory;
};

__attribute__((format(printf, 3, 4))) void policy_error(struct policy_errors *e, int line,
							 const char *fmt, ...);

/* True once there is nothing more worth looking for: the list is full or memory ran out. */
bool policy_errors_stopped(const struct policy_errors *e);

bool policy_errors_any(const struct policy_errors *e);

/*
 * Writes the errors sorted by line, one per line, no trailing newline.
 * When `err` fills up, the last line is cut and the rest dropped.
 */
void policy_errors_write(struct policy_errors *e, char *err, size_t errlen);

void policy_errors_free(struct policy_errors *e);

#endif
