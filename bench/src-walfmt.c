/* SPDX-License-Identifier: MIT */
/* Builds daemon/wal/walfmt.c into bench/ (its object must not land in the source tree, as a
 * $(top_srcdir)/... source would with subdir-objects). */
#include "walfmt.c"
