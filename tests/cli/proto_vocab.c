/* SPDX-License-Identifier: MIT */
/*
 * tests/cli/proto_vocab.c — prints one list of the protocol's vocabulary (proto.h), one name a
 * line, so that scripts can be checked against the table: `proto_vocab kinds|states|commands|
 * errors`. Used by test-completion-vocab.py. Exit 0, or 2 for an unknown list.
 */
#include <stdio.h>
#include <string.h>

#include "proto.h"

int main(int argc, char **argv)
{
	const char *what = argc == 2 ? argv[1] : "";

	if (!strcmp(what, "kinds"))
		for (unsigned i = 0; i < TASK_KIND__COUNT; i++)
			puts(task_kind_name((enum task_kind)i));
	else if (!strcmp(what, "states"))
		for (unsigned i = 0; i < TASK_STATE__COUNT; i++)
			puts(task_state_name((enum task_state)i));
	else if (!strcmp(what, "commands"))
		for (unsigned i = 0; i < PROTO_CMD__COUNT; i++)
			puts(proto_command_name((enum proto_command)i));
	else if (!strcmp(what, "errors"))
		for (unsigned i = 0; i < PROTO_ERR__COUNT; i++)
			puts(proto_error_name((enum proto_error)i));
	else {
		fprintf(stderr, "usage: proto_vocab kinds|states|commands|errors\n");
		return 2;
	}
	return 0;
}
