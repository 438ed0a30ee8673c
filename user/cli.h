/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * What every object of the command line shares: global options, exit
 * codes, keyword matching with errors that name the word, and the values
 * that several objects take (interfaces, rates, CIDRs, addresses).
 */
#ifndef RW_CLI_H
#define RW_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "args.h"
#include "policy.h"
#include "status.h"

/* Exit codes that scripts can trust. */
enum cli_status {
	CLI_OK = 0,
	CLI_FAIL = 1,  /* runtime: nothing attached, no such class, a kernel error */
	CLI_USAGE = 2, /* the command line itself is wrong; nothing was tried */
};

struct cli {
	enum output_format output;
	const char *dev; /* -d IFACE, or NULL */
};

extern struct cli cli;

/* One object of the grammar: `ratewall NAME COMMAND ...`. */
struct cli_object {
	const char *name;
	int (*run)(struct arg_cursor *cur); /* returns an enum cli_status */
};

/* Prints "ratewall: MESSAGE" and returns CLI_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True when the next word asks for help (help, -h, --help). */
bool cli_wants_help(const struct arg_cursor *cur);

/*
 * Takes the next word as one of `keywords` (unique prefix). On no match or
 * an ambiguous one prints an error naming the word and `where` (such as
 * "class set") and returns -1; the caller returns CLI_USAGE.
 */
int cli_keyword(struct arg_cursor *cur, const char *where, const char *const *keywords);

/* Each returns 0, or -1 after one line naming the bad value. */
int cli_parse_dev(const char *value, const char **ifname);
/* "N/s", "N/m" or "N/h": a rate always carries its unit. */
int cli_parse_rate(const char *keyword, const char *value, struct policy_limit *out);
int cli_parse_burst(const char *keyword, const char *value, uint64_t *out);
/* One of `words` (NULL-ended) by unique prefix: its index, or -1 after
 * "KEYWORD 'VALUE' is not one of a, b, c". */
int cli_parse_choice(const char *keyword, const char *value, const char *const *words);
int cli_parse_on_off(const char *keyword, const char *value, bool *on);
/* A CIDR with no host bits set ("198.18.0.0/15", "2001:db8::/32"). */
int cli_parse_cidr(const char *value, struct policy_cidr *out);
/* A CIDR as text, in a buffer that the next call reuses. */
const char *cli_cidr_text(const struct policy_cidr *c);
/* One address, IPv4 or IPv6; family 4 or 6, addr in network order. */
int cli_parse_addr(const char *value, uint8_t *family, uint32_t addr[4]);

/* Parses `[dev IFACE]`, all that some commands take; CLI_USAGE when not. */
int cli_parse_only_dev(struct arg_cursor *cur, const char *where, const char **ifname);

/*
 * Parses `[dev IFACE]` and at most one other word (into *word, NULL when
 * none), in either order; `what` names that word in errors ("FILE",
 * "NAME"). CLI_OK or CLI_USAGE after one line.
 */
int cli_parse_dev_and_word(struct arg_cursor *cur, const char *where, const char *what,
			   const char **ifname, const char **word);

/*
 * The interface a command works on: `dev IFACE` when given, else -d, else
 * the only attachment of this network namespace. Nothing attached is
 * CLI_FAIL; more than one without a choice is CLI_USAGE, naming them.
 */
int cli_pick_dev(const char *given, const char **ifname);

/*
 * The answer of a command that changes something: `err` 0 is CLI_OK and,
 * under -j, a JSON null as bpftool gives, so a script always reads one
 * document; otherwise CLI_FAIL (the error line is out already).
 */
int cli_changed(int err);

/* Prints `o` as -j or -p asked, on one line (or pretty). */
void cli_print_json(struct json_object *o);

/* Help text of an object to stdout (asked for) or stderr (a usage error). */
int cli_help(void (*usage)(FILE *f), const struct arg_cursor *cur);

/*
 * Runs `ratewall OBJECT COMMAND ...`: `commands` (NULL-ended) matched by
 * prefix to `run`; nothing, `help`, -h or --help print `usage`.
 */
int cli_dispatch(struct arg_cursor *cur, const char *object, const char *const *commands,
		 int (*const *run)(struct arg_cursor *cur), void (*usage)(FILE *f));

/*
 * A change of the live policy, once the command line is parsed: checks
 * privileges, picks the interface (written to *ifname_slot, which `edit`
 * may name in its errors) and runs loader_policy_edit. An enum cli_status.
 */
int cli_change(const char *where, const char *given, const char **ifname_slot,
	       int (*edit)(struct policy *p, void *ctx), void *ctx);

struct attachment;
/*
 * A command that reads: opens the attachment (cli_open), builds the
 * answer as JSON with `build` (NULL after an error line), and prints it as
 * JSON or, through `print`, as text, so both carry the same fields.
 */
int cli_show(const char *where, const char *given,
	     struct json_object *(*build)(const struct attachment *a, const void *ctx),
	     void (*print)(struct json_object *root), const void *ctx);

/*
 * For commands that read: picks the interface (cli_pick_dev), takes the
 * shared lock and opens its attachment. Returns an enum cli_status; on
 * CLI_OK release with cli_close().
 */
int cli_open(const char *given, struct attachment *a, int *lock);
void cli_close(struct attachment *a, int lock);

#endif
