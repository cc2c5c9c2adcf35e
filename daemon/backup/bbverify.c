/* SPDX-License-Identifier: MIT */
/*
 * daemon/backup/bbverify.c — the base backups' side of timeline.verify (wal.h's verify hooks):
 * where the WAL check starts (the oldest kept backup's start LSN), and every complete backup
 * checked against its backup_manifest as pg_verifybackup checks a backup directory
 * (PostgreSQL 15's pg_verifybackup.c and parse_manifest.c):
 *
 *   - the manifest's own checksum: SHA-256 of everything before its last line, which names it
 *     ("Manifest-Checksum"), so that a manifest damaged on disk is not trusted;
 *   - every regular file of base.tar.zst (read through libarchive and zstd, never written out)
 *     is listed in the manifest with its size and, with "Checksum-Algorithm" CRC32C, its
 *     CRC-32C (stored as the checksum's bytes in memory order, in hex, as pg_checksum writes it);
 *   - every file the manifest lists is in the tar; files pg_verifybackup ignores are skipped
 *     (pg_wal/, backup_manifest, postgresql.auto.conf, recovery.signal, standby.signal).
 *
 * What a restore extracts is then what the server sent, and `pg_verifybackup -n` on the
 * restored directory passes (tests/daemon/test_backup.py checks both). Blocking (reads every
 * byte of every backup): the hooks run on the blocking pool, from timeline.verify's job.
 */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bbint.h"
#include "id.h"
#include "persist.h"
#include "registry/timeline.h"
#include "wal/crc32c.h"
#include "wal/wal.h"

#define MANIFEST_MAX (1 << 30) /* PostgreSQL's own manifests grow ~100 bytes per file */

/* The outcome of one backup's check. */
struct bbv {
	cJSON *files; /* the manifest's "Files", by path (borrowed from the parsed manifest) */
	unsigned char *hit; /* per manifest entry: found in the tar */
	size_t nfiles;
	uint64_t checked; /* files whose size and checksum matched */
	char file[256];   /* the first bad file ("" if none) */
	char problem[200];
};

__attribute__((format(printf, 3, 4))) static int bad(struct bbv *c, const char *file,
						     const char *fmt, ...)
{
	va_list ap;
	if (c->problem[0])
		return 1; /* the first problem is the one reported */
	snprintf(c->file, sizeof c->file, "%s", file ? file : "");
	va_start(ap, fmt);
	vsnprintf(c->problem, sizeof c->problem, fmt, ap);
	va_end(ap);
	return 1;
}

/* The manifest's last line names the SHA-256 of everything before it (parse_manifest.c's
 * verify_manifest_checksum). @return 0 (matches) or 1 (a problem, in @p c). */
static int check_manifest_checksum(struct bbv *c, const char *text, size_t len, const cJSON *m)
{
	const cJSON *cs = cJSON_GetObjectItemCaseSensitive(m, "Manifest-Checksum");
	unsigned char want[32], got[EVP_MAX_MD_SIZE];
	unsigned int glen = 0;
	size_t last = SIZE_MAX, before = SIZE_MAX;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n') {
			before = last;
			last = i;
		}
	if (!cJSON_IsString(cs) || execd_hex_decode(cs->valuestring, want, sizeof want) < 0)
		return bad(c, BB_MANIFEST, "no valid Manifest-Checksum");
	if (last != len - 1 || before == SIZE_MAX)
		return bad(c, BB_MANIFEST, "the manifest does not end with its checksum line");
	if (!EVP_Digest(text, before + 1, got, &glen, EVP_sha256(), NULL) || glen != sizeof want)
		return bad(c, BB_MANIFEST, "cannot compute SHA-256");
	if (memcmp(got, want, sizeof want) != 0)
		return bad(c, BB_MANIFEST, "the manifest's SHA-256 does not match its checksum");
	return 0;
}

/* The path of manifest entry @p f ("Path", or the hex "Encoded-Path") into @p buf. */
static bool entry_path(const cJSON *f, char *buf, size_t cap)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(f, "Path");
	if (cJSON_IsString(p))
		return (size_t)snprintf(buf, cap, "%s", p->valuestring) < cap;
	p = cJSON_GetObjectItemCaseSensitive(f, "Encoded-Path");
	size_t n = cJSON_IsString(p) ? strlen(p->valuestring) / 2 : 0;
	if (!n || n >= cap || execd_hex_decode(p->valuestring, (unsigned char *)buf, n) < 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* Files pg_verifybackup does not expect in the manifest (pg_verifybackup.c's ignore list). */
static bool ignored(const char *path)
{
	static const char *const names[] = { BB_MANIFEST, "postgresql.auto.conf", "recovery.signal",
					     "standby.signal" };
	if (strncmp(path, "pg_wal/", 7) == 0)
		return true;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strcmp(path, names[i]) == 0)
			return true;
	return false;
}

/* The manifest entry of @p path, its index into *idx; NULL if it has none. */
static const cJSON *find_entry(const struct bbv *c, const char *path, size_t *idx)
{
	char p[4096];
	size_t i = 0;
	for (const cJSON *f = c->files->child; f; f = f->next, i++)
		if (entry_path(f, p, sizeof p) && strcmp(p, path) == 0) {
			*idx = i;
			return f;
		}
	return NULL;
}

/* CRC-32C of the data of the current tar entry. @return 0, or -EIO (*err set). */
static int entry_crc(struct archive *a, uint32_t *crc, uint64_t *size, const char **err)
{
	const void *buf;
	size_t len;
	int64_t off;
	int k;
	*crc = 0;
	*size = 0;
	while ((k = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
		*crc = crc32c(*crc, buf, len);
		*size += len;
	}
	if (k != ARCHIVE_EOF) {
		*err = archive_error_string(a);
		return -EIO;
	}
	return 0;
}

/* Check one regular file of the tar against its manifest entry. @return 0 or 1 (a problem). */
static int check_file(struct bbv *c, struct archive *a, const char *path, int *ioerr)
{
	size_t idx;
	const cJSON *f = find_entry(c, path, &idx);
	const char *err = NULL;
	uint32_t crc;
	uint64_t size;
	if (!f)
		return ignored(path) ? 0 : bad(c, path, "in the backup but not in the manifest");
	c->hit[idx] = 1;
	if ((*ioerr = entry_crc(a, &crc, &size, &err)) < 0)
		return bad(c, path, "reading the backup: %s", err ? err : "damaged");
	const cJSON *sz = cJSON_GetObjectItemCaseSensitive(f, "Size");
	if (!cJSON_IsNumber(sz) || (uint64_t)sz->valuedouble != size)
		return bad(c, path, "%" PRIu64 " bytes, the manifest says %.0f", size,
			   cJSON_IsNumber(sz) ? sz->valuedouble : -1.0);
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(f, "Checksum-Algorithm");
	const cJSON *sum = cJSON_GetObjectItemCaseSensitive(f, "Checksum");
	if (cJSON_IsString(alg) && strcmp(alg->valuestring, "CRC32C") == 0) {
		unsigned char want[4], have[4];
		memcpy(have, &crc, sizeof have); /* pg_checksum_final: the bytes in memory order */
		if (!cJSON_IsString(sum) ||
		    execd_hex_decode(sum->valuestring, want, sizeof want) < 0)
			return bad(c, path, "the manifest's CRC32C checksum is malformed");
		if (memcmp(want, have, sizeof want) != 0)
			return bad(c, path, "CRC-32C %02x%02x%02x%02x, the manifest says %s",
				   have[0], have[1], have[2], have[3], sum->valuestring);
	} else if (cJSON_IsString(alg) && strcmp(alg->valuestring, "NONE") != 0) {
		return bad(c, path, "checksum algorithm %s is not checked", alg->valuestring);
	}
	c->checked++;
	return 0;
}

/* Read base.tar.zst (@p fd) entry by entry against the manifest. @return 0 or -errno. */
static int check_tar(struct bbv *c, int fd)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int k, r = 0;
	if (!a)
		return -ENOMEM;
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 1 << 17) != ARCHIVE_OK) {
		bad(c, BB_TAR, "%s", archive_error_string(a));
		archive_read_free(a);
		return 0;
	}
	while (r == 0 && (k = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *path = archive_entry_pathname(e);
		if (archive_entry_filetype(e) != AE_IFREG || !path)
			continue;
		if (check_file(c, a, path, &r) && r < 0)
			r = 0; /* a damaged tar is a finding, not an error of the check */
	}
	if (!r && k != ARCHIVE_EOF && k != ARCHIVE_OK)
		bad(c, BB_TAR, "%s", archive_error_string(a));
	archive_read_free(a);
	return r;
}

/* Every manifest entry was found in the tar (those pg_verifybackup ignores aside). */
static void check_missing(struct bbv *c)
{
	char p[4096];
	size_t i = 0;
	for (const cJSON *f = c->files->child; f; f = f->next, i++)
		if (!c->hit[i] && entry_path(f, p, sizeof p) && !ignored(p)) {
			bad(c, p, "in the manifest but not in the backup");
			return;
		}
}

/* Check backup @p id of directory @p bdir into @p c. @return 0 (c->problem: a finding) or
 * -errno (the check could not run). */
static int check_backup(const char *bdir, const char *id, struct bbv *c)
{
	char *dir, *text = NULL;
	size_t len;
	int tar = -1, r;
	if (asprintf(&dir, "%s/%s", bdir, id) < 0)
		return -ENOMEM;
	r = persist_read_file(dir, BB_MANIFEST, MANIFEST_MAX, &text, &len);
	if (r == 0 && (tar = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		int dfd = tar;
		tar = openat(dfd, BB_TAR, O_RDONLY | O_CLOEXEC);
		r = tar < 0 ? -errno : 0;
		close(dfd);
	} else if (r == 0) {
		r = -errno;
	}
	free(dir);
	if (r < 0) {
		bad(c, tar < 0 && text ? BB_TAR : BB_MANIFEST, "cannot be read: %s", strerror(-r));
		free(text);
		return 0;
	}
	cJSON *m = cJSON_ParseWithLength(text, len);
	c->files = cJSON_GetObjectItemCaseSensitive(m, "Files");
	if (!m || !cJSON_IsArray(c->files)) {
		bad(c, BB_MANIFEST, "not a backup manifest (JSON with \"Files\")");
	} else if (check_manifest_checksum(c, text, len, m) == 0) {
		c->nfiles = (size_t)cJSON_GetArraySize(c->files);
		if (!(c->hit = calloc(c->nfiles + 1, 1)))
			r = -ENOMEM;
		else if ((r = check_tar(c, tar)) == 0 && !c->problem[0])
			check_missing(c);
		free(c->hit);
	}
	cJSON_Delete(m);
	free(text);
	close(tar);
	return r;
}

/* One backup's result for the verify object. */
static cJSON *backup_json(const char *id, const struct bbv *c)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = !c->problem[0];
	if (!o || !cJSON_AddStringToObject(o, "id", id) || !cJSON_AddBoolToObject(o, "ok", ok) ||
	    !cJSON_AddNumberToObject(o, "files", (double)c->checked) ||
	    !(ok ? cJSON_AddNullToObject(o, "file")
		 : cJSON_AddStringToObject(o, "file", c->file)) ||
	    !(ok ? cJSON_AddNullToObject(o, "problem")
		 : cJSON_AddStringToObject(o, "problem", c->problem))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* wal_verify_hooks.check_backups: "backups" (one object per complete backup, oldest first)
 * and "backup_problem" (the first bad one, or null) added to @p verify; "ok" cleared on one. */
static int check_backups(struct timeline *tl, cJSON *verify)
{
	struct backup_info *v;
	size_t n;
	char *bdir;
	int r = bb_dir(tl->dir, &bdir);
	if (r < 0)
		return r;
	if ((r = bb_scan(bdir, &v, &n)) < 0) {
		free(bdir);
		return r;
	}
	cJSON *arr = cJSON_AddArrayToObject(verify, "backups"), *first = NULL;
	r = arr ? 0 : -ENOMEM;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct bbv c = { 0 };
		cJSON *b;
		if ((r = check_backup(bdir, v[i].id, &c)) < 0)
			break;
		if (!(b = backup_json(v[i].id, &c)) || !cJSON_AddItemToArray(arr, b)) {
			cJSON_Delete(b);
			r = -ENOMEM;
		} else if (c.problem[0] && !first) {
			first = b;
		}
	}
	if (r == 0 && first) {
		cJSON_ReplaceItemInObjectCaseSensitive(verify, "ok", cJSON_CreateFalse());
		cJSON *dup = cJSON_Duplicate(first, true);
		r = dup && cJSON_AddItemToObject(verify, "backup_problem", dup) ? 0 : -ENOMEM;
	} else if (r == 0 && !cJSON_AddNullToObject(verify, "backup_problem")) {
		r = -ENOMEM;
	}
	free(v);
	free(bdir);
	return r;
}

/* wal_verify_hooks.oldest_backup_lsn: the start LSN of the oldest complete backup. */
static int oldest_backup_lsn(struct timeline *tl, uint64_t *lsn)
{
	struct backup_info *v;
	size_t n;
	char *bdir;
	int r = bb_dir(tl->dir, &bdir);
	if (r < 0)
		return r;
	r = bb_scan(bdir, &v, &n);
	free(bdir);
	if (r < 0)
		return r;
	if (n)
		*lsn = v[0].start_lsn; /* the scan is oldest first */
	free(v);
	return n ? 1 : 0;
}

const struct wal_verify_hooks bb_verify_hooks = {
	.oldest_backup_lsn = oldest_backup_lsn,
	.check_backups = check_backups,
};
