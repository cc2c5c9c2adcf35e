/* SPDX-License-Identifier: MIT */
/* execctl tenant detach | attach (cmd_tenant_remote.c), called from cmd_tenant.c's table. */
#ifndef EXECD_CLI_CMD_TENANT_REMOTE_H
#define EXECD_CLI_CMD_TENANT_REMOTE_H

#include "execctl.h"

/* execctl tenant detach TENANT [--timeout SEC]. Returns an exit code. */
int tenant_detach_cmd(struct execctl *ctx, int argc, char **argv);

/* execctl tenant attach TENANT --remote-... [--force]. Returns an exit code. */
int tenant_attach_cmd(struct execctl *ctx, int argc, char **argv);

#endif /* EXECD_CLI_CMD_TENANT_REMOTE_H */
