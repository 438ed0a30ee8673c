// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The control loop's metrics, read from the pinned rw_adapt record the
 * daemon writes at each sample: each adaptive class's multiplier and
 * changes, the shed switch, and the last value of every signal. An
 * unknown signal has no sample (its _up series says 0) rather than a
 * made-up value. Nothing here before a loop has run.
 */
#include <bpf/bpf.h>

#include "controller.h"
#include "metrics.h"

/* One family with a series per adaptive class, valued by what(). */
static void per_class(FILE *f, const struct rw_adapt *ad, const char *name, const char *type,
		      const char *help, double (*what)(const struct rw_adapt_class *))
{
	metrics_family(f, name, type, help);
	for (int i = 0; i < RW_MAX_CLASSES; i++)
		if (ad->classes[i].name[0]) {
			fprintf(f, "%s{", name);
			metrics_label(f, "class", ad->classes[i].name, true);
			/* 15 digits: a multiplier of 0.35 reads 0.35, counts stay exact */
			fprintf(f, "} %.15g\n", what(&ad->classes[i]));
		}
}

static double multiplier(const struct rw_adapt_class *c)
{
	return (double)c->mult_ppm / RW_ADAPT_PPM;
}

static double changes(const struct rw_adapt_class *c)
{
	return (double)c->changes;
}

static double shedding(const struct rw_adapt_class *c)
{
	return c->shed;
}

/* A signal: its _up series always, its value only when known. */
static void signal_series(FILE *f, const char *name, const char *help, int64_t raw, double scale)
{
	metrics_family(f, name, "gauge", help);
	if (raw >= 0)
		fprintf(f, "%s %.17g\n", name, (double)raw * scale);
}

static void signal_up(FILE *f, const char *signal_name, bool up)
{
	fprintf(f, "ratewall_control_signal_up{");
	metrics_label(f, "signal", signal_name, true);
	fprintf(f, "} %d\n", up);
}

void metrics_control(FILE *f, const struct attachment *a)
{
	struct rw_adapt ad;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(a->maps.adapt_fd, &zero, &ad) || (!ad.controller && !ad.samples))
		return;
	metrics_family(f, "ratewall_control_info", "gauge", "The control loop's controller.");
	fprintf(f, "ratewall_control_info{");
	metrics_label(f, "controller", controller_kind_name((enum controller_kind)ad.controller), true);
	fprintf(f, "} 1\n");
	per_class(f, &ad, "ratewall_control_multiplier", "gauge",
		  "Live rate of each adaptive class as a multiple of its written rates.", multiplier);
	per_class(f, &ad, "ratewall_control_rate_changes_total", "counter",
		  "Changes of each adaptive class's multiplier.", changes);
	per_class(f, &ad, "ratewall_control_class_shed", "gauge",
		  "1 while the control loop sheds the class's new connections.", shedding);
	metrics_gauge(f, "ratewall_control_shed",
		      "1 while the control loop sheds (failing probes or latency).", ad.shed);
	metrics_counter(f, "ratewall_control_shed_changes_total",
			"Times the control loop turned shedding on or off.", ad.shed_changes);
	metrics_counter(f, "ratewall_control_samples_total",
			"Samples of the gateway's signals the loop acted on.", ad.samples);
	metrics_gauge(f, "ratewall_control_sample_timestamp_seconds", "When the last sample was taken.",
		      (double)ad.sampled_at_ns / 1e9);
	metrics_gauge(f, "ratewall_control_interval_seconds", "The sampling interval.",
		      ad.interval_ms / 1e3);
	signal_series(f, "ratewall_control_target_latency_seconds",
	       "The latency the gradient controller steers to.", ad.target_us, 1e-6);
	signal_series(f, "ratewall_signal_health",
	       "1 when the last health probe answered 2xx in time, 0 when it failed.",
	       ad.health == 0 ? -1 : ad.health == 1, 1);
	signal_series(f, "ratewall_signal_probe_latency_seconds", "The last health probe's latency.",
	       ad.probe_us, 1e-6);
	signal_series(f, "ratewall_signal_latency_seconds",
	       "The scraped latency quantile over the last interval.", ad.latency_us, 1e-6);
	signal_series(f, "ratewall_signal_error_ratio", "5xx responses / all over the last interval.",
	       ad.error_ppm, 1e-6);
	signal_series(f, "ratewall_signal_cpu_ratio", "Host CPU busy over the last interval.", ad.cpu_ppm,
	       1e-6);
	signal_series(f, "ratewall_signal_accept_queue_depth",
	       "Connections waiting in the gateway's accept queues.", ad.queue_depth, 1);
	signal_series(f, "ratewall_signal_listen_drops",
	       "ListenDrops (accept queue overflows included) over the last interval.", ad.listen_drops, 1);
	metrics_family(f, "ratewall_control_signal_up", "gauge",
		       "1 when the signal's last sample is known (configured and read).");
	signal_up(f, "health", ad.health != 0);
	signal_up(f, "latency", ad.latency_us >= 0);
	signal_up(f, "error_ratio", ad.error_ppm >= 0);
	signal_up(f, "cpu", ad.cpu_ppm >= 0);
	signal_up(f, "accept_queue", ad.queue_depth >= 0);
	signal_up(f, "listen_drops", ad.listen_drops >= 0);
}
