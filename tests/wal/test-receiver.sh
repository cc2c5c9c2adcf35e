#!/bin/sh
# SPDX-License-Identifier: MIT
# The daemon's WAL receiver (daemon/wal under the real runtime and task_mgr, through
# walrecv-driver) against a real PostgreSQL 15 under pgbench load, next to pg_receivewal:
#  - kill -9 mid-stream, restart: it resumes at its persisted flush LSN;
#  - PostgreSQL restarted mid-stream: it reconnects (backoff) and catches up;
#  - SIGTERM: it flushes what it received and stops; the persisted flush LSN matches the data;
#  - every complete segment is byte-identical to pg_receivewal's (so no gap and no duplicate
#    across the kill and the restart) and pg_waldump parses it.
set -eu
. "${top_srcdir:-../..}/tests/common/pg.sh"
. "${top_srcdir:-../..}/tests/common/walfiles.sh"
pg_require
BIN=${top_builddir:-../..}/tests/wal
T=$(mktemp -d /tmp/test-walrecv.XXXXXX)
DRV= RECV= BENCH=
cleanup() {
	for p in $DRV $RECV $BENCH; do kill -9 "$p" 2>/dev/null || true; done
	pg_stop; rm -rf "$T"
}
trap cleanup EXIT INT TERM

. "${top_srcdir:-../..}/tests/wal/walstate.sh"
lsn_num() { printf '%d\n' $(( (0x${1%/*} << 32) + 0x${1#*/} )); }
# wait_flush STATEFILE LSN: bounded wait (60 s) until the persisted flush LSN reaches LSN.
wait_flush() {
	want=$(lsn_num "$2"); i=0
	while :; do
		f=$(flush_of "$1")
		if [ -n "$f" ] && [ "$(lsn_num "$f")" -ge "$want" ]; then return 0; fi
		i=$((i + 1)); [ $i -lt 600 ] || { echo "flush LSN stuck at '$f', wanted $2" >&2; tail -n 30 "$T/drv.log" >&2; return 1; }
		sleep 0.1
	done
}
start_driver() { "$BIN/walrecv-driver" "$PG_CONNINFO" "$T/drv" >>"$T/drv.out" 2>>"$T/drv.log" & DRV=$!; }

pg_start "wal_keep_size = 2GB"
pg_pgbench_init 1
mkdir -p "$T/recv"
"$PG_BINDIR/pg_receivewal" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -D "$T/recv" --synchronous \
	-n 2>"$T/recv.log" & RECV=$!
start_driver
STATE=$T/drv/tl0/wal/wal.state
wait_flush "$STATE" "$(pg_current_lsn)"

# kill -9 under load, restart: resume from the persisted flush LSN
pg_pgbench -n -T 4 -c 2 -j 2 >/dev/null 2>&1 & BENCH=$!
pg_psql -c 'create table mark(x int); insert into mark values (1)' >/dev/null
wait_flush "$STATE" "$(pg_current_lsn)"
kill -9 $DRV; wait $DRV 2>/dev/null || true
before=$(flush_of "$STATE")
start_driver
wait $BENCH; BENCH=
pg_psql -c 'select pg_switch_wal()' >/dev/null
wait_flush "$STATE" "$(pg_current_lsn)"
grep -q "streaming from $before " "$T/drv.log" ||
	{ echo "the restarted receiver did not resume at its persisted flush LSN $before" >&2; cat "$T/drv.log" >&2; exit 1; }
echo "kill -9: resumed at $before"

# PostgreSQL restart mid-stream: reconnect and catch up (pg_receivewal -n ends; restart it)
pg_restart
kill $RECV 2>/dev/null || true; wait $RECV 2>/dev/null || true
"$PG_BINDIR/pg_receivewal" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -D "$T/recv" --synchronous \
	-n 2>>"$T/recv.log" & RECV=$!
pg_pgbench -n -T 2 -c 2 -j 2 >/dev/null 2>&1
pg_psql -c 'select pg_switch_wal()' >/dev/null
pg_psql -c 'insert into mark values (2)' >/dev/null
stop=$(pg_current_lsn)
wait_flush "$STATE" "$stop"
echo "PostgreSQL restart: caught up to $stop"

# SIGTERM: graceful stop with everything received flushed and persisted
kill -TERM $DRV
wait $DRV || { echo "walrecv-driver did not exit cleanly" >&2; cat "$T/drv.log" >&2; exit 1; }
DRV=
final=$(flush_of "$STATE")
[ "$(lsn_num "$final")" -ge "$(lsn_num "$stop")" ] || { echo "persisted flush $final < $stop" >&2; exit 1; }

# pg_receivewal must have the segment of the stop LSN too, then compare
seg=$(ls "$T/drv/tl0/wal" | grep '\.partial$' | sort | tail -1); seg=${seg%.partial}
i=0
while [ ! -e "$T/recv/$seg.partial" ] && [ ! -e "$T/recv/$seg" ]; do
	i=$((i + 1)); [ $i -lt 600 ] || { echo "pg_receivewal did not reach $seg" >&2; exit 1; }
	sleep 0.1
done
n=0
mkdir -p "$T/unz"
for name in $(wal_segments "$T/drv/tl0/wal"); do
	[ -e "$T/recv/$name" ] || continue
	# completed segments are compressed (docs/wal.md): compare what they hold
	f=$T/unz/$name
	wal_segment_copy "$T/drv/tl0/wal" "$name" "$f" || { echo "segment $name vanished" >&2; exit 1; }
	cmp "$f" "$T/recv/$name" || { echo "segment $name differs from pg_receivewal's" >&2; exit 1; }
	"$PG_BINDIR/pg_waldump" -q "$f" >/dev/null 2>"$T/waldump.err" ||
		{ grep -v "invalid record length\|contrecord" "$T/waldump.err" >&2 && exit 1 || true; }
	n=$((n + 1))
done
# the open segment: identical up to the persisted flush LSN
off=$(( $(lsn_num "$final") % 16777216 ))
if [ -e "$T/recv/$seg.partial" ] && [ $off -gt 0 ]; then
	cmp -n $off "$T/drv/tl0/wal/$seg.partial" "$T/recv/$seg.partial" ||
		{ echo "open segment differs before the flush LSN" >&2; exit 1; }
fi
echo "identical complete segments: $n; open segment identical up to $final"
[ $n -ge 2 ] || { echo "expected at least 2 complete segments" >&2; ls -l "$T/drv/tl0/wal" "$T/recv" >&2; exit 1; }
