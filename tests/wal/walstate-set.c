/* SPDX-License-Identifier: MIT */
/*
 * tests/wal/walstate-set.c — test tool: rewrite a timeline's wal.state with another flush LSN,
 * checksummed as execd writes it (walstate_save), to stand for a state that lies about the WAL
 * on disk: `walstate-set WALDIR LSN`. Exit 0, 1 on an error (message on stderr), 2 for usage.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wal.h"
#include "walstate.h"

int main(int argc, char **argv)
{
	struct walstate st;
	uint64_t lsn;
	if (argc != 3 || lsn_parse(argv[2], &lsn) < 0) {
		fprintf(stderr, "usage: walstate-set WALDIR LSN (X/X)\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;
	if (fd < 0 || (r = walstate_load(fd, &st)) < 0) {
		fprintf(stderr, "walstate-set: cannot load %s/%s\n", argv[1], WALSTATE_FILE);
		return 1;
	}
	st.flush_lsn = lsn;
	if ((r = walstate_save(fd, &st)) < 0) {
		fprintf(stderr, "walstate-set: cannot save: %s\n", strerror(-r));
		return 1;
	}
	close(fd);
	return 0;
}
