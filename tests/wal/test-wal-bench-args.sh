#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/wal-bench refuses bad arguments with a clear message naming the flag and exit status 2,
# before it starts anything (the checks come before the server and the work directory). Covers
# the flags of the scale measure (--execd-nice, --execd-workers) and an unknown one. Needs no
# PostgreSQL: a refused run never gets that far.
set -eu
bench="${top_srcdir:-../..}/bench/wal-bench"
fail=0
refuse() { # expected message fragment, then the arguments
	want=$1
	shift
	rc=0
	err=$("$bench" --builddir "${top_builddir:-../..}" --srcdir "${top_srcdir:-../..}" "$@" 2>&1 >/dev/null) || rc=$?
	if [ "$rc" -ne 2 ]; then
		echo "FAIL: wal-bench $* exited $rc, not 2" >&2
		fail=1
	fi
	case $err in
	*"$want"*) ;;
	*) echo "FAIL: wal-bench $*: message '$err' does not say '$want'" >&2; fail=1 ;;
	esac
}
refuse "--execd-workers takes a positive integer, not 'abc'" --execd-workers abc
refuse "--execd-workers takes a positive integer, not '0'" --execd-workers 0
refuse "--execd-workers takes a positive integer, not '-3'" --execd-workers -3
refuse "--execd-workers takes a positive integer, not '4x'" --execd-workers 4x
refuse "--execd-workers takes a positive integer, not ''" --execd-workers ''
refuse "--execd-nice takes an integer, not 'high'" --execd-nice high
refuse "unknown argument --cgroup" --cgroup
exit $fail
