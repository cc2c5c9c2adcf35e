/* SPDX-License-Identifier: MIT */
/* execctl commands' shared steps: see cmd_common.h. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <sys/time.h>

#include "client.h"
#include "cmd_common.h"
#include "output.h"

int cmd_call_print(struct execctl *ctx, enum proto_command command, cJSON *args, int64_t wait_ms,
		   cmd_print_fn print, const void *data)
{
	cJSON *resp;
	const cJSON *result;
	int r = client_call(ctx, command, args, wait_ms, &resp);

	if (r != 0)
		return r;
	/* client_call() checked that the result is an object. */
	result = cJSON_GetObjectItemCaseSensitive(resp, "result");
	r = ctx->json ? print_json(result) : print(ctx, result, data);
	cJSON_Delete(resp);
	return r;
}

int cmd_print_created_id(const struct execctl *ctx, const cJSON *result, const void *key)
{
	(void)ctx;
	printf("%s\n", json_str(cJSON_GetObjectItemCaseSensitive(result, key), "id") ?: "?");
	return 0;
}

int cmd_print_deleted(const struct execctl *ctx, const cJSON *result, const void *deleted)
{
	const struct cmd_deleted *d = deleted;
	int64_t ended = json_int(result, "tasks_ended", 0);

	(void)ctx;
	printf("Deleted %s %s (%" PRId64 " task%s ended).\n", d->what,
	       json_str(result, d->what) ?: d->id, ended, ended == 1 ? "" : "s");
	return 0;
}

int64_t cmd_wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}
