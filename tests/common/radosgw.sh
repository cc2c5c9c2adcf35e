#!/bin/sh
# SPDX-License-Identifier: MIT
# A real S3-compatible server for the tests: Ceph's radosgw from Debian as a single-node cluster
# (one monitor, one OSD with bluestore on a sparse file, one radosgw with the beast frontend) in a
# directory of its own, on the loopback, with its own cluster name and ports. No ceph-mgr: nothing
# here needs it (commands the mgr would serve hang without one, so none is used).
#
#   radosgw.sh start DIR      start the cluster in the empty or absent DIR; print shell
#                             assignments of RADOSGW_ENDPOINT, RADOSGW_REGION,
#                             RADOSGW_ACCESS_KEY, RADOSGW_SECRET_KEY (also kept in DIR/env),
#                             and, when openssl is there, RADOSGW_TLS_ENDPOINT (https, the
#                             same gateway) and RADOSGW_CA_FILE (its self-signed certificate)
#   radosgw.sh stop DIR       stop every daemon started in DIR (SIGTERM, then SIGKILL)
#   radosgw.sh run CMD ARG..  start in a fresh temporary directory, run CMD with those variables
#                             in its environment, stop and remove the directory; exit with CMD's
#                             status (77 if the cluster could not be started)
#
# Exit 77 (automake's "skipped") with a reason on stderr when the Debian packages are missing
# (ceph-mon ceph-osd radosgw ceph-common) or the cluster does not come up; in that case nothing
# started is left running. Readiness is polled with a bounded deadline, never assumed after a
# sleep. Design: the single-node clusters of Ceph's own vstart.sh, shrunk to what radosgw needs.
set -eu

NAME=execdtest            # the cluster name: never the host's "ceph" cluster
WAIT_S=${RADOSGW_WAIT_S:-120}

skip() {
	echo "SKIP: radosgw: $*" >&2
	exit 77
}

# A free TCP port on the loopback (the kernel's choice; the daemon binds it moments later).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ceph_cmd() {
	timeout 30 ceph --cluster "$NAME" -c "$DIR/$NAME.conf" "$@"
}

# Poll COMMAND until it succeeds or WAIT_S seconds have passed (then return 1).
wait_for() {
	deadline=$(($(date +%s) + WAIT_S))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

write_conf() {
	cat >"$DIR/$NAME.conf" <<EOF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON_PORT
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms bind ipv6 = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
log to stderr = false
err to stderr = false
keyring = $DIR/keyring
[mon.a]
mon data = $DIR/mon.a
public addr = v2:127.0.0.1:$MON_PORT
[osd.0]
osd data = $DIR/osd.0
osd objectstore = bluestore
bluestore block size = 10737418240
bluestore block create = true
bluestore cache size = 67108864
osd memory target = 536870912
[client.rgw.a]
rgw data = $DIR/rgw.a
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT$TLS_FRONTEND
EOF
}

# Start a daemon in the foreground in the background, and remember its pid for stop.
spawn() {
	"$@" -f --cluster "$NAME" -c "$DIR/$NAME.conf" >>"$DIR/log/daemons.out" 2>&1 &
	echo $! >>"$DIR/pids"
}

start_mon() {
	monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
	ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
	ceph-mon --cluster "$NAME" -c "$DIR/$NAME.conf" -i a --mkfs --monmap "$DIR/monmap" \
		>>"$DIR/log/mkfs.out" 2>&1 || return 1
	spawn ceph-mon -i a
	wait_for ceph_cmd mon stat
}

start_osd() {
	uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
	id=$(ceph_cmd osd new "$uuid") || return 1
	[ "$id" = 0 ] || return 1
	mkdir -p "$DIR/osd.0"
	ceph-osd --cluster "$NAME" -c "$DIR/$NAME.conf" -i 0 --mkfs --osd-uuid "$uuid" \
		>>"$DIR/log/mkfs.out" 2>&1 || return 1
	spawn ceph-osd -i 0
	wait_for osd_up
}

osd_up() {
	ceph_cmd osd dump | grep -q '^osd\.0 up'
}

start_rgw() {
	mkdir -p "$DIR/rgw.a"
	spawn radosgw -n client.rgw.a
	wait_for curl -sf -o /dev/null "http://127.0.0.1:$RGW_PORT/"
}

# A self-signed certificate for 127.0.0.1, so that https clients (execd with a CA file,
# pgBackRest, which talks to S3 over TLS only) can be tested against the same gateway. No
# `rgw dns name` in the configuration: with one, radosgw takes a request for another host name
# (pgBackRest sends `localhost`, the name its TLS check needs) as one for a virtual-hosted
# bucket; without one, every request is path-style, as execd and pgBackRest send them.
make_cert() {
	TLS_FRONTEND=
	command -v openssl >/dev/null 2>&1 || return 0
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
		-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$DIR/tls.key" -out "$DIR/tls.crt" \
		>>"$DIR/log/mkfs.out" 2>&1 || return 0
	RGW_TLS_PORT=$(free_port)
	TLS_FRONTEND=" ssl_endpoint=127.0.0.1:$RGW_TLS_PORT"
	TLS_FRONTEND="$TLS_FRONTEND ssl_certificate=$DIR/tls.crt ssl_private_key=$DIR/tls.key"
}

make_user() {
	ACCESS_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(10).upper())')
	SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(20))')
	timeout 60 radosgw-admin --cluster "$NAME" -c "$DIR/$NAME.conf" user create --uid=execd \
		--display-name=execd --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" \
		>>"$DIR/log/admin.out" 2>&1
}

# Why it failed, for the skip message: the tail of the logs.
dump_logs() {
	for f in "$DIR"/log/*; do
		[ -f "$f" ] || continue
		echo "--- $f" >&2
		tail -n 15 "$f" >&2
	done
}

do_start() {
	for b in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph-authtool ceph curl python3; do
		command -v "$b" >/dev/null 2>&1 ||
			skip "$b not found (apt-get install --no-install-recommends ceph-mon ceph-osd radosgw ceph-common curl)"
	done
	mkdir -p "$DIR"
	[ -z "$(ls -A "$DIR")" ] || skip "$DIR is not empty"
	DIR=$(cd "$DIR" && pwd)
	mkdir -p "$DIR/run" "$DIR/log"
	: >"$DIR/pids"
	FSID=$(python3 -c 'import uuid; print(uuid.uuid4())')
	MON_PORT=$(free_port)
	RGW_PORT=$(free_port)
	make_cert
	write_conf
	# On any failure below, stop what was started: a skipped test leaves no daemon behind.
	trap 'do_stop >/dev/null 2>&1' EXIT
	start_mon || { dump_logs; skip "the monitor did not come up"; }
	start_osd || { dump_logs; skip "the OSD did not come up"; }
	make_user || { dump_logs; skip "radosgw-admin user create failed"; }
	start_rgw || { dump_logs; skip "radosgw did not answer on 127.0.0.1:$RGW_PORT"; }
	cat >"$DIR/env" <<EOF
RADOSGW_ENDPOINT=http://127.0.0.1:$RGW_PORT
RADOSGW_REGION=us-east-1
RADOSGW_ACCESS_KEY=$ACCESS_KEY
RADOSGW_SECRET_KEY=$SECRET_KEY
EOF
	if [ -n "$TLS_FRONTEND" ]; then
		printf 'RADOSGW_TLS_ENDPOINT=https://127.0.0.1:%s\nRADOSGW_CA_FILE=%s\n' \
			"$RGW_TLS_PORT" "$DIR/tls.crt" >>"$DIR/env"
	fi
	trap - EXIT
	cat "$DIR/env"
}

# SIGTERM every daemon (each stops in about 2 s), SIGKILL any still there after 30 s.
do_stop() {
	[ -f "$DIR/pids" ] || return 0
	pids=$(cat "$DIR/pids")
	for p in $pids; do kill -TERM "$p" 2>/dev/null || :; done
	deadline=$(($(date +%s) + 30))
	for p in $pids; do
		while kill -0 "$p" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || :
	done
	rm -f "$DIR/pids"
}

# The start and the command run in the background and are waited for: a shell defers a trapped
# signal until its foreground command ends, but a `wait` returns at once.
on_signal() {
	[ -z "${bgpid:-}" ] || kill -KILL "$bgpid" 2>/dev/null || :
	exit "$1"
}

do_run() {
	DIR=$(mktemp -d "${TMPDIR:-/tmp}/radosgw.XXXXXX")
	trap 'do_stop; rm -rf "$DIR"' EXIT
	trap 'on_signal 143' TERM
	trap 'on_signal 130' INT
	(do_start) >/dev/null &
	bgpid=$!
	rc=0
	wait "$bgpid" || rc=$?
	bgpid=
	[ "$rc" -eq 0 ] || exit "$rc"
	set -a
	. "$DIR/env"
	set +a
	"$@" &
	bgpid=$!
	wait "$bgpid" || rc=$?
	bgpid=
	exit "$rc"
}

case "${1:-}" in
start)
	[ $# -eq 2 ] || { echo "usage: $0 start DIR" >&2; exit 2; }
	DIR=$2
	do_start
	;;
stop)
	[ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
	DIR=$2
	do_stop
	;;
run)
	shift
	[ $# -ge 1 ] || { echo "usage: $0 run CMD [ARG...]" >&2; exit 2; }
	do_run "$@"
	;;
*)
	echo "usage: $0 start DIR | stop DIR | run CMD [ARG...]" >&2
	exit 2
	;;
esac
