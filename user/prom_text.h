/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Just enough of the Prometheus text exposition format for the adaptive
 * controller: one histogram's cumulative buckets and one request counter
 * (all of it and its 5xx part) from a scrape body, each summed over every
 * label set, and what two scrapes say about the interval between them.
 */
#ifndef RW_PROM_TEXT_H
#define RW_PROM_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Distinct `le` bounds kept; exporters use a few dozen at most. */
#define PROM_MAX_BUCKETS 128

struct prom_histogram {
	size_t n;                         /* buckets, by le ascending; the last is +Inf */
	double le[PROM_MAX_BUCKETS];      /* upper bounds */
	double cum[PROM_MAX_BUCKETS];     /* cumulative counts, summed over label sets */
	double count;                     /* NAME_count summed; the +Inf bucket when absent */
};

struct prom_counter {
	double total;                     /* NAME summed over label sets */
	double errors;                    /* the series whose code (else status) starts with '5' */
	size_t series;                    /* label sets seen */
};

/*
 * Sums NAME_bucket per le and NAME_count from body (NUL-terminated).
 * 0; -ENOENT when body has no NAME_bucket sample; -EBADMSG when a line of
 * this metric is malformed (or no +Inf bucket and no NAME_count); -E2BIG
 * for more than PROM_MAX_BUCKETS bounds. err (may be NULL) says why, without
 * a prefix: "no histogram NAME", "line 7: bad value", ...
 */
int prom_histogram_parse(const char *body, const char *name, struct prom_histogram *out,
			 char *err, size_t err_len);

/* Sums the samples named exactly NAME (give the `_total` suffix if the
 * exporter has one). Same returns as above ("no counter NAME"). */
int prom_counter_parse(const char *body, const char *name, struct prom_counter *out,
		       char *err, size_t err_len);

/* Why a value over two scrapes is unknown. */
enum prom_delta {
	PROM_DELTA_OK = 0,
	PROM_DELTA_NO_REQUESTS, /* nothing counted in the interval */
	PROM_DELTA_RESET,       /* a count went down: the exporter restarted */
	PROM_DELTA_LAYOUT,      /* the bucket bounds differ between the scrapes */
	PROM_DELTA_INVALID,     /* NaN or infinite counts, fewer than two buckets, q outside 0..1 */
};

/* "no requests in the interval", "counter reset", ... */
const char *prom_delta_text(enum prom_delta d);

/*
 * The q-quantile of the observations between prev and cur, as Prometheus'
 * histogram_quantile over an increase: linear interpolation inside the
 * bucket that holds the rank (the first bucket starts at 0), the highest
 * finite bound when the rank falls in +Inf. Multiplied by scale (1000 for
 * seconds to ms). *value is NAN unless PROM_DELTA_OK; *count (may be NULL)
 * is the observations in the interval when OK or NO_REQUESTS, else NAN.
 */
enum prom_delta prom_quantile_delta(const struct prom_histogram *prev,
				    const struct prom_histogram *cur, double q, double scale,
				    double *value, double *count);

/* 5xx / all between prev and cur, 0..1 (*ratio NAN unless OK); *requests
 * (may be NULL) is the increase of the total when OK or NO_REQUESTS, else NAN. */
enum prom_delta prom_error_ratio_delta(const struct prom_counter *prev,
				       const struct prom_counter *cur, double *ratio,
				       double *requests);

#endif
