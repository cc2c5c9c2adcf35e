#!/bin/sh
# SPDX-License-Identifier: MIT
# Run by test-nspawn.sh inside the container (systemd as PID 1, this build installed): the
# README's "Running as a service" steps, and what each of them promises.
# Environment: BINDIR, UNITDIR, SYSUSERSDIR, TMPFILESDIR as configured for this build.
set -eu
: "${BINDIR:?}" "${UNITDIR:?}" "${SYSUSERSDIR:?}" "${TMPFILESDIR:?}"
EXECCTL="$BINDIR/execctl"
MEMBER=execd-nspawn-member
step() { echo "step: $*"; }
fail() {
	echo "FAIL: $*" >&2
	systemctl status --no-pager --lines=0 execd.socket execd.service >&2 || true
	journalctl --no-pager -n 40 -u execd.service -u execd.socket >&2 || true
	exit 1
}
# poll TENTHS CMD...: runs CMD until it succeeds, for at most TENTHS tenths of a second.
poll() {
	n=$1; shift
	until "$@" >/dev/null 2>&1; do
		n=$((n - 1)); [ $n -gt 0 ] || return 1
		sleep 0.1
	done
}
prop() { systemctl show -P "$2" "$1"; }
# conf DIR: how the README names a snippet: by name where systemd looks for it, else by path.
conf() {
	case "$1" in
	/etc/*.d | /run/*.d | /usr/lib/*.d | /usr/local/lib/*.d | /lib/*.d) echo execd.conf ;;
	*) echo "$1/execd.conf" ;;
	esac
}
journal_has() { journalctl --sync; journalctl -u execd.service -o verbose --no-pager "$@" | grep -q .; }

step "ldconfig, systemd-sysusers, systemd-tmpfiles"
# As after any `make install` of a shared library: libexecutor in /usr/local/lib (the default
# prefix) is found through ld.so's cache; libtool names it in execd's RUNPATH only elsewhere.
ldconfig || fail "ldconfig"
systemd-sysusers "$(conf "$SYSUSERSDIR")" || fail "systemd-sysusers"
systemd-tmpfiles --create "$(conf "$TMPFILESDIR")" || fail "systemd-tmpfiles --create"
getent group execd >/dev/null || fail "no group execd after systemd-sysusers"
[ "$(stat -c %U:%G /var/lib/execd)" = execd:execd ] || fail "/var/lib/execd not owned by execd"

step "systemctl daemon-reload && systemctl enable --now execd.socket execd.service"
case "$UNITDIR" in
/etc/systemd/system | /lib/systemd/system | /usr/lib/systemd/system | /usr/local/lib/systemd/system) ;;
# A prefix systemd does not search (make distcheck's): make the units known to it first.
*) systemctl link "$UNITDIR/execd.socket" "$UNITDIR/execd.service" >/dev/null || fail "systemctl link" ;;
esac
# A sanitizer build (CI's ASan+UBSan run) under the unit: LeakSanitizer stops the world with
# ptrace, which the unit's SystemCallFilter= forbids, so leak checking is off there (the rest of
# the suite checks leaks); any other sanitizer report aborts execd and fails the steps.
if grep -qa __asan_init "$BINDIR/execd"; then
	mkdir -p /etc/systemd/system/execd.service.d
	printf '[Service]\nEnvironment=%s %s\n' ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 >/etc/systemd/system/execd.service.d/asan.conf
fi
systemctl daemon-reload
systemctl enable --now execd.socket execd.service || fail "systemctl enable --now"
[ "$(prop execd.service FragmentPath)" = "$UNITDIR/execd.service" ] ||
	[ "$(readlink -f "$(prop execd.service FragmentPath)")" = "$UNITDIR/execd.service" ] ||
	fail "execd.service is not this build's: $(prop execd.service FragmentPath)"
[ "$(systemctl is-enabled execd.service)" = enabled ] || fail "execd.service not enabled"
[ "$(systemctl is-enabled execd.socket)" = enabled ] || fail "execd.socket not enabled"
systemctl is-active -q execd.socket || fail "execd.socket not active"
systemctl is-active -q execd.service || fail "execd.service not active after enable --now"
# Type=notify: active means execd sent READY=1; its STATUS= line shows in systemctl status.
prop execd.service StatusText | grep -q tenants || fail "no STATUS= from execd: '$(prop execd.service StatusText)'"
[ "$(stat -c %a:%U:%G /run/execd/execd.sock)" = 660:root:execd ] ||
	fail "control socket: $(stat -c %a:%U:%G /run/execd/execd.sock), want 660:root:execd"

step "execctl status, list, tenant create"
"$EXECCTL" status || fail "execctl status"
"$EXECCTL" list >/dev/null || fail "execctl list"
TEN=$("$EXECCTL" tenant create) || fail "execctl tenant create"
"$EXECCTL" --full --no-legend tenant list | grep -q "$TEN" || fail "tenant $TEN not listed"
# A timeline whose PostgreSQL is unreachable: its WAL receiver keeps retrying and says so in the
# journal, naming its tenant, timeline and task.
TL=$("$EXECCTL" timeline create --tenant "$TEN" --source "host=/nonexistent port=1 connect_timeout=1") ||
	fail "execctl timeline create"

step "the journal has TENANT_ID, TIMELINE_ID and TASK_KIND"
poll 300 journal_has TENANT_ID="$TEN" || fail "no journal entry with TENANT_ID=$TEN"
poll 300 journal_has TENANT_ID="$TEN" TIMELINE_ID="$TL" TASK_KIND=wal_receiver ||
	fail "no journal entry with TIMELINE_ID=$TL TASK_KIND=wal_receiver"

step "a blocking job's message carries its task's fields; the listener is protected"
poll 300 journal_has MESSAGE="tenant created" TENANT_ID="$TEN" TASK_KIND=control_request \
	TASK_NAME=tenant.create || fail "'tenant created' (logged by a blocking job) lacks its task's fields"
LID=$("$EXECCTL" --no-legend list --kind control_listener | awk '{print $1}')
rc=0; "$EXECCTL" cancel "$LID" >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "execctl cancel of the control listener exited $rc, want 1 (protected)"
"$EXECCTL" status >/dev/null || fail "execctl status after a cancel of the listener"

step "systemctl restart execd keeps the tenant and timeline"
systemctl restart execd || fail "systemctl restart execd"
systemctl is-active -q execd.service || fail "execd.service not active after restart"
"$EXECCTL" --full --no-legend tenant list | grep -q "$TEN" || fail "tenant $TEN lost in the restart"
"$EXECCTL" --full --no-legend timeline list | grep -q "$TL" || fail "timeline $TL lost in the restart"

step "a member of group execd may list but not create; others may not connect"
userdel "$MEMBER" >/dev/null 2>&1 || true
useradd --system --no-create-home --shell /usr/sbin/nologin --groups execd "$MEMBER" ||
	fail "useradd"
runuser -u "$MEMBER" -- "$EXECCTL" list >/dev/null || fail "group member: execctl list refused"
runuser -u "$MEMBER" -- "$EXECCTL" status >/dev/null || fail "group member: execctl status refused"
rc=0; runuser -u "$MEMBER" -- "$EXECCTL" tenant create >/dev/null 2>&1 || rc=$?
[ $rc -eq 5 ] || fail "group member: execctl tenant create exited $rc, want 5 (permission denied)"
rc=0; runuser -u nobody -- "$EXECCTL" list >/dev/null 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "user nobody (not in group execd) could list"
[ "$("$EXECCTL" --no-legend tenant list | wc -l)" -eq 1 ] || fail "a refused create created a tenant"

step "systemctl stop execd.service: Result=success; the socket stays and activates it again"
systemctl stop execd.service || fail "systemctl stop execd.service"
[ "$(prop execd.service Result)" = success ] || fail "stop: Result=$(prop execd.service Result)"
[ "$(prop execd.service ExecMainStatus)" = 0 ] || fail "stop: exit status $(prop execd.service ExecMainStatus)"
systemctl is-active -q execd.socket || fail "execd.socket stopped with the service"
! systemctl is-active -q execd.service || fail "execd.service still active after stop"
"$EXECCTL" status >/dev/null || fail "execctl status through the socket alone (activation)"
systemctl is-active -q execd.service || fail "the connection did not start execd.service"
"$EXECCTL" --full --no-legend tenant list | grep -q "$TEN" || fail "tenant $TEN lost after activation"

step "systemd-analyze security execd.service"
sec=$(systemd-analyze security --no-pager execd.service) || fail "systemd-analyze security"
exposure=$(echo "$sec" | sed -n 's/.*Overall exposure level for execd.service: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || fail "no exposure level in: $(echo "$sec" | tail -n 3)"
echo "exposure: $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e <= 1.2) }' || fail "exposure $exposure is above 1.2"

step "systemctl stop execd (the README's last step)"
systemctl stop execd || fail "systemctl stop execd"
[ "$(prop execd.service Result)" = success ] || fail "stop: Result=$(prop execd.service Result)"
[ "$(prop execd.service ExecMainStatus)" = 0 ] || fail "stop: exit status $(prop execd.service ExecMainStatus)"
journal_has MESSAGE="stopped cleanly" || fail "no 'stopped cleanly' in the journal"
echo "all steps passed"
