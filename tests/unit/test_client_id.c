// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Client ids of refusal events: the address as text without a key; with
 * one, "h:" and 16 hex digits of a keyed hash, stable for a key and an
 * address and different for another of either. The key file's size
 * bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <cmocka.h>

#include "client_id.h"

static void addr_of(const char *text, uint8_t *family, uint32_t addr[4])
{
	memset(addr, 0, 4 * sizeof(uint32_t));
	if (strchr(text, ':')) {
		assert_int_equal(inet_pton(AF_INET6, text, addr), 1);
		*family = 6;
	} else {
		assert_int_equal(inet_pton(AF_INET, text, addr), 1);
		*family = 4;
	}
}

static void id_of(const struct client_key *key, const char *text, char out[CLIENT_ID_MAX])
{
	uint32_t addr[4];
	uint8_t family;

	addr_of(text, &family, addr);
	memset(out, 'Z', CLIENT_ID_MAX);
	client_id_format(key, family, addr, out);
	assert_true(memchr(out, 0, CLIENT_ID_MAX) != NULL);
}

static void key_of(struct client_key *key, const char *bytes, size_t len)
{
	memset(key, 0, sizeof(*key));
	assert_true(len <= sizeof(key->bytes));
	memcpy(key->bytes, bytes, len);
	key->len = len;
}

/* "h:" and exactly 16 lowercase hex digits. */
static void assert_hashed_shape(const char *id)
{
	assert_int_equal(strlen(id), 2 + 16);
	assert_int_equal(strncmp(id, "h:", 2), 0);
	for (size_t i = 2; i < 18; i++)
		assert_non_null(strchr("0123456789abcdef", id[i]));
}

static void without_a_key_the_id_is_the_address(void **state)
{
	static const char *const addrs[] = {
		"1.2.3.4",     "198.18.0.255",   "0.0.0.0", "255.255.255.255",
		"2001:db8::1", "2001:db8:1:2:3:4:5:6",     "::1",
		"::ffff:1.2.3.4",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	};
	struct client_key none;
	char id[CLIENT_ID_MAX];

	(void)state;
	memset(&none, 0, sizeof(none));
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		id_of(&none, addrs[i], id);
		assert_string_equal(id, addrs[i]);
	}
	/* the longest IPv6 text fits */
	assert_true(strlen("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") < CLIENT_ID_MAX);
}

static void with_a_key_the_id_is_a_keyed_hash(void **state)
{
	struct client_key k1, k2;
	char a[CLIENT_ID_MAX], b[CLIENT_ID_MAX], c[CLIENT_ID_MAX];

	(void)state;
	key_of(&k1, "0123456789abcdef0123456789abcdef", 32);
	key_of(&k2, "0123456789abcdef0123456789abcdeF", 32);

	id_of(&k1, "198.18.0.1", a);
	assert_hashed_shape(a);
	/* stable for the same key and address */
	id_of(&k1, "198.18.0.1", b);
	assert_string_equal(a, b);
	/* another key */
	id_of(&k2, "198.18.0.1", c);
	assert_hashed_shape(c);
	assert_string_not_equal(a, c);
	/* another address */
	id_of(&k1, "198.18.0.2", c);
	assert_string_not_equal(a, c);

	/* IPv6, and IPv4 against the IPv6 address with the same last 32 bits */
	id_of(&k1, "1.2.3.4", a);
	id_of(&k1, "::102:304", b);
	assert_hashed_shape(a);
	assert_hashed_shape(b);
	assert_string_not_equal(a, b);
	id_of(&k1, "::ffff:1.2.3.4", c);
	assert_string_not_equal(a, c);
	assert_string_not_equal(b, c);
	/* two IPv6 addresses differing in their last bit */
	id_of(&k1, "2001:db8::1", a);
	id_of(&k1, "2001:db8::", b);
	assert_string_not_equal(a, b);
	/* the address never shows */
	assert_null(strstr(a, "2001"));
}

/* The id is the first 64 bits of HMAC-SHA256(key, family byte + address). */
static void the_hash_is_hmac_sha256_of_family_and_address(void **state)
{
	struct client_key k;
	uint8_t msg[17], mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	char id[CLIENT_ID_MAX], want[CLIENT_ID_MAX];
	uint32_t addr[4];
	uint8_t family;

	(void)state;
	key_of(&k, "a-key-of-sixteen", 16);
	addr_of("203.0.113.9", &family, addr);
	msg[0] = 4;
	memcpy(msg + 1, addr, 4);
	assert_non_null(HMAC(EVP_sha256(), k.bytes, (int)k.len, msg, 5, mac, &mac_len));
	assert_int_equal(mac_len, 32);
	snprintf(want, sizeof(want), "h:%02x%02x%02x%02x%02x%02x%02x%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5], mac[6], mac[7]);
	id_of(&k, "203.0.113.9", id);
	assert_string_equal(id, want);

	addr_of("2001:db8::9", &family, addr);
	msg[0] = 6;
	memcpy(msg + 1, addr, 16);
	assert_non_null(HMAC(EVP_sha256(), k.bytes, (int)k.len, msg, 17, mac, &mac_len));
	snprintf(want, sizeof(want), "h:%02x%02x%02x%02x%02x%02x%02x%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5], mac[6], mac[7]);
	id_of(&k, "2001:db8::9", id);
	assert_string_equal(id, want);
}

/* A temporary file holding n bytes; its path goes to path. */
static void temp_key(char *path, size_t len, size_t n)
{
	uint8_t buf[1024];
	int fd;

	snprintf(path, len, "/tmp/rw_client_key_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_true(n <= sizeof(buf));
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static void key_files_hold_16_to_256_bytes(void **state)
{
	static const struct {
		size_t bytes;
		int rc;
	} cases[] = {
		{ 0, -EINVAL },  { 15, -EINVAL }, { 16, 0 },         { 32, 0 },
		{ 256, 0 },      { 257, -EINVAL }, { 1000, -EINVAL },
	};
	struct client_key k;
	char path[64], id1[CLIENT_ID_MAX], id2[CLIENT_ID_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		temp_key(path, sizeof(path), cases[i].bytes);
		memset(&k, 0xa5, sizeof(k));
		assert_int_equal(client_key_read(path, &k), cases[i].rc);
		if (cases[i].rc == 0) {
			assert_int_equal(k.len, cases[i].bytes);
			for (size_t j = 0; j < cases[i].bytes; j++)
				assert_int_equal(k.bytes[j], (uint8_t)(j * 7 + 1));
		} else {
			/* refused: no key, so nothing is hashed with a bad one */
			assert_int_equal(k.len, 0);
		}
		unlink(path);
	}

	/* a key read from a file hashes like the same bytes given directly */
	temp_key(path, sizeof(path), 32);
	assert_int_equal(client_key_read(path, &k), 0);
	unlink(path);
	id_of(&k, "198.18.0.1", id1);
	{
		struct client_key direct;
		char bytes[32];

		for (size_t j = 0; j < 32; j++)
			bytes[j] = (char)(uint8_t)(j * 7 + 1);
		key_of(&direct, bytes, 32);
		id_of(&direct, "198.18.0.1", id2);
	}
	assert_hashed_shape(id1);
	assert_string_equal(id1, id2);

	/* a missing file */
	assert_int_equal(client_key_read("/nonexistent/rw/client.key", &k), -ENOENT);
	assert_int_equal(k.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(without_a_key_the_id_is_the_address),
		cmocka_unit_test(with_a_key_the_id_is_a_keyed_hash),
		cmocka_unit_test(the_hash_is_hmac_sha256_of_family_and_address),
		cmocka_unit_test(key_files_hold_16_to_256_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
