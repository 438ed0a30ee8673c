// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "client_id.h"
#include "log.h"

int client_key_read(const char *path, struct client_key *key)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	key->len = 0;
	if (!f) {
		int err = -errno;

		rw_err("cannot read the client id key %s: %s", path, strerror(-err));
		return err;
	}
	/* one byte more than allowed tells a long file from a full one */
	n = fread(key->bytes, 1, sizeof(key->bytes), f);
	if (n == sizeof(key->bytes) && fgetc(f) != EOF)
		n = sizeof(key->bytes) + 1;
	fclose(f);
	if (n < CLIENT_KEY_MIN || n > CLIENT_KEY_MAX) {
		rw_err("client id key %s holds %s%zu bytes; it needs %d to %d (for instance "
		       "'head -c 32 /dev/urandom > %s')",
		       path, n > CLIENT_KEY_MAX ? "more than " : "", n > CLIENT_KEY_MAX ? n - 1 : n,
		       CLIENT_KEY_MIN, CLIENT_KEY_MAX, path);
		return -EINVAL;
	}
	key->len = n;
	return 0;
}

void client_id_format(const struct client_key *key, uint8_t family, const uint32_t addr[4],
		      char out[CLIENT_ID_MAX])
{
	uint8_t msg[17], mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	size_t msg_len = family == 6 ? 17 : 5;

	if (!key->len) {
		inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, out, CLIENT_ID_MAX);
		return;
	}
	/* the family leads, so an IPv4 address never hashes like an IPv6 one */
	msg[0] = family;
	memcpy(msg + 1, addr, msg_len - 1);
	HMAC(EVP_sha256(), key->bytes, (int)key->len, msg, msg_len, mac, &mac_len);
	snprintf(out, CLIENT_ID_MAX, "h:%02x%02x%02x%02x%02x%02x%02x%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5], mac[6], mac[7]);
}
