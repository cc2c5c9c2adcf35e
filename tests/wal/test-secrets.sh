#!/bin/sh
# SPDX-License-Identifier: MIT
# Secrets never leave the daemon's user (issue 15, item 2), against a PostgreSQL 15 that requires
# a password (scram-sha-256) of the replication user:
#  - a timeline whose source names a passfile (libpq's own, the documented way) streams through a
#    slot that execd creates (its name at PostgreSQL's limit, 63 bytes); one without a password
#    does not: the server really asks for it;
#  - a timeline with password= and sslpassword= in its source streams too, and neither value is
#    in any reply (create, show, list, status, errors) or in the log;
#  - timeline.json is 0600; a member of the daemon's group finds no secret in any file under the
#    state directory it can read.
set -eu
. "${top_srcdir:-../..}/tests/common/pg.sh"
pg_require
B=${top_builddir:-../..}
EXECD=$B/daemon/execd
EXECCTL=$B/cli/execctl
[ -x "$EXECD" ] && [ -x "$EXECCTL" ] || { echo "SKIP: execd or execctl not built" >&2; exit 77; }
command -v setpriv >/dev/null || { echo "SKIP: setpriv (util-linux) not found" >&2; exit 77; }
T=$(mktemp -d /tmp/test-secrets.XXXXXX)
EP=
cleanup() {
	set +e
	[ -z "$EP" ] || kill -9 "$EP" 2>/dev/null
	pg_stop; rm -rf "$T"
}
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*" >&2; echo "---- execd log ----" >&2; cat "$T/execd.log" >&2; exit 1; }
C() { "$EXECCTL" --socket "$T/sock" "$@"; }
# no password from our environment: what reaches the server is the timeline's source alone
unset PGPASSWORD PGPASSFILE PGSERVICE PGSERVICEFILE
start_execd() {
	HOME=$T/home "$EXECD" --state-dir "$T/state" --socket "$T/sock" --config /dev/null \
		--log-level debug 2>>"$T/execd.log" &
	EP=$!
	i=0
	until C status >/dev/null 2>&1; do
		kill -0 $EP 2>/dev/null || fail "execd exited"
		i=$((i + 1)); [ $i -lt 600 ] || fail "execd did not come up"
		sleep 0.1 # bounded retry until the socket answers, not a synchronisation
	done
}
wait_state() { # TIMELINE STATE
	i=0
	until C timeline show --json "$1" | grep -q "\"state\":[[:space:]]*\"$2\""; do
		i=$((i + 1)); [ $i -lt 600 ] || { C timeline show "$1" >&2; fail "$1 never $2"; }
		sleep 0.1 # bounded poll of the daemon's state
	done
}

PW=scram_9c41e27d
SSLPW=sslkey_5a0b83f6
SLOT=execd_slot_$(printf '%052d' 0) # 63 bytes
pg_start
pg_psql -c "create role execd_repl login replication password '$PW'" >/dev/null
# the replication user must authenticate; the harness's own psql stays trusted
printf 'local replication execd_repl scram-sha-256\nlocal all all trust\nlocal replication all trust\n' |
	pg_as tee "$PG_DATA/pg_hba.conf" >/dev/null
pg_restart
mkdir -m 0700 "$T/home"
printf '*:*:*:execd_repl:%s\n' "$PW" >"$T/pgpass"
chmod 0600 "$T/pgpass"
BASE="host=$PG_SOCK port=$PG_PORT user=execd_repl dbname=postgres"

start_execd
TEN=$(C tenant create)
NOPW=$(C timeline create --tenant "$TEN" --source "$BASE passfile=$T/missing")
PF=$(C timeline create --tenant "$TEN" --source "$BASE passfile=$T/pgpass" --slot "$SLOT" --create-slot)
INL=$(C timeline create --tenant "$TEN" --source "$BASE password=$PW sslpassword=$SSLPW")
LSN=$(pg_current_lsn)
C timeline wait-lsn "$PF" --lsn "$LSN" --timeout 60 >/dev/null || fail "the passfile timeline did not stream"
C timeline wait-lsn "$INL" --lsn "$LSN" --timeout 60 >/dev/null || fail "the password= timeline did not stream"
[ "$(pg_psql -c "select count(*) from pg_replication_slots where slot_name = '$SLOT'")" = 1 ] ||
	fail "slot $SLOT not created"
wait_state "$NOPW" backoff
C timeline show --json "$NOPW" | grep -q 'password' || fail "no password asked of the timeline without one"
# errors that could quote the secret: a source libpq cannot parse, a slot PostgreSQL would refuse
if C timeline create --tenant "$TEN" --source "postgresql://execd_repl:$PW%zz@x/db" >"$T/err" 2>&1; then
	fail "a malformed source was accepted"
fi
if C timeline create --tenant "$TEN" --source "$BASE password=$PW" --slot 'a" x' >>"$T/err" 2>&1; then
	fail "a slot name with a quote was accepted"
fi
grep -q "slot" "$T/err" || fail "the refused slot name is not explained: $(cat "$T/err")"

# every reply
{
	cat "$T/err"
	for tl in "$NOPW" "$PF" "$INL"; do C timeline show --json "$tl"; C timeline show "$tl"; done
	C timeline list --json; C timeline list; C status --json; C list --json
} >"$T/replies" 2>&1
for s in "$PW" "$SSLPW"; do
	! grep -qF "$s" "$T/replies" || fail "a secret in a reply: $(grep -F "$s" "$T/replies")"
done

# every file a member of the daemon's group can read (here the files' group is root's)
for f in "$T"/state/tenants/*/timelines/*/timeline.json; do
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f is $(stat -c %a "$f")"
done
chmod 0711 "$T"
setpriv --reuid=65534 --regid=65534 --groups="$(stat -c %g "$T/state")" \
	sh -c 'cd / && find "$1" -type f -readable' sh "$T/state" >"$T/readable" 2>/dev/null || true
grep -q '/tenant.json$' "$T/readable" || fail "the group member reads nothing: the check would be vacuous"
! grep -q '/timeline.json$' "$T/readable" || fail "the group member reads a timeline.json"
while read -r f; do
	for s in "$PW" "$SSLPW"; do
		! grep -qF "$s" "$f" || fail "a secret in $f, readable by the group"
	done
done <"$T/readable"

kill -TERM $EP
wait $EP || fail "execd did not stop cleanly"
EP=
for s in "$PW" "$SSLPW"; do
	! grep -qF "$s" "$T/execd.log" || fail "a secret in the log: $(grep -F "$s" "$T/execd.log")"
done
! grep -v '^execd: ' "$T/execd.log" | grep -q . || fail "a log line that is not a message"
echo "passfile and password= timelines streamed; no secret in replies, log or group-readable files"
