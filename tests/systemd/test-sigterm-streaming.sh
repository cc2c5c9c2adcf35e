#!/bin/sh
# SPDX-License-Identifier: MIT
# SIGTERM while timelines are busy streaming WAL from PostgreSQL 15 under write load:
#  - before: `execctl timeline show` reports a streaming timeline's source, state, system id,
#    received/flushed/server LSN, lag, segments and bytes on disk, and the table matches --json;
#  - SIGTERM mid-stream: execd exits 0;
#  - a new execd on the same state directory has every tenant and timeline, each timeline's
#    flush LSN at least what wait-lsn acknowledged before the signal, and resumes streaming.
set -eu
. "${top_srcdir:-../..}/tests/common/pg.sh"
pg_require
: "${EXECD:?}" "${EXECCTL:?}"
[ -x "$EXECD" ] && [ -x "$EXECCTL" ] || { echo "SKIP: execd or execctl not built" >&2; exit 77; }
T=$(mktemp -d /tmp/test-sigterm-stream.XXXXXX)
EP= LOAD=
cleanup() {
	set +e
	for p in $EP $LOAD; do kill -9 "$p" 2>/dev/null; done
	pg_stop
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
C() { "$EXECCTL" --socket "$T/sock" "$@"; }
fail() { echo "FAIL: $*" >&2; [ -f "$T/execd.log" ] && tail -30 "$T/execd.log" >&2; exit 1; }
# jget FILE PYTHON-EXPR: evaluates EXPR on the JSON document `d` read from FILE.
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
lsn_ge() { python3 -c 'import sys
h=lambda s: (int(s.split("/")[0],16)<<32)+int(s.split("/")[1],16)
sys.exit(0 if h(sys.argv[1]) >= h(sys.argv[2]) else 1)' "$1" "$2"; }
start_execd() {
	"$EXECD" --state-dir "$T/state" --socket "$T/sock" --config /dev/null --log-level info \
		>>"$T/execd.log" 2>&1 &
	EP=$!
	i=0
	# Bounded retry until the socket answers; fails at once if execd exits.
	until C status >/dev/null 2>&1; do
		kill -0 "$EP" 2>/dev/null || fail "execd exited before serving"
		i=$((i + 1)); [ $i -lt 600 ] || fail "execd did not answer within 60 s"
		sleep 0.1
	done
}

pg_start "wal_keep_size = 1GB"
pg_pgbench_init 1
start_execd
TEN=$(C tenant create)
TL1=$(C timeline create --tenant "$TEN" --source "$PG_CONNINFO" --slot execd_sig1 --create-slot)
TL2=$(C timeline create --tenant "$TEN" --source "$PG_CONNINFO")

lsn=$(pg_current_lsn)
for tl in $TL1 $TL2; do
	C timeline wait-lsn "$tl" --lsn "$lsn" --timeout 120 >/dev/null || fail "wait-lsn $tl $lsn"
done

# What timeline show reports while streaming, in both forms. The LSNs and the segment count
# may move between two calls (the server still writes a little WAL; wal.state is persisted each
# second), so the table's values must lie between those of a JSON call before and one after it.
C --json timeline show "$TL1" >"$T/show.json"
C timeline show "$TL1" >"$T/show.txt"
C --json timeline show "$TL1" >"$T/show2.json"
[ "$(jget "$T/show.json" 'd["timeline"]["state"]')" = streaming ] || fail "not streaming: $(cat "$T/show.txt")"
[ "$(jget "$T/show.json" 'd["timeline"]["slot"]')" = execd_sig1 ] || fail "slot"
[ "$(jget "$T/show.json" 'd["timeline"]["pg_timeline"]')" = 1 ] || fail "pg_timeline"
[ "$(jget "$T/show.json" 'd["timeline"]["system_id"] is not None')" = True ] || fail "system_id"
[ "$(jget "$T/show.json" 'd["timeline"]["segments"] >= 1')" = True ] || fail "segments"
[ "$(jget "$T/show.json" 'd["timeline"]["bytes_on_disk"] > 0')" = True ] || fail "bytes_on_disk"
[ "$(jget "$T/show.json" 'd["timeline"]["lag_bytes"] >= 0')" = True ] || fail "lag_bytes"
lsn_ge "$(jget "$T/show.json" 'd["timeline"]["flush_lsn"]')" "$lsn" || fail "flush_lsn < $lsn"
v=$(jget "$T/show.json" "d['timeline']['source']")
grep -qF -- "$v" "$T/show.txt" || fail "timeline show lacks source=$v: $(cat "$T/show.txt")"
table() { sed -n "s/^ *$1: //p" "$T/show.txt"; }
for f in received_lsn:Received flush_lsn:Flushed; do
	v=$(table "${f#*:}")
	lsn_ge "$v" "$(jget "$T/show.json" "d['timeline']['${f%:*}']")" &&
		lsn_ge "$(jget "$T/show2.json" "d['timeline']['${f%:*}']")" "$v" ||
		fail "timeline show's ${f#*:} $v is not between two JSON calls: $(cat "$T/show.txt")"
done
v=$(table Segments)
[ "$v" -ge "$(jget "$T/show.json" "d['timeline']['segments']")" ] &&
	[ "$v" -le "$(jget "$T/show2.json" "d['timeline']['segments']")" ] ||
	fail "timeline show's segment count $v is not between two JSON calls: $(cat "$T/show.txt")"
grep -q "State: streaming" "$T/show.txt" || fail "table state"
C --json list --timeline "$TL1" >"$T/tasks.json"
[ "$(jget "$T/tasks.json" 'sorted({t["kind"] for t in d["tasks"]} & {"wal_receiver"})')" = "['wal_receiver']" ] ||
	fail "no wal_receiver task: $(C list --timeline "$TL1")"

# Busy: keep writing while the signal arrives.
pg_pgbench -n -c 2 -T 600 >/dev/null 2>&1 & LOAD=$!
acked=$(pg_current_lsn)
for tl in $TL1 $TL2; do
	C timeline wait-lsn "$tl" --lsn "$acked" --timeout 120 >/dev/null || fail "wait-lsn $tl $acked under load"
done
kill -TERM "$EP"
rc=0; wait "$EP" || rc=$?
EP=
[ "$rc" -eq 0 ] || fail "execd exited $rc after SIGTERM while streaming"
kill "$LOAD" 2>/dev/null || true; wait "$LOAD" 2>/dev/null || true; LOAD=

# A new execd sees everything and resumes from the persisted flush LSN.
start_execd
C --json timeline list >"$T/list.json"
[ "$(jget "$T/list.json" 'sorted(t["id"] for t in d["timelines"])')" = \
  "$(python3 -c 'import sys; print(sorted(sys.argv[1:]))' "$TL1" "$TL2")" ] || fail "timelines lost"
for tl in $TL1 $TL2; do
	C --json timeline show "$tl" >"$T/after.json"
	lsn_ge "$(jget "$T/after.json" 'd["timeline"]["flush_lsn"]')" "$acked" ||
		fail "$tl: persisted flush LSN below the acknowledged $acked"
done
final=$(pg_current_lsn)
for tl in $TL1 $TL2; do
	C timeline wait-lsn "$tl" --lsn "$final" --timeout 120 >/dev/null || fail "no resume on $tl"
done
kill -TERM "$EP"
rc=0; wait "$EP" || rc=$?
EP=
[ "$rc" -eq 0 ] || fail "second execd exited $rc"
echo "SIGTERM while streaming: exit 0; flush LSN >= $acked kept; resumed to $final"
