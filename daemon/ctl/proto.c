/* SPDX-License-Identifier: MIT */
/* daemon/ctl/proto.c — response lines and error codes of docs/protocol.md. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ctl.h"
#include "proto.h"

const char *ctl_error_code(int err)
{
	return proto_error_name(proto_error_from_errno(err));
}

static char *finish(cJSON *o)
{
	char *s, *line;
	size_t n;
	if (!o)
		return NULL;
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		return NULL;
	n = strlen(s);
	line = malloc(n + 2);
	if (line) {
		memcpy(line, s, n);
		line[n] = '\n';
		line[n + 1] = '\0';
	}
	cJSON_free(s);
	return line;
}

static cJSON *envelope(const cJSON *id, bool ok)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddNumberToObject(o, "version", CTL_PROTOCOL_VERSION))
		goto fail;
	if (id) {
		cJSON *dup = cJSON_Duplicate(id, true);
		if (!dup || !cJSON_AddItemToObject(o, "id", dup)) {
			cJSON_Delete(dup);
			goto fail;
		}
	}
	if (!cJSON_AddBoolToObject(o, "ok", ok))
		goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

static char *ok_line(const cJSON *id, cJSON *result, bool fd)
{
	cJSON *o = envelope(id, true);
	if (o && fd && !cJSON_AddTrueToObject(o, "fd")) {
		cJSON_Delete(o);
		o = NULL;
	}
	if (!o || !result || !cJSON_AddItemToObject(o, "result", result)) {
		cJSON_Delete(o);
		cJSON_Delete(result);
		return NULL;
	}
	return finish(o);
}

char *ctl_ok(const cJSON *id, cJSON *result)
{
	return ok_line(id, result, false);
}

char *ctl_ok_fd(const cJSON *id, cJSON *result)
{
	return ok_line(id, result, true);
}

char *ctl_error(const cJSON *id, int err, const char *message, cJSON *candidates)
{
	cJSON *o = envelope(id, false), *e = cJSON_CreateObject();
	if (!o || !e || !cJSON_AddStringToObject(e, "code", ctl_error_code(err)) ||
	    !cJSON_AddNumberToObject(e, "errno", -err) ||
	    !cJSON_AddStringToObject(e, "message", message ? message : strerror(-err)))
		goto fail;
	if (candidates) {
		if (!cJSON_AddItemToObject(e, "candidates", candidates))
			goto fail;
		candidates = NULL;
	}
	if (!cJSON_AddItemToObject(o, "error", e))
		goto fail;
	return finish(o);
fail:
	cJSON_Delete(candidates);
	cJSON_Delete(e);
	cJSON_Delete(o);
	return NULL;
}
