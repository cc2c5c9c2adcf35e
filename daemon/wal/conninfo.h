/* SPDX-License-Identifier: MIT */
/*
 * daemon/wal/conninfo.h — what a timeline is given to reach its source: the libpq conninfo and
 * the replication slot's name. Checks them as the server and libpq would (so that a bad value is
 * refused at timeline.create, not at the first connection), and keeps the conninfo's secrets
 * inside the daemon: libpq itself says which options are secret (PQconninfoOption.dispchar "*",
 * as psql's \conninfo and PQconndefaults() hide them), so a libpq that adds one is followed
 * without a change here.
 */
#ifndef EXECD_WAL_CONNINFO_H
#define EXECD_WAL_CONNINFO_H

#include <stdbool.h>
#include <stddef.h>

/** The longest slot name PostgreSQL accepts, in bytes (NAMEDATALEN - 1). */
#define SLOT_NAME_MAX 63

/**
 * Is @p name a replication slot name PostgreSQL accepts (ReplicationSlotValidateName): 1 to
 * SLOT_NAME_MAX bytes, each a lower-case ASCII letter, a digit or '_'? Pure; thread-safe.
 */
bool slot_name_valid(const char *name);

/**
 * Does libpq parse @p conninfo (key=value pairs or a postgresql:// URI; PQconninfoParse)?
 * libpq's own message is not returned: it may quote the secret being parsed.
 * @return 0 or -EINVAL (also if libpq ran out of memory: its NULL does not tell). Thread-safe.
 */
int conninfo_check(const char *conninfo);

/**
 * The conninfo @p conninfo as key='value' pairs (libpq's quoting), every option libpq marks as
 * secret (password, sslpassword, ...) left out: what replies and log lines may show.
 * @return 0 with *out (malloc'd; free()), -EINVAL if libpq cannot parse it, or -ENOMEM.
 * Thread-safe.
 */
int conninfo_redact(const char *conninfo, char **out);

/**
 * Replace, in the NUL-terminated @p msg (at most @p size bytes with its NUL), every occurrence of
 * the value of a secret option of @p conninfo by "********" (the message is cut to @p size if it
 * grows). For libpq's messages, which should never quote a secret but might (a parse error
 * quotes the token it could not decode). A conninfo libpq cannot parse changes nothing.
 * Thread-safe; never fails.
 */
void conninfo_scrub(const char *conninfo, char *msg, size_t size);

#endif /* EXECD_WAL_CONNINFO_H */
