/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_ctl.c — fuzz harness of the control protocol (docs/protocol.md): the bytes a
 * client sends on a control connection, through the daemon's own framing (ctl_frame_line),
 * JSON parsing (ctl_parse_line), envelope and argument checks (ctl_request_prepare: version,
 * command, rights, types, ranges, tenant and timeline ids and prefixes resolved in the
 * registry) and dispatch (ctl_request_spawn: the request task, its handler, the reply).
 *
 * The daemon's runtime and task_mgr run for real, with a registry loaded from a temporary state
 * directory holding two tenants, each with a timeline without a source, whose ids share a prefix
 * (removed at exit). The peer may read
 * and write. Requests of read-only commands run their handler; mutating commands and
 * timeline.wait_lsn are checked and prepared but not run, so that the fuzzer never writes
 * outside the temporary directory, never connects to a server a request names, and never
 * waits out a timeout.
 *
 * Properties: every response is one line of JSON, an object with "version" 1 and a boolean
 * "ok", an "error" object with a "code" and a "message" when not ok, and the request's "id"
 * (a string, boolean or null) echoed; no request task outlives its reply.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include <cjson/cJSON.h>
#include <executor/async.h>
#include <executor/cancel.h>
#include <executor/runtime.h>
#include <executor/time.h>

#include "conf.h"
#include "ctl/cmd.h"
#include "ctl/ctl.h"
#include "fuzz.h"
#include "log.h"
#include "persist.h"
#include "registry/registry.h"
#include "task_mgr.h"

#define MAX_LINES 32 /* request lines taken from one input */

/* Two tenants with a common prefix ("0123456789abcdef" is ambiguous, "...01" is not). */
static const char *const tenant_ids[] = { "0123456789abcdef0123456789abcd01",
					  "0123456789abcdef0123456789abcd02" };

/* A timeline without a source (no WAL receiver) in each tenant, also with a common prefix. */
static const char *const timeline_ids[] = { "fedcba9876543210fedcba98765432a1",
					    "fedcba9876543210fedcba98765432a2" };

static struct ex_runtime *rt;
static bool verbose; /* FUZZ_VERBOSE set: print every response (to see what an input does) */
/* FUZZ_CTL_UTF8 set: also require valid UTF-8 in every response (issue 15 item 5; off until the
 * daemon stops echoing the bytes of a bad request) */
static bool utf8;
static char state_dir[4096];
static bool have_state_dir;

static void on_critical_failure(int err, uint64_t task_id)
{
	fprintf(stderr, "fuzz_ctl: critical task %llu failed: %s\n", (unsigned long long)task_id,
		strerror(-err));
	abort();
}

static void remove_state_dir(void)
{
	if (have_state_dir)
		(void)persist_remove_tree(state_dir);
}

/* The metadata files as the registry writes them (registry/meta.c), by hand: the registry's
 * own create would start the tenant's tasks, which outlive a request. */
static void make_tenant(const char *id, const char *timeline)
{
	char dir[4608], json[256];
	int n = snprintf(json, sizeof json, "{\"id\":\"%s\",\"created_at_ms\":0}\n", id);
	snprintf(dir, sizeof dir, "%s/tenants/%s", state_dir, id);
	FUZZ_CHECK(persist_mkdir(dir) == 0);
	FUZZ_CHECK(persist_write_file(dir, "tenant.json", json, (size_t)n) == 0);
	snprintf(dir, sizeof dir, "%s/tenants/%s/timelines", state_dir, id);
	FUZZ_CHECK(persist_mkdir(dir) == 0);
	snprintf(dir, sizeof dir, "%s/tenants/%s/timelines/%s", state_dir, id, timeline);
	FUZZ_CHECK(persist_mkdir(dir) == 0);
	n = snprintf(json, sizeof json,
		     "{\"id\":\"%s\",\"tenant\":\"%s\",\"source\":null,\"slot\":null,"
		     "\"create_slot\":false,\"start_lsn\":\"0/0\",\"created_at_ms\":0}\n",
		     timeline, id);
	FUZZ_CHECK(persist_write_file(dir, "timeline.json", json, (size_t)n) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ex_runtime_config cfg = ex_runtime_config_default();
	struct ex_cancel_token *root;
	char dir[4608];
	(void)argc;
	(void)argv;

	const char *tmp = getenv("TMPDIR");
	snprintf(state_dir, sizeof state_dir, "%s/execd-fuzz-ctl.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	FUZZ_CHECK(mkdtemp(state_dir) != NULL);
	have_state_dir = true;
	atexit(remove_state_dir);
	snprintf(dir, sizeof dir, "%s/tenants", state_dir);
	FUZZ_CHECK(persist_mkdir(dir) == 0);
	for (size_t i = 0; i < sizeof tenant_ids / sizeof *tenant_ids; i++)
		make_tenant(tenant_ids[i], timeline_ids[i]);
	execd_config.state_dir = state_dir;
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	utf8 = getenv("FUZZ_CTL_UTF8") != NULL;
	ctl_set_start_time(ex_now_ns());
	execd_log_init(LOG_ERR, 1);

	cfg.workers = 1;
	cfg.blocking_threads = 2;
	cfg.slow_poll_ns = 0; /* sanitizers make polls slow */
	cfg.detach_grace_ns = 5ull * 1000 * 1000 * 1000;
	FUZZ_CHECK(ex_runtime_new(&cfg, &rt) == 0);
	FUZZ_CHECK(ex_cancel_token_new(&root) == 0);
	FUZZ_CHECK(task_mgr_init(root, on_critical_failure) == 0);
	/* the registry is loaded but its tasks are not started (no registry_start): each input
	 * leaves no task behind */
	FUZZ_CHECK(registry_init(state_dir) == 0);
	FUZZ_CHECK(registry_tenant_count() == 2 && registry_timeline_count() == 2);
	return 0;
}

/* The connection task of one input. */
struct fuzz_conn {
	struct ex_future fut;
	struct ex_async a;
	const uint8_t *data;
	size_t size, off;
	unsigned lines;
	bool stop;
	cJSON *req_id; /* the request's "id", when the reply must echo it */
	struct ctl_reply *reply;
	struct ctl_reply_wait rw;
	char *out;
};

static const struct ctl_peer peer = {
	.pid = 1, .uid = 0, .gid = 0, .can_read = true, .can_write = true
};

static bool runs_handler(enum proto_command cmd)
{
	/* Not run, only checked: waits (wait_lsn), descriptors passed to the client (wal.get,
	 * backup.restore), whole-WAL reads (timeline.verify), and the backup module, which the
	 * harness does not start (backup.list). */
	switch (cmd) {
	case PROTO_CMD_TIMELINE_WAIT_LSN:
	case PROTO_CMD_WAL_GET:
	case PROTO_CMD_TIMELINE_VERIFY:
	case PROTO_CMD_BACKUP_LIST:
	case PROTO_CMD_BACKUP_RESTORE:
		return false;
	default:
		return !proto_command_mutating(cmd);
	}
}

/* Whether @p s is valid UTF-8 (RFC 3629: shortest form, no surrogates, at most U+10FFFF). */
static bool valid_utf8(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s++, n, cp;
		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		for (unsigned i = 0; i < n; i++, s++) {
			if ((*s & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (*s & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

static void check_response(const char *out, const cJSON *req_id)
{
	size_t n = strlen(out);
	if (verbose)
		fputs(out, stderr);
	FUZZ_CHECK(n > 1 && out[n - 1] == '\n' && !memchr(out, '\n', n - 1));
	if (utf8)
		FUZZ_CHECK(valid_utf8((const unsigned char *)out));
	cJSON *o = cJSON_ParseWithLength(out, n - 1);
	FUZZ_CHECK(o && cJSON_IsObject(o));
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(o, "version");
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(o, "ok");
	FUZZ_CHECK(cJSON_IsNumber(ver) && ver->valuedouble == CTL_PROTOCOL_VERSION);
	FUZZ_CHECK(cJSON_IsBool(ok));
	if (cJSON_IsFalse(ok)) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
		FUZZ_CHECK(cJSON_IsObject(e));
		FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "code")));
		FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "message")));
	} else {
		FUZZ_CHECK(cJSON_GetObjectItemCaseSensitive(o, "result") != NULL);
	}
	if (req_id)
		FUZZ_CHECK(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(o, "id"), req_id, true));
	cJSON_Delete(o);
}

/* Keep a copy of the request's id if the reply must echo it exactly (a number is printed by
 * cJSON with limited precision, and not at all if not finite: not compared). */
static cJSON *echoed_id(const cJSON *req)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "id");
	if (!id || !(cJSON_IsString(id) || cJSON_IsBool(id) || cJSON_IsNull(id)))
		return NULL;
	cJSON *dup = cJSON_Duplicate(id, true);
	FUZZ_CHECK(dup != NULL);
	return dup;
}

/* Dispatch one parsed request: c->out now, or c->reply later, or neither (prepared, not run). */
static void dispatch(struct fuzz_conn *c, cJSON *req)
{
	struct req *r;
	int x = ctl_request_prepare(req, &peer, &c->out, &r);
	FUZZ_CHECK(x == CTL_REPLY_NOW || x == CTL_REPLY_LATER || x == -ENOMEM);
	if (x != CTL_REPLY_LATER)
		return;
	if (!runs_handler(ctl_request_command(r))) {
		ctl_request_free(r);
		cJSON_Delete(c->req_id);
		c->req_id = NULL;
		return;
	}
	x = ctl_request_spawn(r, &c->reply);
	FUZZ_CHECK(x == CTL_REPLY_LATER || x == -ENOMEM);
}

/* Take the next request line, as the connection task does (server.c). */
static void next_line(struct fuzz_conn *c)
{
	size_t avail = c->size - c->off;
	size_t len = ctl_frame_line((const char *)c->data + c->off,
				    avail < CTL_MAX_REQUEST ? avail : CTL_MAX_REQUEST);
	cJSON *req;
	if (len == 0) {
		/* no newline: too long a request is refused; a shorter rest is a client that
		 * went away in the middle of a line */
		if (avail >= CTL_MAX_REQUEST)
			c->out = ctl_error(NULL, -EMSGSIZE, "request larger than 65536 bytes",
					   NULL);
		c->stop = true;
		return;
	}
	char *line = malloc(len); /* exact size: ASan sees a read past the line */
	FUZZ_CHECK(line != NULL);
	memcpy(line, c->data + c->off, len);
	c->off += len;
	int r = ctl_parse_line(line, len, &req, &c->out);
	FUZZ_CHECK(r >= -ENOMEM && r <= 1 && (r == 1) == (req != NULL));
	if (r == 1) {
		c->req_id = echoed_id(req);
		dispatch(c, req);
		cJSON_Delete(req);
	}
	free(line);
}

static ex_poll_t conn_poll(struct ex_future *f, struct ex_context *cx)
{
	struct fuzz_conn *c = ex_container_of(f, struct fuzz_conn, fut);

	EX_BEGIN(&c->a);
	while (!c->stop && c->off < c->size && c->lines++ < MAX_LINES) {
		next_line(c);
		if (c->reply) {
			EX_AWAIT(&c->a, cx, &ctl_reply_wait(&c->rw, c->reply)->base);
			c->out = ctl_reply_take(c->reply);
			c->reply = NULL;
			FUZZ_CHECK(c->out != NULL);
		}
		if (c->out)
			check_response(c->out, c->req_id);
		free(c->out);
		c->out = NULL;
		cJSON_Delete(c->req_id);
		c->req_id = NULL;
	}
	EX_END(&c->a, f, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_conn c = { .fut.poll = conn_poll, .data = data, .size = size };
	int64_t out = -1;
	FUZZ_CHECK(ex_runtime_block_on(rt, &c.fut, &out) == 0 && out == 0);
	FUZZ_CHECK(task_mgr_count(NULL) == 0);
	return 0;
}
