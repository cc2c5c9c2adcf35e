/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/driver.c — the harnesses' main() when they are not built with libFuzzer: every
 * file named on the command line, or found (recursively) in a directory named there, is one
 * input to LLVMFuzzerTestOneInput, as libFuzzer would run it. `make check` runs each harness
 * over its corpus in tests/fuzz/<harness>/ this way, so that an input once found to fail
 * (kept in <harness>/regressions/) stays a test. Exit 0, or 1 if a file cannot be read or no
 * input was found; a broken property aborts.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static unsigned n_inputs;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t n = 0, cap = 0;
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (n == cap) {
			uint8_t *p = realloc(data, cap = cap ? 2 * cap : 4096);
			if (!p) {
				fclose(f);
				free(data);
				return -1;
			}
			data = p;
		}
		size_t got = fread(data + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	int err = ferror(f);
	fclose(f);
	if (err) {
		fprintf(stderr, "%s: read error\n", path);
		free(data);
		return -1;
	}
	/* an exact-size copy, so that AddressSanitizer sees a read past the input's end */
	uint8_t *exact = malloc(n ? n : 1);
	if (!exact) {
		free(data);
		return -1;
	}
	if (n)
		memcpy(exact, data, n);
	free(data);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	n_inputs++;
	return 0;
}

static int run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	DIR *d = opendir(path);
	if (!d) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	int r = 0;
	for (struct dirent *de; (de = readdir(d)) && r == 0;) {
		if (de->d_name[0] == '.')
			continue;
		size_t len = strlen(path) + strlen(de->d_name) + 2;
		char *sub = malloc(len);
		if (!sub) {
			r = -1;
			break;
		}
		snprintf(sub, len, "%s/%s", path, de->d_name);
		r = run_path(sub);
		free(sub);
	}
	closedir(d);
	return r;
}

int main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		if (run_path(argv[i]) < 0)
			return 1;
	printf("%s: %u inputs, no property broken\n", argv[0], n_inputs);
	return n_inputs ? 0 : 1;
}
