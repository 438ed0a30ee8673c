/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Shared mappings of mmapable array maps: live changes are single atomic
 * stores into the words the XDP program reads.
 */
#ifndef RW_MAP_MMAP_H
#define RW_MAP_MMAP_H

#include <stddef.h>

/* Maps the first `bytes` of the map behind fd read-write, rounded to whole
 * pages (*len, for munmap); NULL with errno set on failure. */
void *map_mmap(int fd, size_t bytes, size_t *len);

/* The kernel lays array elements out every value size rounded up to 8. */
static inline size_t map_mmap_stride(size_t value_size)
{
	return (value_size + 7) & ~(size_t)7;
}

#endif
