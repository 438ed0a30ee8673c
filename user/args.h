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

/*
 * True when `name` could name an interface: what the kernel's
 * dev_valid_name accepts (1..15 bytes, not "." or "..", no '/', ':' or
 * white space). It becomes a directory under /sys/fs/bpf, so this is
 * also what keeps `dev ..` from reaching outside ratewall's pins.
 */
bool arg_ifname_valid(const char *name);

/*
 * True when `word` is meant as an option (-j, --json): a dash followed by
 * anything but a digit, so that a value like "-5" reaches its keyword and
 * is refused there as a negative number.
 */
bool arg_is_option(const char *word);

#endif
