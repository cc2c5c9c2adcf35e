#!/bin/sh
# SPDX-License-Identifier: MIT
# 20 timelines in one process, each with its own replication slot (created by the receiver),
# stream from one PostgreSQL 15 under pgbench load until all reach the same LSN; the slots exist
# and their restart LSN advanced (status updates with the flush LSN reach the server); every
# timeline stored the same bytes. Then the retention GC pauses until the receiver streams.
set -eu
. "${top_srcdir:-../..}/tests/common/pg.sh"
pg_require
BIN=${top_builddir:-../..}/tests/wal
T=$(mktemp -d /tmp/test-walmany.XXXXXX)
DRV=
# (a failed check exits with the driver still running: stop it too)
cleanup() { [ -z "$DRV" ] || kill -TERM "$DRV" 2>/dev/null || true; pg_stop; rm -rf "$T"; }
trap cleanup EXIT INT TERM
N=20

pg_start
pg_pgbench_init 1
. "${top_srcdir:-../..}/tests/wal/walstate.sh"
lsn_num() { printf '%d\n' $(( (0x${1%/*} << 32) + 0x${1#*/} )); }
wait_flush() {   # bounded (120 s) wait until STATEFILE's persisted flush LSN reaches LSN
	want=$(lsn_num "$2"); i=0
	while :; do
		f=$(flush_of "$1")
		if [ -n "$f" ] && [ "$(lsn_num "$f")" -ge "$want" ]; then return 0; fi
		i=$((i + 1)); [ $i -lt 1200 ] || { echo "$1: flush LSN stuck at '$f', wanted $2" >&2; return 1; }
		sleep 0.1
	done
}
"$BIN/walrecv-driver" "$PG_CONNINFO" "$T/drv" --n $N --slot execd_slot_ --create-slot \
	>"$T/show.json" 2>"$T/drv.log" &
DRV=$!
for i in $(seq 0 $((N - 1))); do wait_flush "$T/drv/tl$i/wal/wal.state" 0/1; done
# The flush position reported to the server (a physical slot's restart_lsn follows it) may run
# ahead of wal.state, but never beyond the segment where a restart would resume: wal.state's flush
# LSN, or past the complete segments after it (walseg_resume_lsn), so that the server still holds
# the WAL a restart asks for. Read the slot first, then wal.state and the directory (which only
# grow): the check holds whenever the reports keep the rule, whatever happens in between.
resume_segno() {   # DIR FLUSH_LSN: the segment number a restart resumes in (timeline 1)
	s=$(( $(lsn_num "$2") / 16777216 ))
	while [ -f "$1/$(printf '%08X%08X%08X' 1 $((s / 256)) $((s % 256)))" ]; do s=$((s + 1)); done
	echo $s
}
check_slots() {
	for i in $(seq 0 $((N - 1))); do
		r=$(pg_psql -c "select restart_lsn from pg_replication_slots where slot_name = 'execd_slot_$i'")
		f=$(flush_of "$T/drv/tl$i/wal/wal.state")
		[ -n "$r" ] && [ -n "$f" ] || continue
		[ $(( $(lsn_num "$r") / 16777216 )) -le "$(resume_segno "$T/drv/tl$i/wal" "$f")" ] ||
			{ echo "slot $i reported $r, beyond the segment where a restart from $f resumes" >&2; exit 1; }
	done
}
pg_pgbench -n -T 3 -c 2 -j 2 >/dev/null 2>&1 &
BENCH=$!
while kill -0 $BENCH 2>/dev/null; do check_slots; done
wait $BENCH
pg_psql -c 'select pg_switch_wal()' >/dev/null
check_slots
pg_psql -c 'create table mark(x int); insert into mark values (1)' >/dev/null
stop=$(pg_current_lsn)
for i in $(seq 0 $((N - 1))); do wait_flush "$T/drv/tl$i/wal/wal.state" "$stop"; done
check_slots
kill -TERM $DRV
wait $DRV || { echo "walrecv-driver failed" >&2; cat "$T/drv.log" >&2; exit 1; }
# (the driver shows the timelines after SIGTERM, while their receivers stop: a receiver may
# already be "stopped"; none may show an error)
[ "$(grep -cE '"state":"(streaming|stopped)","error":null' "$T/show.json")" -eq $N ] || { cat "$T/show.json" >&2; exit 1; }
slots=$(pg_psql -c "select count(*) from pg_replication_slots where slot_name like 'execd_slot_%' and restart_lsn is not null")
[ "$slots" -eq $N ] || { echo "expected $N slots, found $slots" >&2; exit 1; }
# all timelines hold identical WAL up to $stop: complete segments whole, the segment holding $stop
# up to it (a timeline may have gone on to WAL written after it, and one's segment may be complete
# where another's is still .partial). The .prep files are zero-filled scratch, made ahead of need.
ref=$T/drv/tl0/wal
stop_n=$(lsn_num "$stop")
stop_seg=$((stop_n / 16777216)) stop_off=$((stop_n % 16777216))
n=0
# completed segments are compressed (docs/wal.md): compare what they hold
unz() { # a segment file's content as a plain file: $1 the path without suffix, $2 a tag
	if [ -e "$1" ]; then echo "$1"
	elif [ -e "$1.zst" ]; then zstd -q -d -c "$1.zst" >"$T/unz.$2" && echo "$T/unz.$2"
	else echo "$1.partial"; fi
}
for f in "$ref"/???????????????????????? "$ref"/????????????????????????.partial \
	"$ref"/????????????????????????.zst; do
	[ -e "$f" ] || continue
	name=$(basename "$(basename "$f" .partial)" .zst)
	case $f in *.zst) f=$(unz "$ref/$name" ref) ;; esac
	segno=$(( 0x$(echo "$name" | cut -c9-16) * 256 + 0x$(echo "$name" | cut -c17-24) ))
	[ "$segno" -le $stop_seg ] || continue
	len=16777216; [ "$segno" -lt $stop_seg ] || len=$stop_off
	for i in $(seq 1 $((N - 1))); do
		g=$(unz "$T/drv/tl$i/wal/$name" "$i")
		cmp -n "$len" "$f" "$g" || { echo "timeline $i differs in $name" >&2; exit 1; }
	done
	n=$((n + 1))
done
[ $n -ge 2 ] || { echo "expected at least two segments up to $stop, found $n" >&2; ls -l "$ref" >&2; exit 1; }
echo "$N timelines with slots reached $stop with identical WAL in $n segments"

# retention: a limit of 1 byte would remove every complete, flushed segment, but the GC's first
# pass runs before the receiver streams, and retention removes nothing while the receiver is not
# streaming (docs/wal.md: the archive must not age out while the source is unreachable). That
# it removes once streaming is tested by tests/daemon/test_wal_retention.py.
# First complete the open segment; a second start (flush already there) runs the GC's first pass.
pg_psql -c 'select pg_switch_wal()' >/dev/null
pg_psql -c 'insert into mark values (2)' >/dev/null
stop=$(pg_current_lsn)
"$BIN/walrecv-driver" "$PG_CONNINFO" "$T/drv" --n 1 --until "$stop" >/dev/null 2>"$T/gc.log" ||
	{ cat "$T/gc.log" >&2; exit 1; }
before=$(ls "$T/drv/tl0/wal" | grep -c '^[0-9A-F]\{24\}\(\.zst\)\?$' || true)
WAL_RETENTION_BYTES=1 "$BIN/walrecv-driver" "$PG_CONNINFO" "$T/drv" --n 1 --until "$stop" \
	--timeout-ms 60000 >/dev/null 2>"$T/gc.log" || { cat "$T/gc.log" >&2; exit 1; }
grep -q "retention paused" "$T/gc.log" || { echo "retention not paused" >&2; cat "$T/gc.log" >&2; exit 1; }
left=$(ls "$T/drv/tl0/wal" | grep -c '^[0-9A-F]\{24\}\(\.zst\)\?$' || true)
[ "$left" -eq "$before" ] || { echo "retention removed segments before streaming" >&2; exit 1; }
ls "$T/drv/tl0/wal" | grep -q '\.partial$' || { echo "the open segment was removed" >&2; exit 1; }
echo "retention GC: paused before streaming, $left complete segments kept"
