#!/bin/sh
# SPDX-License-Identifier: MIT
# A real timeline's wal.state and segments damaged between two runs of execd (issue 15: state is
# checked, not trusted). Each damage must be caught at start: `timeline show` says state "error"
# with a "check" object naming the problem, the log has one line for it, no WAL receiver runs,
# and `wait-lsn` above the flush LSN fails at once with `damaged` (nothing acknowledged that is
# not on disk). Then `timeline repair` resumes from the complete segments on disk: streaming
# restarts at the resume point and the rewritten segment is identical to the server's.
set -eu
. "${top_srcdir:-../..}/tests/common/pg.sh"
. "${top_srcdir:-../..}/tests/common/walfiles.sh"
pg_require
B=${top_builddir:-../..}
EXECD=$B/daemon/execd
EXECCTL=$B/cli/execctl
SETSTATE=$B/tests/wal/walstate-set
for x in "$EXECD" "$EXECCTL" "$SETSTATE"; do
	[ -x "$x" ] || { echo "SKIP: $x not built" >&2; exit 77; }
done
T=$(mktemp -d /tmp/test-walcheck.XXXXXX)
EP=
cleanup() {
	set +e
	[ -n "$EP" ] && kill -9 "$EP" 2>/dev/null
	pg_stop; rm -rf "$T"
}
trap cleanup EXIT INT TERM
C() { "$EXECCTL" --socket "$T/sock" "$@"; }
die() { echo "FAIL: $*" >&2; [ -f "$T/execd.log" ] && tail -20 "$T/execd.log" >&2; exit 1; }
start_execd() {
	: >"$T/execd.log"
	"$EXECD" --state-dir "$T/state" --socket "$T/sock" --config /dev/null --log-level info 2>>"$T/execd.log" &
	EP=$!
	i=0
	until C status >/dev/null 2>&1; do
		kill -0 $EP 2>/dev/null || die "execd exited at start"
		i=$((i + 1)); [ $i -lt 600 ] || die "execd did not come up"
		sleep 0.1 # bounded retry until the socket answers, not a synchronisation
	done
}
stop_execd() {
	kill -TERM $EP; wait $EP || die "execd did not stop cleanly"; EP=
}
# jget FIELD [SUBFIELD]: a field of `timeline show --json` of $TL
jget() {
	C timeline show --json "$TL" | python3 -c '
import json, sys
v = json.load(sys.stdin)["timeline"]
for k in sys.argv[1:]:
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else v)' "$@"
}
lsn_num() { printf '%d' $(( (0x${1%/*} << 32) + 0x${1#*/} )); }
num_lsn() { printf '%X/%X' $(($1 >> 32)) $(($1 & 0xFFFFFFFF)); }
SEG=16777216

pg_start "wal_keep_size = 1GB"
start_execd
TEN=$(C tenant create)
TL=$(C timeline create --tenant "$TEN" --source "$PG_CONNINFO" --slot execd_check --create-slot)
pg_psql -c 'create table t(x int)' >/dev/null
for i in 1 2 3 4; do
	pg_psql -c "insert into t select generate_series(1, 1000); select pg_switch_wal()" >/dev/null
done
pg_psql -c "insert into t select generate_series(1, 1000)" >/dev/null
C timeline wait-lsn "$TL" --lsn "$(pg_current_lsn)" --timeout 60 >/dev/null
stop_execd
WAL=$(ls -d "$T"/state/tenants/*/timelines/"$TL"/wal)
# execd compresses complete segments (docs/wal.md); the damage below is done to plain segment
# files, which the check reads as well: decompress them in place first.
for z in "$WAL"/*.zst; do
	[ -e "$z" ] && { zstd -q -d --rm "$z" || die "cannot decompress $z"; }
done
PARTIAL=$(cd "$WAL" && ls | grep '\.partial$' | sort | tail -1)
COMPLETE=$(cd "$WAL" && ls | grep -E '^[0-9A-F]{24}$' | sort | tail -1)
[ -n "$PARTIAL" ] && [ -n "$COMPLETE" ] || die "expected complete and .partial segments: $(ls "$WAL")"
rm -rf "$T/pristine"; cp -a "$T/state" "$T/pristine"

. "${top_srcdir:-../..}/tests/wal/walstate.sh"
FLUSH0=$(flush_of "$WAL/wal.state")
[ -n "$FLUSH0" ] || die "no flush LSN persisted"
PSEG=${PARTIAL%.partial}

# damaged NAME PROBLEM: start on the damaged copy; everything the check promises is checked
damaged() {
	start_execd
	[ "$(jget state)" = error ] || die "$1: state $(jget state), not error"
	[ "$(jget check status)" = damaged ] || die "$1: check status '$(jget check status)'"
	[ "$(jget check problem)" = "$2" ] || die "$1: problem $(jget check problem), not $2"
	msg=$(jget check message)
	case $msg in *"execctl timeline repair"* | *"create it again"*) ;; *) die "$1: no repair advice: $msg" ;; esac
	[ "$(jget error)" = "$msg" ] || die "$1: the error field is not the check's message"
	[ "$(grep -c "WAL check failed ($2)" "$T/execd.log")" -eq 1 ] || die "$1: not one log line"
	grep "WAL check failed ($2)" "$T/execd.log" | grep -q "timeline=$TL" ||
		die "$1: the log line does not name the timeline"
	if C list --kind wal_receiver --no-legend | grep -q .; then die "$1: a WAL receiver runs"; fi
	flush=$(jget flush_lsn)
	[ "$(lsn_num "$flush")" -le "$(lsn_num "$FLUSH0")" ] || die "$1: flush LSN $flush beyond the WAL on disk"
	above=$(num_lsn $(($(lsn_num "$flush") + 1)))
	if C timeline wait-lsn "$TL" --lsn "$above" --timeout 30 >"$T/out" 2>"$T/err"; then
		die "$1: wait-lsn $above acknowledged WAL above the flush LSN $flush"
	fi
	grep -q damaged "$T/err" || die "$1: the wait-lsn error does not say damaged: $(cat "$T/err")"
	[ "$(C timeline wait-lsn "$TL" --lsn "$flush" --timeout 30)" = "$flush" ] ||
		die "$1: wait-lsn at the flush LSN"
	echo "caught $1: $2 (flush LSN $flush; problem: $msg)"
}
restore() { rm -rf "$T/state"; cp -a "$T/pristine" "$T/state"; }
# wait_state S: the timeline reaches state S (bounded poll of show)
wait_state() {
	i=0
	until [ "$(jget state)" = "$1" ]; do
		i=$((i + 1)); [ $i -lt 600 ] || die "the timeline did not reach state $1: $(jget error)"
		sleep 0.1 # bounded poll of show, not a synchronisation
	done
}
# repaired SEGMENT: repair, then streaming resumes at SEGMENT's start and SEGMENT, complete
# again, is identical to the server's own file
repaired() {
	resume=$(jget check resume_lsn)
	[ "$(lsn_num "$resume")" -eq $(( 0x${1#????????????????} * SEG + (0x$(echo "$1" | cut -c9-16) << 32) )) ] ||
		die "resume LSN $resume is not the start of $1"
	C timeline repair "$TL" >/dev/null || die "timeline repair failed"
	[ "$(jget check status)" = repaired ] || die "check status after repair: $(jget check status)"
	wait_state streaming
	grep -q "streaming from $resume " "$T/execd.log" || die "did not resume streaming at $resume"
	pg_psql -c "insert into t select generate_series(1, 1000); select pg_switch_wal()" >/dev/null
	C timeline wait-lsn "$TL" --lsn "$(pg_current_lsn)" --timeout 60 >/dev/null || die "wait-lsn after repair"
	# plain, or compressed by then
	wal_segment_copy "$WAL" "$1" "$T/again" || die "$1 was not streamed again: $(ls "$WAL")"
	cmp "$T/again" "$PG_DATA/pg_wal/$1" || die "$1 differs from the server's"
	echo "repaired: resumed at $resume, $1 identical to the server's"
}

# the undamaged copy passes its check and streams (no false alarm)
restore; start_execd
[ "$(jget check status)" = ok ] || die "an undamaged timeline: check $(jget check status): $(jget check message)"
wait_state streaming
if C timeline repair "$TL" >/dev/null 2>"$T/err"; then die "the repair of a healthy timeline was accepted"; fi
grep -q "nothing to repair" "$T/err" || die "repair of a healthy timeline: $(cat "$T/err")"
stop_execd

# both slots of wal.state garbage
restore; head -c 8192 /dev/urandom >"$WAL/wal.state"
damaged "garbage state" state_damaged; stop_execd

# FF/0 (a valid checksum: only the files can tell)
restore; "$SETSTATE" "$WAL" FF/0
damaged "flush LSN FF/0" incomplete_segment; stop_execd

# .partial truncated, then missing
restore; truncate -s 40000 "$WAL/$PARTIAL"
damaged "truncated .partial" wrong_size; stop_execd
restore; rm "$WAL/$PARTIAL"
damaged "missing .partial" missing_segment; stop_execd

# a complete segment of the wrong size
restore; truncate -s $((SEG - 8192)) "$WAL/$COMPLETE"
damaged "short complete segment" wrong_size; stop_execd

# a flush LSN two segments ahead: caught, then repaired from the disk
restore; "$SETSTATE" "$WAL" "$(num_lsn $(($(lsn_num "$FLUSH0") + 2 * SEG)))"
damaged "flush LSN two segments ahead" incomplete_segment
repaired "$PSEG"
[ -e "$WAL/$PARTIAL.damaged" ] || die "the old .partial was not kept as .damaged"
stop_execd

# a complete segment with a bad first page header (xlp_magic): caught, then repaired
restore; printf '\377\377' | dd of="$WAL/$COMPLETE" bs=1 count=2 conv=notrunc 2>/dev/null
damaged "bad first page header" bad_page_header
repaired "$COMPLETE"
[ -e "$WAL/$COMPLETE.damaged" ] || die "the damaged segment was not kept as .damaged"
stop_execd
echo "all damage caught; repair resumed from the disk"
