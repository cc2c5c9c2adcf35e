/* SPDX-License-Identifier: MIT */
/* daemon/remote/node.c — this execd's node id in STATE/node_id (node.h). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "node.h"
#include "persist.h"

static pthread_mutex_t node_lock = PTHREAD_MUTEX_INITIALIZER;
static struct execd_id node_id;
static bool node_set;

/* Parse the file's text: the id, optionally followed by a newline. */
static int parse_node(const char *text, size_t len, struct execd_id *out)
{
	char buf[EXECD_ID_STR_SIZE];
	if (len && text[len - 1] == '\n')
		len--;
	if (len != EXECD_ID_HEX_LEN)
		return -EBADMSG;
	memcpy(buf, text, len);
	buf[len] = '\0';
	return execd_id_parse(buf, out) < 0 ? -EBADMSG : 0;
}

/* A new id, durable before it is used (persist_write_file: tmp, fsync, rename, fsync dir). */
static int create_node(const char *state_dir, struct execd_id *out)
{
	char buf[EXECD_ID_STR_SIZE + 1];
	int r = execd_id_generate(out);
	if (r < 0)
		return r;
	execd_id_format(out, buf);
	strcat(buf, "\n");
	if ((r = persist_write_file(state_dir, NODE_ID_FILE, buf, strlen(buf))) < 0)
		return r;
	log_info("created node id %.32s in %s/%s", buf, state_dir, NODE_ID_FILE);
	return 0;
}

int node_id_init(const char *state_dir)
{
	struct execd_id id;
	char *text = NULL;
	size_t len = 0;
	int r = persist_read_file(state_dir, NODE_ID_FILE, 64, &text, &len);
	if (r == 0) {
		r = parse_node(text, len, &id);
		if (r < 0)
			log_error("%s/%s does not hold a node id (32 hex digits); not replacing it",
				  state_dir, NODE_ID_FILE);
	} else if (r == -ENOENT) {
		r = create_node(state_dir, &id);
	}
	free(text);
	if (r < 0) {
		if (r != -EBADMSG)
			log_error("cannot set up %s/%s: %s", state_dir, NODE_ID_FILE, strerror(-r));
		return r;
	}
	pthread_mutex_lock(&node_lock);
	node_id = id;
	node_set = true;
	pthread_mutex_unlock(&node_lock);
	return 0;
}

const char *node_id_str(char out[EXECD_ID_STR_SIZE])
{
	struct execd_id id;
	pthread_mutex_lock(&node_lock);
	bool set = node_set;
	id = node_id;
	pthread_mutex_unlock(&node_lock);
	return set ? execd_id_format(&id, out) : NULL;
}
