// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "policy_builtin.h"
#include "policy_emit.h"
#include "policy_load.h"

/* Cuts " (line N)" and " (first at line N)": lines of a text nobody wrote. */
static void cut_line_refs(char *msg)
{
	char *open;

	while ((open = strstr(msg, " (line ")) || (open = strstr(msg, " (first at line "))) {
		char *close = strchr(open, ')');

		if (!close)
			break;
		memmove(open, close + 1, strlen(close + 1) + 1);
	}
}

/*
 * Prints a check's errors, one line each. For a file (`lead` NULL) as they
 * are: "FILE:LINE: message". For a policy nobody wrote as a file, its
 * made-up name and lines point nowhere: they go, and `lead` comes first.
 */
static void report_errors(char *errors, const char *lead)
{
	char *line, *save = NULL;

	for (line = strtok_r(errors, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *msg = line;

		if (lead) {
			msg = strstr(line, ": "); /* after "NAME:LINE" */
			msg = msg ? msg + 2 : line;
			cut_line_refs(msg);
		}
		rw_err("%s%s", lead ? lead : "", msg);
	}
}

struct policy_image *policy_load(const char *path)
{
	struct policy_image *img;
	struct policy p = { 0 };
	char errors[16384];

	if (policy_parse_file(path, &p, errors, sizeof(errors))) {
		report_errors(errors, NULL);
		return NULL;
	}
	img = policy_image_new(&p);
	policy_free(&p);
	return img;
}

struct policy_image *policy_load_model(const struct policy *p, const char *lead, bool *refused)
{
	struct policy checked = { 0 };
	struct policy_image *img;
	char errors[8192], *text;

	*refused = false;
	/* Checked like a file, through its text, so that errors spanning
	 * entries (a prefix in two lists, a 208-day window) are found too. */
	text = policy_emit_yaml(p);
	if (!text) {
		rw_err("out of memory writing a policy's text");
		return NULL;
	}
	if (policy_parse_string("policy", text, strlen(text), &checked, errors, sizeof(errors))) {
		report_errors(errors, lead);
		*refused = true;
		free(text);
		return NULL;
	}
	free(text);
	img = policy_image_new(&checked);
	policy_free(&checked);
	return img;
}

struct policy_image *policy_load_builtin(const struct policy_limit *packets, bool *refused)
{
	struct policy p;

	policy_builtin(&p, RW_DEFAULT_RATE, RW_DEFAULT_BURST);
	if (packets)
		p.classes[0].source.packets = *packets;
	return policy_load_model(&p, "", refused);
}
