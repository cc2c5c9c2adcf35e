#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/fuzz/run-corpus.sh HARNESS — the test of `make check`: run every input of the harness's
# corpus (tests/fuzz/<name>/ and its regressions/) through it once. A libFuzzer binary (built
# with --enable-fuzz, LIBFUZZER=yes) is given the files themselves, not the directories: it then
# runs each once and writes nothing into the source tree.
set -eu
h=$1
name=${h##*/}
name=${name#fuzz_}
corpus=${srcdir:-.}/$name
if [ "${LIBFUZZER:-no}" = yes ]; then
	# shellcheck disable=SC2046 # the corpus' file names have no blanks
	exec "$h" -runs=0 -detect_leaks=1 $(find "$corpus" -type f ! -name '.*' | sort)
fi
exec "$h" "$corpus"
