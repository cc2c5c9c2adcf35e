#!/bin/sh
# SPDX-License-Identifier: MIT
# A timeline switch on the server is followed: the receiver streams from a standby; the standby
# is promoted (PostgreSQL timeline 1 -> 2); the receiver logs the switch, persists timeline 2 and
# keeps streaming WAL written after the promotion into timeline-2 segment files, next to the
# timeline's history file (00000002.history, fetched with TIMELINE_HISTORY).
set -eu
. "${top_srcdir:-../..}/tests/common/pg.sh"
. "${top_srcdir:-../..}/tests/wal/walstate.sh"
pg_require
BIN=${top_builddir:-../..}/tests/wal
T=$(mktemp -d /tmp/test-walpromote.XXXXXX)
DRV=
cleanup() { set +e; [ -n "$DRV" ] && kill -9 "$DRV" 2>/dev/null; pg_stop; rm -rf "$T"; }
trap cleanup EXIT INT TERM
lsn_num() { printf '%d\n' $(( (0x${1%/*} << 32) + 0x${1#*/} )); }
wait_flush() {
	want=$(lsn_num "$2"); i=0
	while :; do
		f=$(flush_of "$1")
		if [ -n "$f" ] && [ "$(lsn_num "$f")" -ge "$want" ]; then return 0; fi
		i=$((i + 1)); [ $i -lt 600 ] || { echo "flush LSN stuck at '$f', wanted $2" >&2; cat "$T/drv.log" >&2; return 1; }
		sleep 0.1
	done
}

pg_start
pg_psql -c 'create table t(x int); insert into t values (1)' >/dev/null
pg_start_standby
"$BIN/walrecv-driver" "$PG_STANDBY_CONNINFO" "$T/drv" >"$T/drv.out" 2>"$T/drv.log" &
DRV=$!
STATE=$T/drv/tl0/wal/wal.state
pg_psql -c 'insert into t select generate_series(1, 10000)' >/dev/null
# the standby has it once its replay position reaches the primary's
want=$(pg_current_lsn)
i=0
until [ "$(pg_psql_standby -c "select pg_last_wal_replay_lsn() >= '$want'")" = t ]; do
	i=$((i + 1)); [ $i -lt 600 ] || { echo "standby did not catch up" >&2; exit 1; }
	sleep 0.1
done
wait_flush "$STATE" "$want"
pg_promote_standby
pg_psql_standby -c 'insert into t select generate_series(1, 10000)' >/dev/null
stop=$(pg_psql_standby -c 'select pg_current_wal_lsn()')
wait_flush "$STATE" "$stop"
grep -q "switched to timeline 2" "$T/drv.log" || { echo "no timeline switch logged" >&2; cat "$T/drv.log" >&2; exit 1; }
tr -d '\000' <"$STATE" | grep -q '"pg_timeline":2' || { echo "timeline 2 not persisted" >&2; exit 1; }
ls "$T/drv/tl0/wal" | grep -q '^00000002' || { echo "no timeline-2 segment" >&2; ls "$T/drv/tl0/wal" >&2; exit 1; }
# the new timeline's history file is stored as the server has it (pg_receivewal does the same)
cmp "$PG_STANDBY_DATA/pg_wal/00000002.history" "$T/drv/tl0/wal/00000002.history" ||
	{ echo "00000002.history missing or not the server's" >&2; ls "$T/drv/tl0/wal" >&2; exit 1; }
kill -TERM $DRV; wait $DRV; DRV=
# a restart on timeline 2 finds the history file there and goes on streaming
"$BIN/walrecv-driver" "$PG_STANDBY_CONNINFO" "$T/drv" --n 1 --until "$stop" >/dev/null 2>"$T/drv2.log" ||
	{ echo "restart on timeline 2 failed" >&2; cat "$T/drv2.log" >&2; exit 1; }
cmp "$PG_STANDBY_DATA/pg_wal/00000002.history" "$T/drv/tl0/wal/00000002.history"
echo "followed the switch to timeline 2 and stored its history file; flushed up to $stop"
