/* SPDX-License-Identifier: MIT */
/* daemon/main.c — execd entry point (work in progress: configuration only). */
#include <stdio.h>
#include <stdlib.h>

#include "conf.h"

int main(int argc, char **argv)
{
	switch (config_parse(argc, argv, stdout, stderr)) {
	case CONFIG_EXIT_OK:
		return 0;
	case CONFIG_EXIT_USAGE:
		return 2;
	case CONFIG_RUN:
		break;
	}
	fprintf(stderr, "execd: not implemented yet\n");
	config_free();
	return 1;
}
