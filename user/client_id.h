/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * How an event names its client: the address, or a keyed hash of it when
 * the policy asks for redaction. The key comes from a file the operator
 * gives every gateway, so one client has one id across the fleet and
 * nobody without the key can tell which address it stands for.
 */
#ifndef RW_CLIENT_ID_H
#define RW_CLIENT_ID_H

#include <stddef.h>
#include <stdint.h>

#define CLIENT_KEY_MIN 16
#define CLIENT_KEY_MAX 256
/* "h:" and 16 hex digits, or an IPv6 address */
#define CLIENT_ID_MAX 64

struct client_key {
	uint8_t bytes[CLIENT_KEY_MAX];
	size_t len; /* 0: no key, ids are addresses */
};

/* Reads the key file (CLIENT_KEY_MIN to CLIENT_KEY_MAX bytes). 0, or
 * -errno after one error line naming the file. */
int client_key_read(const char *path, struct client_key *key);

/* The id of an address (family 4 or 6, network order): the address as
 * text without a key, else "h:" and the first 64 bits of its HMAC-SHA256
 * under the key, in hex. */
void client_id_format(const struct client_key *key, uint8_t family, const uint32_t addr[4],
		      char out[CLIENT_ID_MAX]);

#endif
