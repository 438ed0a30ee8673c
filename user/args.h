/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Keyword/value argument parsing in bpftool's style. */
#ifndef RW_ARGS_H
#define RW_ARGS_H

#include <stdbool.h>
#include <stdint.h>

struct arg_cursor {
	int argc;
	char **argv;
};

/* True when `word` is a non-empty prefix of `keyword` (bpftool's matching). */
bool arg_is_prefix(const char *word, const char *keyword);

/*
 * Matches `word` against `keywords` (NULL-terminated) by unique prefix.
 * Returns the index, -1 when nothing matches, -2 when it is ambiguous.
 */
int arg_match(const char *word, const char *const *keywords);

/* Takes the next word as the value of `keyword`; errors name the keyword. */
int arg_take_value(struct arg_cursor *cur, const char *keyword, const char **value);

/* Parses a decimal unsigned integer in [min, max]; errors name keyword and value. */
int arg_parse_u64(const char *keyword, const char *value, uint64_t min, uint64_t max,
		  uint64_t *out);

#endif
