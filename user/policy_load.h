/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* A policy file, or the built-in policy, parsed, checked and compiled. */
#ifndef RW_POLICY_LOAD_H
#define RW_POLICY_LOAD_H

#include <stdbool.h>
#include "policy_compile.h"

/*
 * Parses, validates and compiles a policy file. Every error goes to stderr,
 * one line each naming file and line; NULL then, and nothing was touched.
 */
struct policy_image *policy_load(const char *path);

/*
 * A model built in code (a live change, the built-in policy) checked whole
 * like a file and compiled. NULL when out of memory, or with *refused set
 * after one line per error, each "LEAD message" (no file or line: nobody
 * wrote one).
 */
struct policy_image *policy_load_model(const struct policy *p, const char *lead, bool *refused);

/* The built-in policy with `packets` as the default class's per-source
 * packet bucket (NULL: the default one), checked like a file. NULL when
 * out of memory, or with *refused set after one error line when the
 * bucket is one a policy cannot hold. */
struct policy_image *policy_load_builtin(const struct policy_limit *packets, bool *refused);

#endif
