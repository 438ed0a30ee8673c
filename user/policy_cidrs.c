// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy_cidrs.h"

bool policy_cidr_equal(const struct policy_cidr *a, const struct policy_cidr *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

long policy_cidr_find(const struct policy_cidr *list, size_t n, const struct policy_cidr *c)
{
	for (size_t i = 0; i < n; i++)
		if (policy_cidr_equal(&list[i], c))
			return (long)i;
	return -1;
}

int policy_cidr_append(struct policy_cidr **list, size_t *n, const struct policy_cidr *c)
{
	struct policy_cidr *grown = realloc(*list, (*n + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	grown[(*n)++] = *c;
	*list = grown;
	return 0;
}

void policy_cidr_remove(struct policy_cidr *list, size_t *n, size_t i)
{
	memmove(&list[i], &list[i + 1], (*n - i - 1) * sizeof(*list));
	(*n)--;
}
