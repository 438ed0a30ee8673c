/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
#ifndef RW_VERSION_H
#define RW_VERSION_H

#define RW_VERSION "0.3.0"

#endif
