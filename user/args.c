// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "log.h"

bool arg_is_prefix(const char *word, const char *keyword)
{
	size_t n = strlen(word);

	return n > 0 && strncmp(word, keyword, n) == 0;
}

int arg_match(const char *word, const char *const *keywords)
{
	int found = -1;

	for (int i = 0; keywords[i]; i++) {
		if (strcmp(word, keywords[i]) == 0)
			return i; /* an exact match beats prefixes of longer words */
		if (arg_is_prefix(word, keywords[i])) {
			if (found >= 0)
				return -2;
			found = i;
		}
	}
	return found;
}

int arg_take_value(struct arg_cursor *cur, const char *keyword, const char **value)
{
	if (cur->argc < 1) {
		rw_err("'%s' needs a value", keyword);
		return -1;
	}
	*value = cur->argv[0];
	cur->argc--;
	cur->argv++;
	return 0;
}

int arg_parse_u64(const char *keyword, const char *value, uint64_t min, uint64_t max,
		  uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)value[0])) {
		rw_err("%s '%s' is not a non-negative integer", keyword, value);
		return -1;
	}
	errno = 0;
	v = strtoull(value, &end, 10);
	if (*end != '\0') {
		rw_err("%s '%s' is not a non-negative integer", keyword, value);
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		rw_err("%s %s is out of range [%" PRIu64 ", %" PRIu64 "]", keyword, value,
		       min, max);
		return -1;
	}
	*out = v;
	return 0;
}

bool arg_ifname_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= 16 || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *p = name; *p; p++) {
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p))
			return false;
	}
	return true;
}

bool arg_is_option(const char *word)
{
	return word[0] == '-' && word[1] && !isdigit((unsigned char)word[1]);
}
