#!/bin/sh
# SPDX-License-Identifier: MIT
# Compile-fail test (seed 002, "Marker Trait"): ex_select() and ex_timeout_with() accept only
# struct ex_cancel_safe_future *. Passing a plain struct ex_future * must be a hard compile error
# (C11 _Generic without a default association), whatever the warning flags. A positive control
# proves that the harness itself compiles correct code, so a failure here is the type check.
#
# Environment (from AM_TESTS_ENVIRONMENT): CC, CFLAGS, CPPFLAGS.
set -u
CC=${CC:-cc}
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/common.h" <<'SRC'
#include <executor/future.h>
#include <executor/select.h>
struct ex_future *plain(void);
struct ex_cancel_safe_future *safe(void);
SRC

cat >"$tmp/ok.c" <<'SRC'
#include "common.h"
void f(void);
void f(void)
{
	struct ex_select s; struct ex_timeout t;
	(void)ex_select(&s, safe(), safe(), safe());
	(void)ex_timeout_with(&t, safe(), safe());
	(void)EX_CANCEL_SAFE(safe());
	struct ex_cancel_safe_future *arr[2] = { safe(), safe() };
	(void)ex_select_array(&s, arr, 2);
	(void)ex_select_array(&s, (struct ex_cancel_safe_future *const *)arr, 2);
	(void)ex_timeout(&t, 1000, safe());
	(void)ex_timeout_until(&t, 1000, safe());
}
SRC

fail=0
try() { # name expect(ok|fail) body
	printf '#include "common.h"\nvoid f(void);\nvoid f(void)\n{\n\tstruct ex_select s; struct ex_timeout t; (void)s; (void)t;\n\t%s;\n}\n' "$3" >"$tmp/$1.c"
	# -Wno-error: the failure must not depend on -Werror
	if $CC $CPPFLAGS $CFLAGS -Wno-error -I"$tmp" -c "$tmp/$1.c" -o "$tmp/$1.o" 2>"$tmp/$1.err"; then
		got=ok
	else
		got=fail
	fi
	if [ "$got" != "$2" ]; then
		echo "FAIL: $1: expected compile $2, got $got"; cat "$tmp/$1.err"; fail=1
		return
	fi
	if [ "$2" = fail ] && ! grep -q 'association' "$tmp/$1.err"; then
		echo "FAIL: $1: failed to compile, but not because of the _Generic type check:"
		cat "$tmp/$1.err"; fail=1
		return
	fi
	echo "ok: $1 (compile $got)"
}

if ! $CC $CPPFLAGS $CFLAGS -I"$tmp" -c "$tmp/ok.c" -o "$tmp/ok.o" 2>"$tmp/ok.err"; then
	echo "FAIL: positive control does not compile:"; cat "$tmp/ok.err"; exit 1
fi
echo "ok: positive control compiles"

try select_plain_first   fail '(void)ex_select(&s, plain(), safe())'
try select_plain_last    fail '(void)ex_select(&s, safe(), safe(), plain())'
try timeout_plain_inner  fail '(void)ex_timeout_with(&t, safe(), plain())'
try timeout_plain_timer  fail '(void)ex_timeout_with(&t, plain(), safe())'
try select_void_ptr      fail 'void *p = safe(); (void)ex_select(&s, p)'
try select_base_member   fail '(void)ex_select(&s, &safe()->base)'
try timeout_ns_plain     fail '(void)ex_timeout(&t, 1000000, plain())'
try timeout_until_plain  fail '(void)ex_timeout_until(&t, 1000000, plain())'
try select_array_plain   fail 'struct ex_future *arr[2] = { plain(), plain() }; (void)ex_select_array(&s, arr, 2)'
try timeout_safe_control ok   '(void)ex_timeout_with(&t, safe(), safe())'
exit $fail
