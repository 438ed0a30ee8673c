// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy_errors.h"

void policy_error(struct policy_errors *e, int line, const char *fmt, ...)
{
	struct policy_error *slot;
	va_list ap;
	int n;

	if (e->n == POLICY_MAX_ERRORS) {
		e->too_many = true;
		return;
	}
	slot = &e->list[e->n];
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	slot->msg = n < 0 ? NULL : malloc((size_t)n + 1);
	if (!slot->msg) {
		e->out_of_memory = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(slot->msg, (size_t)n + 1, fmt, ap);
	va_end(ap);
	slot->line = line;
	slot->seq = e->n++;
}

bool policy_errors_stopped(const struct policy_errors *e)
{
	return e->too_many || e->out_of_memory;
}

bool policy_errors_any(const struct policy_errors *e)
{
	return e->n || e->too_many || e->out_of_memory;
}

static int by_line(const void *a, const void *b)
{
	const struct policy_error *x = a, *y = b;

	return x->line != y->line ? x->line - y->line : x->seq - y->seq;
}

__attribute__((format(printf, 4, 5))) static void append(char *err, size_t errlen, size_t *used,
							  const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || *used + 1 >= errlen)
		return;
	va_start(ap, fmt);
	n = vsnprintf(err + *used, errlen - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n < errlen - *used ? (size_t)n : errlen - *used - 1;
}

void policy_errors_write(struct policy_errors *e, char *err, size_t errlen)
{
	size_t used = 0;

	if (err && errlen)
		err[0] = '\0';
	qsort(e->list, (size_t)e->n, sizeof(e->list[0]), by_line);
	for (int i = 0; i < e->n; i++)
		append(err, errlen, &used, "%s%s:%d: %s", i ? "\n" : "", e->name, e->list[i].line,
		       e->list[i].msg);
	if (e->too_many)
		append(err, errlen, &used, "\n%s: too many errors, stopping", e->name);
	if (e->out_of_memory)
		append(err, errlen, &used, "%s%s: out of memory", used ? "\n" : "", e->name);
}

void policy_errors_free(struct policy_errors *e)
{
	for (int i = 0; i < e->n; i++)
		free(e->list[i].msg);
	e->n = 0;
}
