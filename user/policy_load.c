// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <string.h>

#include "log.h"
#include "policy_builtin.h"
#include "policy_load.h"

struct policy_image *policy_load(const char *path)
{
	struct policy_image *img;
	struct policy p = { 0 };
	char errors[16384];

	if (policy_parse_file(path, &p, errors, sizeof(errors))) {
		char *line, *save = NULL;

		for (line = strtok_r(errors, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			rw_err("%s", line);
		return NULL;
	}
	img = policy_image_new(&p);
	policy_free(&p);
	return img;
}

struct policy_image *policy_load_builtin(const struct policy_limit *packets)
{
	struct policy p;

	policy_builtin(&p, RW_DEFAULT_RATE, RW_DEFAULT_BURST);
	if (packets)
		p.classes[0].source.packets = *packets;
	return policy_image_new(&p);
}
