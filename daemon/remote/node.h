/* SPDX-License-Identifier: MIT */
/*
 * daemon/remote/node.h — this execd's node id: a random 128-bit id (32 hex) created once in
 * STATE/node_id and kept for the life of the state directory. attachment.json names the node
 * that holds a tenant (docs/remote-storage.md, "Generations"), so that a second machine can tell
 * "attached here" from "attached elsewhere". A copied state directory is the same node: that is
 * what a restored machine is.
 *
 * Design source: neon's pageserver node id (a per-pageserver identity in its attachment records),
 * without a control plane handing it out: generated locally, as PostgreSQL's system identifier.
 */
#ifndef EXECD_REMOTE_NODE_H
#define EXECD_REMOTE_NODE_H

#include "id.h"

/** The file under the state directory. */
#define NODE_ID_FILE "node_id"

/**
 * Read STATE/node_id (@p state_dir), or create it with a random id (written crash-safely and
 * fsynced before it is used). Call once at start, before requests are served. Blocking.
 * @return 0; -EBADMSG if the file exists but does not hold an id (logged with its path: never
 * replaced, since another node's tenants may name it); -errno of the file system.
 */
int node_id_init(const char *state_dir);

/**
 * This execd's node id into @p out (32 hex characters and a NUL). @return @p out, or NULL
 * before node_id_init() succeeded. Thread-safe (the id never changes once set).
 */
const char *node_id_str(char out[EXECD_ID_STR_SIZE]);

#endif /* EXECD_REMOTE_NODE_H */
