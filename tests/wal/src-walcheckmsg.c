/* SPDX-License-Identifier: MIT */
/* Builds daemon/wal/walcheckmsg.c into this test directory (its object must not land in the source
 * tree, as a $(top_srcdir)/... source would with subdir-objects). */
#include "walcheckmsg.c"
