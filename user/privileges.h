/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Checks for the capabilities a command needs, before it touches anything. */
#ifndef RW_PRIVILEGES_H
#define RW_PRIVILEGES_H

/* 0 when the effective set holds CAP_BPF (or CAP_SYS_ADMIN) and
 * CAP_NET_ADMIN; otherwise prints one error naming `command`. */
int privileges_check(const char *command);

#endif
