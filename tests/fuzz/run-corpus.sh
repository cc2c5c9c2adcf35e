#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/fuzz/run-corpus.sh HARNESS — the test of `make check`: run every input of the harness's
# corpus (tests/fuzz/<name>/ and its regressions/) through it once. A libFuzzer binary (built
# with --enable-fuzz) is told to run the files and not to fuzz (-runs=0).
set -eu
h=$1
name=${h##*/}
name=${name#fuzz_}
corpus=${srcdir:-.}/$name
if [ "${LIBFUZZER:-no}" = yes ]; then
	exec "$h" -runs=0 -detect_leaks=1 "$corpus" "$corpus/regressions"
fi
exec "$h" "$corpus"
