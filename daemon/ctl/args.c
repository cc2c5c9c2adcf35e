/* SPDX-License-Identifier: MIT */
/*
 * daemon/ctl/args.c — the arguments of a request (docs/protocol.md): types, ranges, and tenant and
 * timeline ids or unique prefixes resolved in the registry. Runs in the connection task; a bad
 * argument fails the request at once (bad_request, not_found, ambiguous).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conf.h"
#include "view.h"

int arg_string(struct req *r, const cJSON *args, const char *key, bool required, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return required ? req_fail(r, -EINVAL, "missing argument '%s'", key) : 0;
	if (!cJSON_IsString(v))
		return req_fail(r, -EINVAL, "argument '%s' must be a string", key);
	*out = v->valuestring;
	return 1;
}

int arg_uint(struct req *r, const cJSON *args, const char *key, bool required, uint64_t max,
	     uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);
	if (!v || cJSON_IsNull(v))
		return required ? req_fail(r, -EINVAL, "missing argument '%s'", key) : 0;
	/* the range first: converting a double that uint64_t cannot hold (1e30, NaN) is undefined */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > (double)max ||
	    v->valuedouble >= 18446744073709551616.0 /* 2^64 */ ||
	    v->valuedouble != (double)(uint64_t)v->valuedouble)
		return req_fail(r, -EINVAL, "argument '%s' must be an integer between 0 and %llu",
				key, (unsigned long long)max);
	*out = (uint64_t)v->valuedouble;
	return 1;
}

int arg_bool(struct req *r, const cJSON *args, const char *key, bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsBool(v))
		return req_fail(r, -EINVAL, "argument '%s' must be true or false", key);
	*out = cJSON_IsTrue(v);
	return 1;
}

/* timeout_ms: the protocol's range is checked (bad_request above 24 h), then the value is lowered
 * to --max-request-timeout, so that no request can hold its connection longer than the operator
 * allows, while a client that asks for more still gets its answer (a timeout, later). */
int arg_timeout(struct req *r, const cJSON *args)
{
	uint64_t max = execd_config.max_request_timeout_ms ? execd_config.max_request_timeout_ms
							   : MAX_TIMEOUT_MS;
	r->timeout_ms = DEFAULT_TIMEOUT_MS;
	int x = arg_uint(r, args, "timeout_ms", false, MAX_TIMEOUT_MS, &r->timeout_ms);
	if (r->timeout_ms > max)
		r->timeout_ms = max;
	return x < 0 ? x : 0;
}

static int resolve_error(struct req *r, int err, const char *what, const char *prefix,
			 struct id_list *cands)
{
	if (err == -EINVAL)
		return req_fail(r, err, "bad %s id '%s': expected 1 to 32 hex characters", what,
				prefix);
	if (err == -ENOENT)
		return req_fail(r, err, "no %s matches '%s'", what, prefix);
	if (err == -ENOTUNIQ) {
		r->candidates = view_ids(cands); /* best effort: NULL leaves them out */
		free(cands->ids);
		return req_fail(r, err, "'%s' matches more than one %s", prefix, what);
	}
	return req_fail(r, err, "cannot resolve %s '%s': %s", what, prefix, strerror(-err));
}

int arg_tenant(struct req *r, const cJSON *args, bool required)
{
	const char *s;
	struct id_list cands;
	int x = arg_string(r, args, "tenant", required, &s), e;
	if (x <= 0)
		return x;
	if ((e = tenant_resolve(s, &r->tenant, &cands)) < 0)
		return resolve_error(r, e, "tenant", s, &cands);
	r->has_tenant = true;
	return 1;
}

int arg_timeline(struct req *r, const cJSON *args, bool required)
{
	const char *s;
	struct id_list cands;
	struct execd_id ten;
	int x = arg_string(r, args, "timeline", required, &s), e;
	if (x <= 0)
		return x;
	if ((e = timeline_resolve(r->has_tenant ? &r->tenant : NULL, s, &ten, &r->timeline,
				  &cands)) < 0)
		return resolve_error(r, e, "timeline", s, &cands);
	r->tenant = ten;
	r->has_tenant = true;
	r->has_timeline = true;
	return 1;
}

int arg_new_id(struct req *r, const cJSON *args)
{
	const char *s;
	int x = arg_string(r, args, "id", false, &s);
	if (x <= 0)
		return x;
	if (execd_id_parse(s, &r->id_arg) < 0)
		return req_fail(r, -EINVAL,
				"bad id '%s': expected 32 hex characters (not all zero)", s);
	r->has_id = true;
	return 1;
}
