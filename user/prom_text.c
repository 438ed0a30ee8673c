// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * A line-at-a-time reader of the text exposition format. Only the lines of
 * the wanted metric are parsed in full; any other line is skipped by name,
 * so an exporter's odd metrics elsewhere cannot fail the scrape.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom_text.h"

/* Label values we read (le, code, status) are short; longer ones are cut. */
#define PT_VALUE_MAX 64

/* What one sample line says, after its name. */
struct pt_sample {
	char le[PT_VALUE_MAX], code[PT_VALUE_MAX], status[PT_VALUE_MAX];
	bool has_le, has_code, has_status;
	double value;
};

static void pt_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static bool pt_name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

static const char *pt_skip_blank(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* A label's value from just after its opening quote; unescapes \\ \" \n into
 * dst when dst is given. Returns the character after the closing quote. */
static const char *pt_label_value(const char *p, const char *end, char *dst)
{
	size_t n = 0;

	for (; p < end; p++) {
		char c = *p;

		if (c == '"') {
			if (dst)
				dst[n] = '\0';
			return p + 1;
		}
		if (c == '\\') {
			if (++p >= end)
				return NULL;
			c = *p == 'n' ? '\n' : *p;
		}
		if (dst && n < PT_VALUE_MAX - 1)
			dst[n++] = c;
	}
	return NULL; /* no closing quote on this line */
}

/* A float token as the format writes it: Go's ParseFloat, so NaN, +Inf, -Inf too. */
static const char *pt_number(const char *p, const char *end, double *out)
{
	char tok[64], *tail;
	size_t n = 0;

	while (p + n < end && p[n] != ' ' && p[n] != '\t')
		n++;
	if (n == 0 || n >= sizeof(tok))
		return NULL;
	memcpy(tok, p, n);
	tok[n] = '\0';
	*out = strtod(tok, &tail);
	return *tail ? NULL : p + n;
}

/*
 * Labels, value and optional timestamp of a line whose name ended at p.
 * 0, or -1 with *why set.
 */
static int pt_parse_rest(const char *p, const char *end, struct pt_sample *s, const char **why)
{
	double ts;

	memset(s, 0, sizeof(*s));
	p = pt_skip_blank(p, end);
	if (p < end && *p == '{') {
		p++;
		for (;;) {
			const char *lname;
			size_t llen;
			char *dst = NULL;

			p = pt_skip_blank(p, end);
			if (p < end && *p == '}')
				break;
			lname = p;
			while (p < end && pt_name_char(*p, p == lname))
				p++;
			llen = (size_t)(p - lname);
			p = pt_skip_blank(p, end);
			if (!llen || p >= end || *p != '=') {
				*why = "bad label";
				return -1;
			}
			p = pt_skip_blank(p + 1, end);
			if (p >= end || *p != '"') {
				*why = "bad label";
				return -1;
			}
			if (llen == 2 && !memcmp(lname, "le", 2)) {
				dst = s->le;
				s->has_le = true;
			} else if (llen == 4 && !memcmp(lname, "code", 4)) {
				dst = s->code;
				s->has_code = true;
			} else if (llen == 6 && !memcmp(lname, "status", 6)) {
				dst = s->status;
				s->has_status = true;
			}
			p = pt_label_value(p + 1, end, dst);
			if (!p) {
				*why = "unterminated label value";
				return -1;
			}
			p = pt_skip_blank(p, end);
			if (p < end && *p == ',') {
				p++;
				continue;
			}
			if (p < end && *p == '}')
				break;
			*why = "bad label";
			return -1;
		}
		p = pt_skip_blank(p + 1, end);
	}
	p = pt_number(p, end, &s->value);
	if (!p) {
		*why = "bad value";
		return -1;
	}
	p = pt_skip_blank(p, end);
	/* a timestamp in ms, which we do not need */
	if (p < end && *p != '#') {
		p = pt_number(p, end, &ts);
		if (!p) {
			*why = "bad timestamp";
			return -1;
		}
		p = pt_skip_blank(p, end);
	}
	/* OpenMetrics puts an exemplar after " # "; nothing else may follow */
	if (p < end && *p != '#') {
		*why = "trailing text";
		return -1;
	}
	return 0;
}

/*
 * Calls on_sample for each line named prefix+suffix for one of suffixes
 * (index passed along). Returns 0 or -EBADMSG (err filled).
 */
typedef int (*pt_on_sample)(void *ctx, int which, const struct pt_sample *s, const char **why);

static int pt_walk(const char *body, const char *prefix, const char *const *suffixes, int n_suf,
		   pt_on_sample cb, void *ctx, char *err, size_t err_len)
{
	size_t plen = strlen(prefix);
	unsigned int line = 0;
	const char *p = body;

	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *end = nl ? nl : p + strlen(p);
		const char *name, *why = NULL;
		size_t nlen;
		struct pt_sample s;

		line++;
		if (end > p && end[-1] == '\r')
			end--;
		p = pt_skip_blank(p, end);
		name = p;
		while (p < end && pt_name_char(*p, p == name))
			p++;
		nlen = (size_t)(p - name);
		/* comments (# HELP, # TYPE, # EOF), blank lines and other metrics */
		if (nlen >= plen && !memcmp(name, prefix, plen)) {
			for (int i = 0; i < n_suf; i++) {
				size_t slen = strlen(suffixes[i]);

				if (nlen != plen + slen || memcmp(name + plen, suffixes[i], slen))
					continue;
				if (pt_parse_rest(p, end, &s, &why) < 0 || cb(ctx, i, &s, &why) < 0) {
					pt_err(err, err_len, "line %u: %s", line, why);
					return why && !strcmp(why, "too many buckets") ? -E2BIG
										       : -EBADMSG;
				}
				break;
			}
		}
		p = nl ? nl + 1 : end + strlen(end);
	}
	return 0;
}

struct pt_hist_ctx {
	struct prom_histogram *h;
	bool seen_bucket, seen_count;
};

static int pt_on_hist(void *ctx, int which, const struct pt_sample *s, const char **why)
{
	struct pt_hist_ctx *c = ctx;
	struct prom_histogram *h = c->h;
	char *tail;
	double le;
	size_t i;

	if (which == 1) {
		c->seen_count = true;
		h->count += s->value;
		return 0;
	}
	if (!s->has_le) {
		*why = "bucket without le";
		return -1;
	}
	le = strtod(s->le, &tail);
	if (*tail || isnan(le)) {
		*why = "bad le";
		return -1;
	}
	c->seen_bucket = true;
	/* the same bound from every label set adds up; bounds stay sorted */
	for (i = 0; i < h->n && h->le[i] < le; i++)
		;
	if (i < h->n && h->le[i] == le) {
		h->cum[i] += s->value;
		return 0;
	}
	if (h->n == PROM_MAX_BUCKETS) {
		*why = "too many buckets";
		return -1;
	}
	memmove(&h->le[i + 1], &h->le[i], (h->n - i) * sizeof(h->le[0]));
	memmove(&h->cum[i + 1], &h->cum[i], (h->n - i) * sizeof(h->cum[0]));
	h->le[i] = le;
	h->cum[i] = s->value;
	h->n++;
	return 0;
}

int prom_histogram_parse(const char *body, const char *name, struct prom_histogram *out,
			 char *err, size_t err_len)
{
	static const char *const suffixes[] = { "_bucket", "_count" };
	struct pt_hist_ctx c = { .h = out };
	int ret;

	memset(out, 0, sizeof(*out));
	ret = pt_walk(body, name, suffixes, 2, pt_on_hist, &c, err, err_len);
	if (ret < 0)
		return ret;
	if (!c.seen_bucket) {
		pt_err(err, err_len, "no histogram %s", name);
		return -ENOENT;
	}
	if (!isinf(out->le[out->n - 1])) {
		/* _count is what the +Inf bucket would say */
		if (!c.seen_count || out->n == PROM_MAX_BUCKETS) {
			pt_err(err, err_len, "no +Inf bucket in %s", name);
			return -EBADMSG;
		}
		out->le[out->n] = INFINITY;
		out->cum[out->n++] = out->count;
	}
	if (!c.seen_count)
		out->count = out->cum[out->n - 1];
	return 0;
}

static int pt_on_counter(void *ctx, int which, const struct pt_sample *s, const char **why)
{
	struct prom_counter *c = ctx;
	const char *code = s->has_code ? s->code : s->has_status ? s->status : "";

	(void)which;
	(void)why;
	c->total += s->value;
	if (code[0] == '5')
		c->errors += s->value;
	c->series++;
	return 0;
}

int prom_counter_parse(const char *body, const char *name, struct prom_counter *out, char *err,
		       size_t err_len)
{
	static const char *const suffixes[] = { "" };
	int ret;

	memset(out, 0, sizeof(*out));
	ret = pt_walk(body, name, suffixes, 1, pt_on_counter, out, err, err_len);
	if (ret < 0)
		return ret;
	if (!out->series) {
		pt_err(err, err_len, "no counter %s", name);
		return -ENOENT;
	}
	return 0;
}

const char *prom_delta_text(enum prom_delta d)
{
	switch (d) {
	case PROM_DELTA_OK:
		return "ok";
	case PROM_DELTA_NO_REQUESTS:
		return "no requests in the interval";
	case PROM_DELTA_RESET:
		return "counter reset";
	case PROM_DELTA_LAYOUT:
		return "histogram buckets changed";
	case PROM_DELTA_INVALID:
		break;
	}
	return "invalid values";
}

enum prom_delta prom_quantile_delta(const struct prom_histogram *prev,
				    const struct prom_histogram *cur, double q, double scale,
				    double *value, double *count)
{
	double d[PROM_MAX_BUCKETS], dcount, rank, start, cnt;
	size_t n = cur->n, b;

	*value = NAN;
	if (count)
		*count = NAN;
	if (n < 2 || n > PROM_MAX_BUCKETS || !(q >= 0 && q <= 1))
		return PROM_DELTA_INVALID;
	if (prev->n != n)
		return PROM_DELTA_LAYOUT;
	for (size_t i = 0; i < n; i++)
		if (prev->le[i] != cur->le[i])
			return PROM_DELTA_LAYOUT;
	dcount = cur->count - prev->count;
	if (!isfinite(dcount))
		return PROM_DELTA_INVALID;
	for (size_t i = 0; i < n; i++) {
		d[i] = cur->cum[i] - prev->cum[i];
		if (!isfinite(d[i]))
			return PROM_DELTA_INVALID;
	}
	/* every bucket is a counter: one going down means the process restarted */
	for (size_t i = 0; i < n; i++)
		if (d[i] < 0)
			return PROM_DELTA_RESET;
	if (dcount < 0)
		return PROM_DELTA_RESET;
	/* Label sets with different bounds can make the summed counts dip;
	 * as Prometheus does, a bucket holds at least what the one below does. */
	for (size_t i = 1; i < n; i++)
		if (d[i] < d[i - 1])
			d[i] = d[i - 1];
	if (count)
		*count = dcount;
	if (d[n - 1] <= 0)
		return PROM_DELTA_NO_REQUESTS;

	rank = q * d[n - 1];
	for (b = 0; b < n - 1 && d[b] < rank; b++)
		;
	if (b == n - 1) {
		/* in +Inf: all we know is "above the highest finite bound" */
		*value = cur->le[n - 2] * scale;
		return PROM_DELTA_OK;
	}
	if (b == 0 && cur->le[0] <= 0) {
		*value = cur->le[0] * scale;
		return PROM_DELTA_OK;
	}
	start = b == 0 ? 0 : cur->le[b - 1];
	cnt = b == 0 ? d[0] : d[b] - d[b - 1];
	if (b > 0)
		rank -= d[b - 1];
	*value = (cnt > 0 ? start + (cur->le[b] - start) * (rank / cnt) : start) * scale;
	return PROM_DELTA_OK;
}

enum prom_delta prom_error_ratio_delta(const struct prom_counter *prev,
				       const struct prom_counter *cur, double *ratio,
				       double *requests)
{
	double total = cur->total - prev->total, errors = cur->errors - prev->errors;

	*ratio = NAN;
	if (requests)
		*requests = NAN;
	if (!isfinite(total) || !isfinite(errors))
		return PROM_DELTA_INVALID;
	if (total < 0 || errors < 0)
		return PROM_DELTA_RESET;
	if (requests)
		*requests = total;
	if (total == 0)
		return PROM_DELTA_NO_REQUESTS;
	*ratio = errors > total ? 1 : errors / total;
	return PROM_DELTA_OK;
}
