// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include "log.h"

int rw_notes_to_stderr;
