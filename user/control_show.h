/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The control loop's state for `stats show`: read from the pinned rw_adapt record. */
#ifndef RW_CONTROL_SHOW_H
#define RW_CONTROL_SHOW_H

#include <stdio.h>
#include <json-c/json.h>
#include "attachment.h"

/* The loop's last sample, shed switch and each adaptive class's multiplier
 * and live rates (from the live policy `pol`); NULL when no loop has run. */
json_object *control_show_json(const struct attachment *a, const struct rw_policy *pol);

/* The same as text lines. */
void control_show_print(FILE *f, json_object *control);

#endif
