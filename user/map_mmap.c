// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <sys/mman.h>

#include "map_mmap.h"

void *map_mmap(int fd, size_t bytes, size_t *len)
{
	void *p;

	*len = (bytes + 4095) & ~(size_t)4095;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}
