/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* `ratewall link show`: what is attached in this network namespace. */
#ifndef RW_STATUS_H
#define RW_STATUS_H

#include <stdbool.h>

enum output_format {
	OUTPUT_TEXT = 0,
	OUTPUT_JSON,
	OUTPUT_JSON_PRETTY,
};

struct json_object;

/* Prints one JSON document on a line of its own, pretty when asked. */
void output_json(struct json_object *o, enum output_format fmt);

/* ifname NULL lists every attachment of this network namespace. */
int status_show(const char *ifname, enum output_format fmt);

#endif
