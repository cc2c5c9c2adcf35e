/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz.h — what the fuzz harnesses share (docs/fuzzing.md): libFuzzer's entry points,
 * which driver.c also calls when the harnesses are built without libFuzzer (`make check` runs
 * their corpus), and a check that aborts, so that a broken property is a crash either way.
 */
#ifndef EXECD_TESTS_FUZZ_H
#define EXECD_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/** Once, before the first input (libFuzzer calls it if defined). @return 0. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
/** Run one input of @p size bytes. @return 0 (libFuzzer reserves other values). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** A property of the code under test: abort (a crash for libFuzzer) with a message if false. */
#define FUZZ_CHECK(cond)                                                                    \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, \
				#cond);                                                     \
			abort();                                                            \
		}                                                                           \
	} while (0)

#endif /* EXECD_TESTS_FUZZ_H */
