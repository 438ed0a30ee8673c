// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "policy_builtin.h"
#include "policy_emit.h"
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

struct policy_image *policy_load_builtin(const struct policy_limit *packets, bool *refused)
{
	struct policy p, checked = { 0 };
	struct policy_image *img;
	char errors[2048], *text;

	*refused = false;
	policy_builtin(&p, RW_DEFAULT_RATE, RW_DEFAULT_BURST);
	if (packets)
		p.classes[0].source.packets = *packets;
	/* Checked like a file, through its text: a rate and burst that no file
	 * could hold (a refill window over 208 days) are refused here too. */
	text = policy_emit_yaml(&p);
	if (!text)
		return NULL;
	if (policy_parse_string("rate and burst", text, strlen(text), &checked, errors,
				sizeof(errors))) {
		char *msg = strstr(errors, ": "); /* after "rate and burst:LINE" */

		errors[strcspn(errors, "\n")] = '\0';
		rw_err("%s", msg ? msg + 2 : errors);
		*refused = true;
		free(text);
		return NULL;
	}
	free(text);
	img = policy_image_new(&checked);
	policy_free(&checked);
	return img;
}
