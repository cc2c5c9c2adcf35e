/* SPDX-License-Identifier: MIT */
/*
 * ex_main: the whole program around a root future (seed 003's #[executor_main]): build the
 * runtime, run the root, wait for detached tasks until the shutdown deadline and name the
 * stragglers (inside block_on; rule 3, docs/executor.md "Detached tasks and shutdown"), exit code.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "rt_internal.h"

int ex_main(const struct ex_runtime_config *cfg, struct ex_future *root)
{
	struct ex_runtime_config c;
	if (cfg) {
		c = *cfg;
	} else {
		c = ex_runtime_config_default();
		c.handle_signals = true;
	}
	if (!root) {
		ex__log(NULL, LOG_ERR, "ex_main: no root future: %s", strerror(EINVAL));
		return 1;
	}
	struct ex_runtime *rt;
	int r = ex_runtime_new(&c, &rt);
	if (r < 0)
		return 1; /* ex_runtime_new logged why */
	int64_t out = 0;
	r = ex_runtime_block_on(rt, root, &out);
	ex_runtime_free(rt);
	if (r < 0) {
		ex__log(NULL, LOG_ERR, "ex_main: %s", strerror(-r));
		return 1;
	}
	if (out < 0)
		return 1;
	return out > 255 ? 255 : (int)out;
}
