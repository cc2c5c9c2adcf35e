#!/bin/sh
# SPDX-License-Identifier: MIT
# The WAL core stores the same bytes as pg_receivewal: under pgbench load, walstream-host (the
# daemon's segment writer and state file, driven by blocking libpq) and pg_receivewal stream from
# the same server over the same LSN range; every complete segment must be byte-identical and
# pg_waldump must parse it. Then a resume from the persisted flush LSN continues with no gap.
set -eu
. "${top_srcdir:-../..}/tests/common/pg.sh"
pg_require
BIN=${top_builddir:-../..}/tests/wal
T=$(mktemp -d /tmp/test-host-wal.XXXXXX)
cleanup() { pg_stop; rm -rf "$T"; }
trap cleanup EXIT INT TERM

pg_start
pg_pgbench_init 1
start=$(pg_current_lsn)
mkdir -p "$T/recv"
# Both start where the server is now (pg_receivewal: the segment of the current position).
"$PG_BINDIR/pg_receivewal" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -D "$T/recv" --synchronous \
	--no-loop -n --endpos=FFFFFFFF/0 2>"$T/recv.log" &
RECV=$!
pg_pgbench -n -T 3 -c 2 -j 2 >/dev/null 2>&1
pg_psql -c 'select pg_switch_wal()' >/dev/null
pg_pgbench -n -t 500 -c 2 -j 2 >/dev/null 2>&1
pg_psql -c 'select pg_switch_wal()' >/dev/null
pg_psql -c 'create table if not exists t(x int); insert into t values (1)' >/dev/null
stop=$(pg_current_lsn)
"$BIN/walstream-host" "$PG_CONNINFO" "$T/host" "$start" "$stop" >"$T/host.out"
# pg_receivewal has no stop position that ends it cleanly here; wait (bounded) until its
# segments cover the stop LSN's segment, then stop it.
seg_of_stop=$(cd "$T/host" && ls | grep -v state | sort | tail -1 | cut -c1-24)
i=0
while [ ! -e "$T/recv/$seg_of_stop.partial" ] && [ ! -e "$T/recv/$seg_of_stop" ]; do
	i=$((i + 1)); [ $i -lt 600 ] || { echo "pg_receivewal did not reach $seg_of_stop" >&2; exit 1; }
	sleep 0.1
done
kill -INT $RECV; wait $RECV || true

n=0
for f in "$T/host"/????????????????????????; do
	name=$(basename "$f")
	[ -e "$T/recv/$name" ] || continue
	cmp "$f" "$T/recv/$name" || { echo "segment $name differs from pg_receivewal's" >&2; exit 1; }
	"$PG_BINDIR/pg_waldump" -q "$f" >/dev/null 2>"$T/waldump.err" ||
		{ grep -v "invalid record length\|contrecord" "$T/waldump.err" >&2 && exit 1 || true; }
	n=$((n + 1))
done
echo "identical complete segments: $n (from $start to $stop)"
[ $n -ge 2 ] || { echo "expected at least 2 complete segments in common" >&2; ls -l "$T/host" "$T/recv" >&2; exit 1; }

# Resume from the persisted flush LSN: more WAL, continue, and the result is still identical
# to a fresh stream over the whole range.
pg_pgbench -n -t 300 -c 2 >/dev/null 2>&1
pg_psql -c 'select pg_switch_wal()' >/dev/null
pg_psql -c 'insert into t values (2)' >/dev/null
stop2=$(pg_current_lsn)
"$BIN/walstream-host" "$PG_CONNINFO" "$T/host" resume "$stop2" >/dev/null
"$BIN/walstream-host" "$PG_CONNINFO" "$T/fresh" "$start" "$stop2" >/dev/null
for f in "$T/fresh"/????????????????????????; do
	cmp "$f" "$T/host/$(basename "$f")" || { echo "resumed segment $(basename "$f") differs" >&2; exit 1; }
done
echo "resume: ok"
