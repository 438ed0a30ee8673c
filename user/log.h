/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* One-line diagnostics, always prefixed so scripts can tell ours apart. */
#ifndef RW_LOG_H
#define RW_LOG_H

#include <stdio.h>

#define rw_err(fmt, ...) fprintf(stderr, "ratewall: " fmt "\n", ##__VA_ARGS__)

#endif
