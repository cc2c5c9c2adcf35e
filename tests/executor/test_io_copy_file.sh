#!/bin/sh
# SPDX-License-Identifier: MIT
# examples/copy_file copies a file byte for byte, never overwrites, and reports a missing source.
set -eu
bin=../../examples/copy_file
if [ ! -x "$bin" ]; then
	echo "SKIP: $bin is not built"
	exit 77
fi
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
head -c 300000 /dev/urandom > "$d/src"
"$bin" "$d/src" "$d/dst"
cmp "$d/src" "$d/dst"
: > "$d/empty"
"$bin" "$d/empty" "$d/empty.copy"
cmp "$d/empty" "$d/empty.copy"
if "$bin" "$d/src" "$d/dst" 2>"$d/err"; then
	echo "FAIL: copy_file overwrote an existing file"
	exit 1
fi
grep -q "File exists" "$d/err"
if "$bin" "$d/missing" "$d/x" 2>"$d/err"; then
	echo "FAIL: copy_file succeeded without a source"
	exit 1
fi
grep -q "open source" "$d/err"
test ! -e "$d/x"
echo "PASS: copy_file"
