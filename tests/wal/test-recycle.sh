#!/bin/sh
# SPDX-License-Identifier: MIT
# A timeline that catches up with large XLogData messages reconnects once it is caught up, so
# that libpq's input buffer, grown to the largest message and never shrunk, is freed
# (daemon/wal/walrecv_stream.c, recycle_due; docs/wal.md):
#  - the receiver logs the reconnection once, and streams again from where it had synced;
#  - the segment it was in is byte-identical to the server's own (no gap, no duplicate);
#  - it follows the server afterwards, and stops cleanly.
set -eu
. "${top_srcdir:-../..}/tests/common/pg.sh"
. "${top_srcdir:-../..}/tests/common/execd.sh"
. "${top_srcdir:-../..}/tests/common/walfiles.sh"
pg_require
execd_test_init test-walrecycle
# wait_log PATTERN COUNT: until the log has COUNT lines matching PATTERN (bounded, 60 s)
wait_log() {
	i=0
	until [ "$(grep -c "$1" "$T/execd.log")" -ge "$2" ]; do
		i=$((i + 1)); [ $i -lt 600 ] || fail "no $2 lines '$1' in the log"
		sleep 0.1
	done
}

pg_start "wal_keep_size = 1GB"
# a backlog in the server's current segment: the new timeline starts at the segment's start
# (as pg_receivewal does) and catches up with messages of up to 128 KiB
pg_psql -c 'create table t(x int, pad text); select pg_switch_wal()' >/dev/null
pg_psql -c "insert into t select g, repeat('x', 100) from generate_series(1, 40000) g" >/dev/null
execd_start --log-level info --wal-recycle-after 1
TEN=$(C tenant create)
TL=$(C timeline create --tenant "$TEN" --source "$PG_CONNINFO")
wait_log "caught up after messages of up to" 1
wait_log "streaming from " 2
synced=$(grep "streaming from " "$T/execd.log" | sed -n 2p | sed 's/.*streaming from \([0-9A-F/]*\) .*/\1/')
echo "recycled: caught up, reconnected from $synced"

# it follows the server afterwards; the segment of the reconnection is the server's, byte for byte
pg_psql -c "insert into t select g, 'y' from generate_series(1, 1000) g; select pg_switch_wal()" \
	>/dev/null
pg_psql -c 'insert into t values (0)' >/dev/null
C timeline wait-lsn "$TL" --lsn "$(pg_current_lsn)" --timeout 60 >/dev/null
WALDIR=$(ls -d "$T"/state/tenants/*/timelines/"$TL"*/wal)
n=0
for name in $(wal_segments "$WALDIR"); do
	wal_segment_copy "$WALDIR" "$name" "$T/$name" || fail "segment $name vanished"
	cmp "$T/$name" "$PG_DATA/pg_wal/$name" || fail "segment $name differs from the server's"
	n=$((n + 1))
done
[ $n -ge 1 ] || fail "no complete segment to compare"
[ "$(grep -c "caught up after messages of up to" "$T/execd.log")" = 1 ] ||
	fail "more than one reconnection for the input buffer"
kill -TERM $EP
wait $EP || fail "execd did not stop cleanly"
EP=
echo "identical complete segments: $n; one reconnection"
