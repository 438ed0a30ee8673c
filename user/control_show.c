// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <string.h>
#include <bpf/bpf.h>

#include "control_show.h"
#include "controller.h"
#include "policy_show.h"

static json_object *known(int64_t v, double scale)
{
	return v < 0 ? NULL : json_object_new_double((double)v * scale);
}

static void add_rate(json_object *o, const char *key, uint64_t word)
{
	if (word)
		json_object_object_add(o, key, json_object_new_double(limit_word_rate(word)));
}

json_object *control_show_json(const struct attachment *a, const struct rw_policy *pol)
{
	static const char *const health[] = { "none", "ok", "failed" };
	json_object *o, *s, *classes;
	struct rw_adapt ad;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(a->maps.adapt_fd, &zero, &ad) || (!ad.controller && !ad.samples))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "controller", json_object_new_string(
		controller_kind_name((enum controller_kind)ad.controller)));
	json_object_object_add(o, "interval_ms", json_object_new_int64(ad.interval_ms));
	json_object_object_add(o, "samples", json_object_new_uint64(ad.samples));
	json_object_object_add(o, "sampled_at", json_object_new_double((double)ad.sampled_at_ns / 1e9));
	json_object_object_add(o, "shed", json_object_new_boolean(ad.shed));
	json_object_object_add(o, "shed_reason", json_object_new_string(
		control_shed_reason_name((enum control_shed_reason)ad.shed_reason)));
	json_object_object_add(o, "shed_changes", json_object_new_uint64(ad.shed_changes));
	json_object_object_add(o, "target_ms", known(ad.target_us, 1e-3));
	s = json_object_new_object();
	json_object_object_add(s, "health", json_object_new_string(health[ad.health % 3]));
	json_object_object_add(s, "health_status",
			       ad.health_status > 0 ? json_object_new_int64(ad.health_status) : NULL);
	json_object_object_add(s, "probe_ms", known(ad.probe_us, 1e-3));
	json_object_object_add(s, "latency_ms", known(ad.latency_us, 1e-3));
	json_object_object_add(s, "error_ratio", known(ad.error_ppm, 1e-6));
	json_object_object_add(s, "cpu", known(ad.cpu_ppm, 1e-6));
	json_object_object_add(s, "queue_depth", ad.queue_depth < 0 ? NULL : json_object_new_int64(ad.queue_depth));
	json_object_object_add(s, "queue_backlog", ad.queue_backlog < 0 ? NULL : json_object_new_int64(ad.queue_backlog));
	json_object_object_add(s, "listen_drops", ad.listen_drops < 0 ? NULL : json_object_new_int64(ad.listen_drops));
	json_object_object_add(o, "signals", s);
	json_object_object_add(o, "signal_errors", ad.signal_errors[0] ?
			       json_object_new_string(ad.signal_errors) : NULL);
	classes = json_object_new_array();
	for (uint32_t id = 0; id < pol->n_classes && id < RW_MAX_CLASSES; id++) {
		const struct rw_adapt_class *c = NULL;
		json_object *cl, *rates;

		for (int i = 0; i < RW_MAX_CLASSES && !c; i++)
			if (ad.classes[i].name[0] && !strncmp(ad.classes[i].name, pol->class_names[id], RW_NAME_MAX))
				c = &ad.classes[i];
		if (!c)
			continue;
		cl = json_object_new_object();
		json_object_object_add(cl, "name", json_object_new_string(c->name));
		json_object_object_add(cl, "multiplier", json_object_new_double((double)c->mult_ppm / RW_ADAPT_PPM));
		json_object_object_add(cl, "shed", json_object_new_boolean(c->shed));
		json_object_object_add(cl, "reason", json_object_new_string(
			control_reason_name((enum control_reason)c->reason)));
		json_object_object_add(cl, "changes", json_object_new_uint64(c->changes));
		rates = json_object_new_object();
		add_rate(rates, "src_pkt", pol->classes[id].src_pkt);
		add_rate(rates, "src_syn", pol->classes[id].src_syn);
		add_rate(rates, "class_pkt", pol->classes[id].class_pkt);
		add_rate(rates, "class_syn", pol->classes[id].class_syn);
		json_object_object_add(cl, "live_rates", rates);
		json_object_array_add(classes, cl);
	}
	json_object_object_add(o, "classes", classes);
	return o;
}

static void print_value(FILE *f, const char *label, json_object *v, const char *fmt, double scale)
{
	fprintf(f, "%s ", label);
	if (v)
		fprintf(f, fmt, json_object_get_double(v) * scale);
	else
		fprintf(f, "-");
}

void control_show_print(FILE *f, json_object *c)
{
	json_object *s = json_object_object_get(c, "signals"), *classes;

	fprintf(f, "  control: %s every %lld ms, %llu samples, shed %s",
		json_object_get_string(json_object_object_get(c, "controller")),
		(long long)json_object_get_int64(json_object_object_get(c, "interval_ms")),
		(unsigned long long)json_object_get_uint64(json_object_object_get(c, "samples")),
		json_object_get_boolean(json_object_object_get(c, "shed")) ? "on" : "off");
	if (json_object_get_boolean(json_object_object_get(c, "shed")))
		fprintf(f, " (%s)", json_object_get_string(json_object_object_get(c, "shed_reason")));
	print_value(f, ", target", json_object_object_get(c, "target_ms"), "%.1f ms", 1);
	fprintf(f, "\n  signals: health %s", json_object_get_string(json_object_object_get(s, "health")));
	print_value(f, ", probe", json_object_object_get(s, "probe_ms"), "%.1f ms", 1);
	print_value(f, ", latency", json_object_object_get(s, "latency_ms"), "%.1f ms", 1);
	print_value(f, ", 5xx", json_object_object_get(s, "error_ratio"), "%.1f%%", 100);
	print_value(f, ", cpu", json_object_object_get(s, "cpu"), "%.0f%%", 100);
	print_value(f, ", accept queue", json_object_object_get(s, "queue_depth"), "%.0f", 1);
	print_value(f, ", listen drops", json_object_object_get(s, "listen_drops"), "%.0f", 1);
	fprintf(f, "\n");
	if (json_object_object_get(c, "signal_errors"))
		fprintf(f, "  signal errors: %s\n",
			json_object_get_string(json_object_object_get(c, "signal_errors")));
	classes = json_object_object_get(c, "classes");
	for (size_t i = 0; i < json_object_array_length(classes); i++) {
		json_object *cl = json_object_array_get_idx(classes, i);
		json_object *rates = json_object_object_get(cl, "live_rates");

		fprintf(f, "  %-16s x%.3f %-11s %s, %llu changes, live",
			json_object_get_string(json_object_object_get(cl, "name")),
			json_object_get_double(json_object_object_get(cl, "multiplier")),
			json_object_get_string(json_object_object_get(cl, "reason")),
			json_object_get_boolean(json_object_object_get(cl, "shed")) ? "shedding" : "admitting",
			(unsigned long long)json_object_get_uint64(json_object_object_get(cl, "changes")));
		json_object_object_foreach(rates, key, val)
			fprintf(f, " %s %.1f/s", key, json_object_get_double(val));
		fprintf(f, "\n");
	}
}
