#!/bin/sh
# SPDX-License-Identifier: MIT
# Compile-fail test of rule 1 (docs/cancellation.md; seed 002, "Marker Trait"): only a
# struct ex_cancel_safe_future * may be raced or bounded. Every entry point that races or bounds a
# future — the macros ex_select, ex_select_array, ex_timeout, ex_timeout_until, ex_timeout_with,
# ex_timeout_ns, ex_timeout_at, ex_timeout_with_timer, EX_CANCEL_SAFE*, the firmware's
# exfw_deadline and exfw_timeout_ms, AND the functions behind them called directly,
# `(ex_timeout_ns)(...)` — must refuse anything else as a compile ERROR with DEFAULT flags (no
# -Werror, no -W at all), under gcc and under clang, with a message that names the rule.
# Positive controls prove that the harness compiles correct code with each compiler, so a
# failure here is the type check.
#
# Environment (from AM_TESTS_ENVIRONMENT): CPPFLAGS (lib/include), FW_CPPFLAGS (firmware/include).
set -u
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
RULE='not cancel-safe (rule 1, docs/cancellation.md)'
CPPFLAGS="${CPPFLAGS:-} ${FW_CPPFLAGS:-}"

compilers=
for c in gcc clang; do
	if command -v "$c" >/dev/null 2>&1; then
		compilers="$compilers $c"
	else
		echo "note: $c is not installed: not checked with it"
	fi
done
[ -n "$compilers" ] || { echo "SKIP: neither gcc nor clang installed"; exit 77; }

cat >"$tmp/common.h" <<'SRC'
#include <executor/future.h>
#include <executor/select.h>
#include <exfw/time.h>
struct ex_future *plain(void);
struct ex_cancel_safe_future *safe(void);
SRC

cat >"$tmp/ok.c" <<'SRC'
#include "common.h"
void f(void);
void f(void)
{
	struct ex_select s, s2; struct ex_timeout t; struct exfw_deadline d;
	struct ex_cancel_safe_future *const cp = safe();
	(void)ex_select(&s, safe());
	(void)ex_select(&s, safe(), safe(), safe(), safe(), safe(), safe(), safe(), cp);
	(void)ex_select(&s, safe(), ex_select(&s2, safe(), safe()));
	(void)ex_timeout_with(&t, safe(), safe());
	(void)ex_timeout_with_timer(&t, safe(), cp);
	(void)EX_CANCEL_SAFE(safe());
	(void)EX_CANCEL_SAFE_AS(cp, "mine");
	(void)EX_CANCEL_SAFE_ARG(safe(), "mine");
	struct ex_cancel_safe_future *arr[2] = { safe(), safe() };
	(void)ex_select_array(&s, arr, 2);
	(void)ex_select_array(&s, (struct ex_cancel_safe_future *const *)arr, 2);
	(void)ex_timeout(&t, 1000, safe());
	(void)ex_timeout(&t, 1000, ex_select(&s, safe(), safe()));
	(void)ex_timeout_until(&t, 1000, safe());
	(void)ex_timeout_ns(&t, 1000, cp);
	(void)ex_timeout_at(&t, 1000, safe());
	(void)exfw_deadline(&d, safe(), 10);
	(void)exfw_timeout_ms(&d, cp, 10);
}
SRC

fail=0
# try name expect(ok|fail) body: compile body with every compiler, default flags.
try() {
	printf '#include "common.h"\nvoid f(void);\nvoid f(void)\n{\n\tstruct ex_select s; struct ex_timeout t; struct exfw_deadline d;\n\t(void)s; (void)t; (void)d;\n\t%s;\n}\n' "$3" >"$tmp/$1.c"
	for cc in $compilers; do
		if $cc $CPPFLAGS -I"$tmp" -c "$tmp/$1.c" -o "$tmp/$1.o" 2>"$tmp/$1.$cc.err"; then
			got=ok
		else
			got=fail
		fi
		if [ "$got" != "$2" ]; then
			echo "FAIL: $1 ($cc): expected compile $2, got $got"; cat "$tmp/$1.$cc.err"; fail=1
			continue
		fi
		if [ "$2" = fail ] && ! grep -qF "$RULE" "$tmp/$1.$cc.err"; then
			echo "FAIL: $1 ($cc): failed to compile, but the message does not name the rule ('$RULE'):"
			cat "$tmp/$1.$cc.err"; fail=1
			continue
		fi
		if [ "$2" = fail ] && ! grep -q 'error' "$tmp/$1.$cc.err"; then
			echo "FAIL: $1 ($cc): no error diagnostic:"; cat "$tmp/$1.$cc.err"; fail=1
			continue
		fi
		echo "ok: $1 ($cc: compile $got)"
	done
}

for cc in $compilers; do
	if ! $cc $CPPFLAGS -I"$tmp" -c "$tmp/ok.c" -o "$tmp/ok.o" 2>"$tmp/ok.err"; then
		echo "FAIL: positive control does not compile with $cc:"; cat "$tmp/ok.err"; exit 1
	fi
	if [ -s "$tmp/ok.err" ]; then
		echo "FAIL: positive control compiles with diagnostics with $cc:"; cat "$tmp/ok.err"; exit 1
	fi
	echo "ok: positive control compiles cleanly with $cc"
done

# The macros
try select_plain_first       fail '(void)ex_select(&s, plain(), safe())'
try select_plain_middle      fail '(void)ex_select(&s, safe(), plain(), safe())'
try select_plain_last        fail '(void)ex_select(&s, safe(), safe(), plain())'
try select_void_ptr          fail 'void *p = safe(); (void)ex_select(&s, p)'
try select_base_member       fail '(void)ex_select(&s, &safe()->base)'
try select_array_plain       fail 'struct ex_future *arr[2] = { plain(), plain() }; (void)ex_select_array(&s, arr, 2)'
try select_array_void        fail 'void *arr[2] = { 0, 0 }; (void)ex_select_array(&s, arr, 2)'
try timeout_plain            fail '(void)ex_timeout(&t, 1000000, plain())'
try timeout_until_plain      fail '(void)ex_timeout_until(&t, 1000000, plain())'
try timeout_with_plain_inner fail '(void)ex_timeout_with(&t, safe(), plain())'
try timeout_with_plain_timer fail '(void)ex_timeout_with(&t, plain(), safe())'
try timeout_ns_plain         fail '(void)ex_timeout_ns(&t, 1000000, plain())'
try timeout_at_plain         fail '(void)ex_timeout_at(&t, 1000000, plain())'
try timeout_with_timer_inner fail '(void)ex_timeout_with_timer(&t, safe(), plain())'
try timeout_with_timer_timer fail '(void)ex_timeout_with_timer(&t, plain(), safe())'
try timeout_double_ptr       fail 'struct ex_cancel_safe_future *a[1] = { safe() }; (void)ex_timeout(&t, 1, a)'
try cancel_safe_plain        fail '(void)EX_CANCEL_SAFE(plain())'
try cancel_safe_as_plain     fail '(void)EX_CANCEL_SAFE_AS(plain(), "mine")'
try cancel_safe_arg_plain    fail '(void)EX_CANCEL_SAFE_ARG(plain(), "mine")'
try exfw_deadline_plain      fail '(void)exfw_deadline(&d, plain(), 10)'
try exfw_timeout_ms_plain    fail '(void)exfw_timeout_ms(&d, plain(), 10)'
# The functions behind the macros, called directly: `(name)(...)` suppresses the macro
try fn_select_array          fail 'struct ex_future *arr[2] = { plain(), plain() }; (void)(ex_select_array)(&s, arr, 2)'
try fn_timeout_ns            fail '(void)(ex_timeout_ns)(&t, 1000000, plain())'
try fn_timeout_ns_member     fail 'struct { int x; struct ex_future fut; } *p = 0; (void)(ex_timeout_ns)(&t, 1000000, &p->fut)'
try fn_timeout_at            fail '(void)(ex_timeout_at)(&t, 1000000, plain())'
try fn_timeout_with_timer_in fail '(void)(ex_timeout_with_timer)(&t, safe(), plain())'
try fn_timeout_with_timer_tm fail '(void)(ex_timeout_with_timer)(&t, plain(), safe())'
try fn_exfw_deadline         fail '(void)(exfw_deadline)(&d, plain(), 10)'
try fn_exfw_timeout_ms       fail '(void)(exfw_timeout_ms)(&d, plain(), 10)'
# Controls in the same harness: the cancel-safe case compiles
try timeout_safe_control     ok   '(void)ex_timeout(&t, 1000, safe())'
try exfw_deadline_control    ok   '(void)exfw_deadline(&d, safe(), 10)'
exit $fail
