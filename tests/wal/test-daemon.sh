#!/bin/sh
# SPDX-License-Identifier: MIT
# Timelines streaming in the real execd, driven with execctl, against PostgreSQL 15 under
# pgbench load and next to pg_receivewal:
#  - wait-lsn returns once the flush LSN is reached; show reports streaming;
#  - kill -9 of execd mid-stream, restart: the timeline resumes at its persisted flush LSN, and
#    its complete segments are byte-identical to pg_receivewal's (no gap, no duplicate);
#  - timeline delete mid-stream: its tasks end, its files go;
#  - SIGTERM: execd stops cleanly; the persisted flush LSN is what was flushed.
set -eu
. "${top_srcdir:-../..}/tests/common/pg.sh"
. "${top_srcdir:-../..}/tests/common/walfiles.sh"
pg_require
B=${top_builddir:-../..}
EXECD=$B/daemon/execd
EXECCTL=$B/cli/execctl
[ -x "$EXECD" ] && [ -x "$EXECCTL" ] || { echo "SKIP: execd or execctl not built" >&2; exit 77; }
T=$(mktemp -d /tmp/test-waldaemon.XXXXXX)
EP= RECV= BENCH=
cleanup() {
	set +e
	for p in $EP $RECV $BENCH; do kill -9 "$p" 2>/dev/null; done
	pg_stop; rm -rf "$T"
}
trap cleanup EXIT INT TERM
C() { "$EXECCTL" --socket "$T/sock" "$@"; }
start_execd() {
	"$EXECD" --state-dir "$T/state" --socket "$T/sock" --config /dev/null --log-level info 2>>"$T/execd.log" &
	EP=$!
	i=0
	until C status >/dev/null 2>&1; do
		kill -0 $EP 2>/dev/null || { cat "$T/execd.log" >&2; exit 1; }
		i=$((i + 1)); [ $i -lt 600 ] || { echo "execd did not come up" >&2; exit 1; }
		sleep 0.1
	done
}
. "${top_srcdir:-../..}/tests/wal/walstate.sh"

pg_start "wal_keep_size = 2GB"
pg_pgbench_init 1
mkdir -p "$T/recv"
"$PG_BINDIR/pg_receivewal" -h "$PG_SOCK" -p "$PG_PORT" -U postgres -D "$T/recv" --synchronous -n \
	2>"$T/recv.log" & RECV=$!
start_execd
TEN=$(C tenant create)
TL=$(C timeline create --tenant "$TEN" --source "$PG_CONNINFO" --slot execd_t1 --create-slot)
TL2=$(C timeline create --tenant "$TEN" --source "$PG_CONNINFO")
C timeline wait-lsn "$TL" --lsn "$(pg_current_lsn)" --timeout 60 >/dev/null
C timeline show --json "$TL" | grep -q '"state":[[:space:]]*"streaming"' || { C timeline show "$TL" >&2; exit 1; }
STATE=$(ls -d "$T"/state/tenants/*/timelines/"$TL"*/wal)/wal.state

# a source that cannot be reached: state backoff with the error; the password never shows
BAD=$(C timeline create --tenant "$TEN" --source "host=$T/nowhere port=1 user=x password=s3cr3t")
i=0
until C timeline show --json "$BAD" | grep -q '"state":[[:space:]]*"backoff"'; do
	i=$((i + 1)); [ $i -lt 600 ] || { echo "unreachable source not in backoff" >&2; C timeline show "$BAD" >&2; exit 1; }
	sleep 0.1
done
C timeline show --json "$BAD" | grep -q '"error":[[:space:]]*"connecting: ' || { C timeline show "$BAD" >&2; exit 1; }
if C timeline show --json "$BAD" | grep -q s3cr3t; then echo "password shown" >&2; exit 1; fi
C timeline delete "$BAD" >/dev/null
if C timeline create --tenant "$TEN" --source "nosuchkeyword=1" >/dev/null 2>&1; then
	echo "a malformed source was accepted" >&2; exit 1
fi

# kill -9 mid-stream under load, restart
pg_pgbench -n -T 4 -c 2 -j 2 >/dev/null 2>&1 & BENCH=$!
pg_psql -c 'select pg_switch_wal()' >/dev/null
C timeline wait-lsn "$TL" --lsn "$(pg_current_lsn)" --timeout 60 >/dev/null
kill -9 $EP; wait $EP 2>/dev/null || true
before=$(flush_of "$STATE")
start_execd
# delete the second timeline while it streams under load: tasks end, files go
dir2=$(ls -d "$T"/state/tenants/*/timelines/"$TL2"*)
C timeline delete "$TL2" >/dev/null
[ ! -e "$dir2" ] || { echo "timeline directory $dir2 still exists" >&2; exit 1; }
# (the delete request's own task is bound to the timeline and ends right after its reply)
if C list --no-legend 2>/dev/null | grep -v control_request | grep -q "${TL2%"${TL2#????????}"}"; then
	echo "tasks of the deleted timeline remain" >&2; C list >&2; exit 1
fi
wait $BENCH; BENCH=
pg_psql -c 'select pg_switch_wal()' >/dev/null
pg_psql -c 'create table mark(x int); insert into mark values (1)' >/dev/null
stop=$(pg_current_lsn)
C timeline wait-lsn "$TL" --lsn "$stop" --timeout 60 >/dev/null
grep -q "streaming from $before " "$T/execd.log" ||
	{ echo "execd did not resume at the persisted flush LSN $before" >&2; cat "$T/execd.log" >&2; exit 1; }
echo "kill -9: resumed at $before; caught up to $stop; deleted timeline gone"

# SIGTERM: clean stop; the persisted flush LSN covers what wait-lsn reported
kill -TERM $EP
wait $EP || { echo "execd did not stop cleanly" >&2; tail "$T/execd.log" >&2; exit 1; }
EP=
final=$(flush_of "$STATE")
[ "$(printf '%d' $(( (0x${final%/*} << 32) + 0x${final#*/} )))" -ge \
  "$(printf '%d' $(( (0x${stop%/*} << 32) + 0x${stop#*/} )))" ] || { echo "persisted $final < $stop" >&2; exit 1; }

WALDIR=$(dirname "$STATE")
seg=$(ls "$WALDIR" | grep '\.partial$' | sort | tail -1); seg=${seg%.partial}
i=0
while [ ! -e "$T/recv/$seg.partial" ] && [ ! -e "$T/recv/$seg" ]; do
	i=$((i + 1)); [ $i -lt 600 ] || { echo "pg_receivewal did not reach $seg" >&2; exit 1; }
	sleep 0.1
done
n=0
for name in $(wal_segments "$WALDIR"); do
	[ -e "$T/recv/$name" ] || continue
	# completed segments are compressed (docs/wal.md), maybe while we look: compare what they hold
	f=$T/$name
	wal_segment_copy "$WALDIR" "$name" "$f" || { echo "segment $name vanished" >&2; exit 1; }
	cmp "$f" "$T/recv/$name" || { echo "segment $name differs from pg_receivewal's" >&2; exit 1; }
	"$PG_BINDIR/pg_waldump" -q "$f" >/dev/null 2>"$T/waldump.err" ||
		{ grep -v "invalid record length\|contrecord" "$T/waldump.err" >&2 && exit 1 || true; }
	n=$((n + 1))
done
echo "identical complete segments: $n"
[ $n -ge 2 ] || { echo "expected complete segments in common" >&2; ls -l "$WALDIR" "$T/recv" >&2; exit 1; }
