#!/bin/sh
# SPDX-License-Identifier: MIT
# The per-timeline WAL metrics of --metrics-listen against PostgreSQL 15 under pgbench load:
# once wait-lsn returned, /metrics shows WAL received and flushed, fdatasyncs in the histogram,
# a flush lag, the flush LSN at least the one waited for, the segments on disk (after a
# retention scan); an unreachable source counts reconnects; promtool accepts the scrape with
# the timeline series; a deleted timeline's series go. Every wait is a bounded poll.
set -eu
. "${top_srcdir:-../..}/tests/common/pg.sh"
pg_require
B=${top_builddir:-../..}
EXECD=$B/daemon/execd
EXECCTL=$B/cli/execctl
[ -x "$EXECD" ] && [ -x "$EXECCTL" ] || { echo "SKIP: execd or execctl not built" >&2; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl is not installed" >&2; exit 77; }
T=$(mktemp -d /tmp/test-walmetrics.XXXXXX)
EP= BENCH=
cleanup() {
	set +e
	for p in $EP $BENCH; do kill -9 "$p" 2>/dev/null; done
	pg_stop; rm -rf "$T"
}
trap cleanup EXIT INT TERM
C() { "$EXECCTL" --socket "$T/sock" "$@"; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
M() { curl -sf "http://127.0.0.1:$PORT/metrics"; }
# the value of the sample whose name{labels} starts with $1 (first match), or nothing
V() { M | awk -v k="$1" 'index($0, k) == 1 { print $NF; exit }'; }
# bounded poll until awk expression $2 holds for value V($1)
until_v() {
	i=0
	until v=$(V "$1") && [ -n "$v" ] && awk -v v="$v" "BEGIN { exit !($2) }"; do
		i=$((i + 1)); [ $i -lt 600 ] || { echo "timed out: $1 $2 (last '$v')" >&2; M >&2; exit 1; }
		sleep 0.1 # back-off of a bounded poll
	done
}

pg_start
pg_pgbench_init 1
"$EXECD" --state-dir "$T/state" --socket "$T/sock" --config /dev/null --log-level info \
	--metrics-listen "127.0.0.1:$PORT" 2>>"$T/execd.log" &
EP=$!
i=0
until C status >/dev/null 2>&1; do
	kill -0 $EP 2>/dev/null || { cat "$T/execd.log" >&2; exit 1; }
	i=$((i + 1)); [ $i -lt 600 ] || { echo "execd did not come up" >&2; exit 1; }
	sleep 0.1
done
TEN=$(C tenant create)
TL=$(C timeline create --tenant "$TEN" --source "$PG_CONNINFO")
TLF=$TL # create prints the full 32-digit id, as the labels have it
"$PG_BINDIR/pgbench" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -n -T 3 postgres >/dev/null 2>&1 &
BENCH=$!
LSN=$(pg_current_lsn)
C timeline wait-lsn "$TL" --lsn "$LSN" --timeout 60 >/dev/null
wait $BENCH; BENCH=
L="{tenant_id=\"$TEN\",timeline_id=\"$TLF\"}"
HL="tenant_id=\"$TEN\",timeline_id=\"$TLF\""
hi=$(printf '%s' "$LSN" | cut -d/ -f1); lo=$(printf '%s' "$LSN" | cut -d/ -f2)
want=$(( (0x$hi << 32) + 0x$lo ))
until_v "execd_wal_received_bytes_total$L" "v > 0"
until_v "execd_wal_flushed_bytes_total$L" "v > 0"
until_v "execd_wal_flush_lsn$L" "v >= $want"
until_v "execd_wal_fdatasync_duration_seconds_count{$HL}" "v > 0"
until_v "execd_wal_flush_lag_bytes$L" "v >= 0"
until_v "execd_wal_segments$L" "v >= 1" # the retention scan runs every 10 s
until_v "execd_wal_segments_bytes$L" "v > 0"
until_v 'execd_tasks{kind="wal_receiver",state="waiting"}' "v + 0 >= 0"

BAD=$(C timeline create --tenant "$TEN" --source "host=$T/nowhere port=1 user=x")
BADF=$BAD
until_v "execd_wal_receiver_reconnects_total{tenant_id=\"$TEN\",timeline_id=\"$BADF\"}" "v >= 1"
if command -v promtool >/dev/null; then
	M | promtool check metrics || { echo "promtool rejects the scrape" >&2; exit 1; }
fi
C timeline delete "$BAD" >/dev/null
if M | grep -q "timeline_id=\"$BADF\""; then echo "a deleted timeline's series remain" >&2; exit 1; fi
kill -TERM $EP
wait $EP || { echo "execd did not stop cleanly" >&2; tail "$T/execd.log" >&2; exit 1; }
EP=
echo ok
