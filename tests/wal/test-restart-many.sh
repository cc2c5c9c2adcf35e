#!/bin/sh
# SPDX-License-Identifier: MIT
# Startup and shutdown of execd with 20 timelines, each with its own physical slot (issue 18,
# item 4, at a size for the suite; bench/wal-restart --timelines 500 is the full check, see
# docs/benchmarks.md): after a restart every slot is active again with its walsender streaming
# (the bound the issue sets, 10 s, is generous at 20); SIGTERM while pgbench runs exits 0 within
# --shutdown-timeout, and every timeline's persisted flush LSN (wal.state) equals what its slot
# on the server confirms (restart_lsn, read after execd and its walsenders are gone).
set -eu
exec "${top_srcdir:-../..}/bench/wal-restart" --builddir "${top_builddir:-../..}" \
	--srcdir "${top_srcdir:-../..}" --timelines 20 --busy-seconds 3
