// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_cidrs.h"
#include "policy_checks.h"
#include "policy_values.h"

#define PORTS_PER_PROTO 65536

/* One ports entry of a class, numbered in file order across classes. */
struct port_entry {
	const struct policy_ports *ports;
	int class_id;
	size_t reported_for; /* the latest entry (number + 1) told it overlaps this one */
};

static void report_overlap(const struct policy *p, struct policy_errors *e,
			   const struct port_entry *later, const struct port_entry *earlier)
{
	char mine[32], theirs[32], me[64], them[64];

	policy_format_ports(later->ports, mine, sizeof(mine));
	policy_format_ports(earlier->ports, theirs, sizeof(theirs));
	policy_class_label(&p->classes[later->class_id], me, sizeof(me));
	if (earlier->class_id == later->class_id) {
		policy_error(e, later->ports->line, "%s overlaps %s listed earlier in %s (line %d)",
			     mine, theirs, me, earlier->ports->line);
	} else {
		policy_class_label(&p->classes[earlier->class_id], them, sizeof(them));
		policy_error(e, later->ports->line, "%s in %s overlaps %s of %s (line %d)", mine,
			     me, theirs, them, earlier->ports->line);
	}
}

void policy_check_ports(const struct policy *p, struct policy_errors *e)
{
	struct port_entry *entries;
	uint32_t *owner; /* entry number + 1 of every (proto, port); 0: nobody's yet */
	size_t n = 0, total = 0;

	for (size_t id = 1; id < p->n_classes; id++)
		total += p->classes[id].n_ports;
	if (!total)
		return;
	entries = calloc(total, sizeof(*entries));
	owner = calloc((size_t)RW_PROTO_MAX * PORTS_PER_PROTO, sizeof(*owner));
	if (!entries || !owner) {
		e->out_of_memory = true;
		goto out;
	}
	for (size_t id = 1; id < p->n_classes; id++)
		for (size_t i = 0; i < p->classes[id].n_ports; i++)
			entries[n++] = (struct port_entry){ &p->classes[id].ports[i], (int)id, 0 };
	for (size_t k = 0; k < n && !policy_errors_stopped(e); k++) {
		const struct policy_ports *ports = entries[k].ports;
		uint32_t *table = owner + (size_t)ports->proto * PORTS_PER_PROTO;

		for (uint32_t port = ports->first; port <= ports->last; port++) {
			struct port_entry *earlier;

			if (!table[port]) {
				table[port] = (uint32_t)(k + 1);
				continue;
			}
			/* one message per earlier entry, however many of its ports overlap */
			earlier = &entries[table[port] - 1];
			if (earlier->reported_for == k + 1)
				continue;
			earlier->reported_for = k + 1;
			report_overlap(p, e, &entries[k], earlier);
		}
	}
out:
	free(entries);
	free(owner);
}

/* A CIDR and the list it came from. */
struct cidr_use {
	const struct policy_cidr *cidr;
	long owner; /* OWNER_ALLOW, OWNER_DENY, or a tenant index */
};

#define OWNER_ALLOW (-2L)
#define OWNER_DENY (-1L)

static int compare_uses(const void *a, const void *b)
{
	const struct cidr_use *x = a, *y = b;
	int d;

	if (x->cidr->family != y->cidr->family)
		return x->cidr->family - y->cidr->family;
	if (x->cidr->prefix != y->cidr->prefix)
		return x->cidr->prefix - y->cidr->prefix;
	d = memcmp(x->cidr->addr, y->cidr->addr, sizeof(x->cidr->addr));
	if (d)
		return d;
	/* one CIDR's uses: allow, deny, then tenants, each in file order */
	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	return x->cidr->line - y->cidr->line;
}

static void owner_label(const struct policy *p, long owner, char *buf, size_t len)
{
	if (owner == OWNER_ALLOW)
		snprintf(buf, len, "allow");
	else if (owner == OWNER_DENY)
		snprintf(buf, len, "deny");
	else
		policy_tenant_label(&p->tenants[owner], buf, len);
}

/* Reports `later` if it repeats `earlier` in a way the lists cannot hold; true if it did. */
static bool report_repeat(const struct policy *p, struct policy_errors *e,
			  const struct cidr_use *earlier, const struct cidr_use *later)
{
	char text[64], first[64], second[64];
	bool both_lists = earlier->owner < 0 && later->owner < 0;
	bool both_tenants = earlier->owner >= 0 && later->owner >= 0;

	if (!both_lists && !both_tenants)
		return false;
	policy_format_cidr(later->cidr, text, sizeof(text));
	owner_label(p, earlier->owner, first, sizeof(first));
	owner_label(p, later->owner, second, sizeof(second));
	if (earlier->owner == later->owner)
		policy_error(e, later->cidr->line,
			     "CIDR %s is listed twice in %s (first at line %d)", text, first,
			     earlier->cidr->line);
	else
		policy_error(e, later->cidr->line, "CIDR %s is in both %s (line %d) and %s", text,
			     first, earlier->cidr->line, second);
	return true;
}

void policy_check_cidrs(const struct policy *p, struct policy_errors *e)
{
	size_t total = p->n_allow + p->n_deny, n = 0, start, end;
	struct cidr_use *uses;

	for (size_t t = 0; t < p->n_tenants; t++)
		total += p->tenants[t].n_cidrs;
	if (!total)
		return;
	uses = calloc(total, sizeof(*uses));
	if (!uses) {
		e->out_of_memory = true;
		return;
	}
	for (size_t i = 0; i < p->n_allow; i++)
		uses[n++] = (struct cidr_use){ &p->allow[i], OWNER_ALLOW };
	for (size_t i = 0; i < p->n_deny; i++)
		uses[n++] = (struct cidr_use){ &p->deny[i], OWNER_DENY };
	for (size_t t = 0; t < p->n_tenants; t++)
		for (size_t i = 0; i < p->tenants[t].n_cidrs; i++)
			uses[n++] = (struct cidr_use){ &p->tenants[t].cidrs[i], (long)t };
	if (total > RW_MAX_CIDRS)
		policy_error(e, uses[RW_MAX_CIDRS].cidr->line,
			     "too many CIDRs: allow, deny and tenants may hold %d together",
			     RW_MAX_CIDRS);
	qsort(uses, n, sizeof(*uses), compare_uses);
	for (start = 0; start < n && !policy_errors_stopped(e); start = end) {
		for (end = start + 1; end < n && policy_cidr_equal(uses[start].cidr, uses[end].cidr); end++)
			;
		for (size_t k = start + 1; k < end; k++) {
			size_t j = start;

			while (j < k && !report_repeat(p, e, &uses[j], &uses[k]))
				j++;
		}
	}
	free(uses);
}
