# SPDX-License-Identifier: MIT
# tests/common/execd.sh — sourced by shell tests that run the real execd (after pg.sh):
#   execd_test_init NAME   # EXECD, EXECCTL (exit 77 if not built), T = a fresh temp dir;
#                          # at exit execd (EP) is killed, PostgreSQL stopped, T removed
#   execd_start [ARGS...]  # execd on T/state and T/sock, its log in T/execd.log; returns once
#                          # its control socket answers (a bounded poll, 60 s)
#   C ARGS...              # execctl on T/sock
#   fail MESSAGE           # print it and the log's tail, exit 1
execd_test_init() {
	B=${top_builddir:-../..}
	EXECD=$B/daemon/execd
	EXECCTL=$B/cli/execctl
	[ -x "$EXECD" ] && [ -x "$EXECCTL" ] || { echo "SKIP: execd or execctl not built" >&2; exit 77; }
	T=$(mktemp -d "/tmp/$1.XXXXXX")
	EP=
	trap execd_test_cleanup EXIT
	trap 'exit 1' INT TERM
}
execd_test_cleanup() {
	set +e
	[ -z "$EP" ] || kill -9 "$EP" 2>/dev/null
	pg_stop; rm -rf "$T"
}
C() { "$EXECCTL" --socket "$T/sock" "$@"; }
fail() { echo "$(basename "$0"): $*" >&2; tail -20 "$T/execd.log" >&2; exit 1; }
execd_start() {
	"$EXECD" --state-dir "$T/state" --socket "$T/sock" --config /dev/null "$@" 2>>"$T/execd.log" &
	EP=$!
	i=0
	until C status >/dev/null 2>&1; do
		kill -0 "$EP" 2>/dev/null || fail "execd exited at start"
		i=$((i + 1)); [ $i -lt 600 ] || fail "execd's control socket did not come up"
		sleep 0.1 # back-off of a bounded poll
	done
}
