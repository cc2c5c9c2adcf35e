#!/bin/sh
# SPDX-License-Identifier: MIT
# The umbrella header <executor/executor.h> declares every public function and macro
# (issue 14): test_umbrella.c, which includes nothing else, calls each of them and must compile
# with gcc and with clang, default flags plus -Werror=implicit-function-declaration (so that a
# function the umbrella forgot is an error, not a warning). Then every name the public headers
# declare — functions (from gcc -aux-info) and function-like macros — must be called in
# test_umbrella.c, so that a new public header or function cannot silently miss the umbrella.
#
# Environment (from AM_TESTS_ENVIRONMENT): CPPFLAGS (-I lib/include), srcdir.
set -u
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
src=${srcdir:-.}/test_umbrella.c
inc=${srcdir:-.}/../../lib/include/executor
fail=0

compilers=
for c in gcc clang; do
	if command -v "$c" >/dev/null 2>&1; then compilers="$compilers $c"; else echo "note: no $c"; fi
done
[ -n "$compilers" ] || { echo "SKIP: neither gcc nor clang installed"; exit 77; }

for cc in $compilers; do
	if $cc $CPPFLAGS -Werror=implicit-function-declaration -c "$src" -o "$tmp/u.o" 2>"$tmp/$cc.err"; then
		echo "ok: test_umbrella.c compiles with $cc"
	else
		echo "FAIL: test_umbrella.c does not compile with $cc:"; cat "$tmp/$cc.err"; fail=1
	fi
done

# Every public header is in the umbrella.
for h in "$inc"/*.h; do
	b=$(basename "$h")
	[ "$b" = executor.h ] && continue
	grep -q "^#include <executor/$b>" "$inc/executor.h" || { echo "FAIL: executor.h does not include $b"; fail=1; }
done

# Every function the public headers declare (as gcc sees them through the umbrella) ...
printf '#include <executor/executor.h>\n' >"$tmp/aux.c"
if ! gcc $CPPFLAGS -fsyntax-only -aux-info "$tmp/aux.txt" "$tmp/aux.c" 2>"$tmp/aux.err"; then
	echo "FAIL: the umbrella header alone does not compile:"; cat "$tmp/aux.err"; exit 1
fi
grep 'include/executor/' "$tmp/aux.txt" | sed -n 's/.*[ *]\(ex_[a-z0-9_]*\) (.*/\1/p' >"$tmp/names"
# ... and every function-like macro that is not internal (EX__*).
sed -n 's/^#define \([A-Za-z][A-Za-z0-9_]*\)(.*/\1/p' "$inc"/*.h | grep -v '^EX__' >>"$tmp/names"
n=0
for name in $(sort -u "$tmp/names"); do
	n=$((n + 1))
	grep -q "\\b$name(" "$src" || { echo "FAIL: $name is public but test_umbrella.c does not call it"; fail=1; }
done
[ "$n" -gt 100 ] || { echo "FAIL: only $n public names found: the extraction is broken"; fail=1; }
echo "checked $n public functions and macros"
exit $fail
