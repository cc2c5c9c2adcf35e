#!/bin/sh
# SPDX-License-Identifier: MIT
# execd under a real systemd as PID 1: the README's "Running as a service" steps in a container.
#
# The container is the host's own root behind an overlay (lowerdir=/, the upper layer on a
# tmpfs), so nothing is built or installed on the host: `make install DESTDIR=<overlay>` puts
# this build into the overlay, systemd-nspawn boots it (--keep-unit --register=no, a private
# network, a fresh machine id) and nspawn-steps.sh runs the steps inside through nsenter.
# Everything is torn down on exit (container powered off or killed, overlay and tmpfs unmounted).
#
# Skips (77) where the environment cannot do this: not root, no systemd-nspawn/nsenter, no
# overlayfs, or a container that does not boot. Once the container runs, every failure of the
# steps (install, units, execd, execctl, journal, exposure) is a FAIL.
set -eu
: "${top_builddir:?}" "${top_srcdir:?}"
skip() { echo "SKIP: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "test-nspawn: $* ($(date -u +%H:%M:%S))"; }

[ "$(id -u)" -eq 0 ] || skip "needs root (overlay mount and systemd-nspawn)"
command -v systemd-nspawn >/dev/null 2>&1 ||
	skip "systemd-nspawn not installed (Debian package systemd-container)"
for c in nsenter mount umount mountpoint pgrep timeout; do
	command -v $c >/dev/null 2>&1 || skip "$c not installed"
done
[ -x /lib/systemd/systemd ] || [ -x /usr/lib/systemd/systemd ] || skip "no systemd to boot"
# Inside a container or a chroot whose / is not a plain directory tree, overlaying / is not what
# this test means to do.
[ "$(stat -c %d /)" = "$(stat -c %d /usr)" ] || skip "/usr is a separate mount: cannot overlay /"
# systemd-nspawn mounts a fresh tmpfs on the container's /tmp, which hides anything installed
# there: so a build configured with a prefix under /tmp (make distcheck's _inst when the tree is
# cloned under /tmp) cannot be booted. The plain and sanitizer builds (prefix /usr/local) run it.
for d in "${BINDIR:-}" "${UNITDIR:-}" "${SYSUSERSDIR:-}" "${TMPFILESDIR:-}"; do
	case $d in
	/tmp/*) skip "installs into $d, under /tmp, which systemd-nspawn hides behind the container's own /tmp" ;;
	esac
done

T=$(mktemp -d /tmp/test-nspawn.XXXXXX)
M="$T/merged"
TO_PID='' PID1=''
NSPAWN_RUN_EXISTED=''
[ -e /run/systemd/nspawn ] && NSPAWN_RUN_EXISTED=yes
cleanup() {
	rc=$?
	set +e
	if [ -n "$TO_PID" ] && alive "$TO_PID"; then
		# SIGTERM to timeout reaches nspawn, which asks the container's systemd to power off.
		kill -TERM "$TO_PID" 2>/dev/null
		wait_gone "$TO_PID" 300 ||
			{ [ -n "$PID1" ] && kill -KILL "$PID1" 2>/dev/null; kill -KILL "$TO_PID" 2>/dev/null; }
		wait_gone "$TO_PID" 100
		wait "$TO_PID" 2>/dev/null
	fi
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -f "$T/console.log" ]; then
		echo "--- container console (last 40 lines)" >&2
		tail -n 40 "$T/console.log" >&2
	fi
	# nspawn keeps lock and propagation directories in /run/systemd/nspawn (a directory on the
	# root file system where /run is no tmpfs): gone again if they were not there before.
	[ -n "$NSPAWN_RUN_EXISTED" ] || rmdir /run/systemd/nspawn/locks /run/systemd/nspawn/propagate \
		/run/systemd/nspawn 2>/dev/null
	mountpoint -q "$M" && { umount "$M" || umount -l "$M"; }
	mountpoint -q "$T" && { umount "$T" || umount -l "$T"; }
	# Only an empty directory is left once the tmpfs is gone (never recurse into the overlay).
	rmdir "$T"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# alive PID: PID runs (a zombie, exited but not yet reaped by this shell, does not).
alive() { s=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${s#Z}" = "$s" ]; }
# wait_gone PID TENTHS: polls until PID has exited, for at most TENTHS tenths of a second.
wait_gone() {
	n=0
	while alive "$1"; do
		n=$((n + 1)); [ $n -le "$2" ] || return 1
		sleep 0.1
	done
}

# The overlay: the host's root read-only below, a tmpfs above (so also the workdir is on it).
mount -t tmpfs -o mode=0755 execd-nspawn "$T" || skip "cannot mount a tmpfs"
mkdir "$T/upper" "$T/work" "$M"
mount -t overlay execd-nspawn -o "lowerdir=/,upperdir=$T/upper,workdir=$T/work" "$M" ||
	skip "cannot mount an overlay of / (no overlayfs, or not allowed here)"

note "installing the build into the overlay"
make -C "$top_builddir" install DESTDIR="$M" >"$T/install.log" 2>&1 ||
	{ tail -n 30 "$T/install.log" >&2; fail "make install DESTDIR=<overlay>"; }

# A machine of its own: a fresh machine id; execd's units, state and user only from this
# build (stale ones the host may have would hide what is being tested); PostgreSQL off (the
# steps need no server, and the host's cluster must not be started twice).
systemd-id128 new >"$M/etc/machine-id"
for u in execd.service execd.socket; do
	rm -f "$M/etc/systemd/system/$u" "$M/etc/systemd/system/"*.wants/"$u"
done
rm -rf "$M/var/lib/execd" "$M/etc/execd"
for u in postgresql.service postgresql@.service; do
	ln -sf /dev/null "$M/etc/systemd/system/$u"
done
mkdir -p "$M/execd-test"
cp "$top_srcdir/tests/systemd/nspawn-steps.sh" "$M/execd-test/"

note "booting the container"
timeout -s TERM -k 10 300 systemd-nspawn --quiet --directory="$M" --machine="execd-test-$$" \
	--keep-unit --register=no --private-network --console=read-only --boot >"$T/console.log" 2>&1 &
TO_PID=$!
# nspawn is timeout's child; the container's systemd (PID 1 inside) is nspawn's child.
n=0
while [ -z "$PID1" ]; do
	NSPAWN=$(pgrep -P "$TO_PID" -x systemd-nspawn || true)
	[ -n "$NSPAWN" ] && PID1=$(pgrep -P "$NSPAWN" || true)
	[ -z "$PID1" ] || break
	alive "$TO_PID" || { tail -n 20 "$T/console.log" >&2; skip "systemd-nspawn exited at once"; }
	n=$((n + 1)); [ $n -le 300 ] || skip "systemd-nspawn started no container within 30 s"
	sleep 0.1
done
IN() { nsenter -t "$PID1" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
# systemctl needs PID 1's private bus socket, which it creates a moment after starting; then
# is-system-running --wait blocks until boot has finished (bounded by timeout).
n=0
until IN test -S /run/systemd/private 2>/dev/null; do
	alive "$TO_PID" || { tail -n 20 "$T/console.log" >&2; skip "the container stopped while booting"; }
	n=$((n + 1)); [ $n -le 300 ] || { tail -n 20 "$T/console.log" >&2; skip "systemd in the container did not come up within 30 s"; }
	sleep 0.1
done
state=$(timeout 90 nsenter -t "$PID1" -a systemctl is-system-running --wait 2>&1) || true
case "$state" in
running) ;;
degraded)
	echo "note: the container booted degraded (units of the host that fail there):" >&2
	IN systemctl --failed --no-legend --plain >&2 || true ;;
*) tail -n 20 "$T/console.log" >&2; skip "the container did not boot (state: '$state')" ;;
esac
note "container up (PID 1 is $PID1 on the host)"

# The steps, with the directories this build was configured with.
IN BINDIR="$BINDIR" UNITDIR="$UNITDIR" SYSUSERSDIR="$SYSUSERSDIR" TMPFILESDIR="$TMPFILESDIR" \
	sh /execd-test/nspawn-steps.sh || fail "the steps inside the container (see above)"
note "passed; stopping the container"
