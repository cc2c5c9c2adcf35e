/* SPDX-License-Identifier: MIT */
/*
 * daemon/registry/quarantine.c — directories that start-up cannot account for are moved aside,
 * never removed (issue 15): a tenant or timeline directory without its metadata file and without
 * the mark of an unfinished create (CREATING_MARK) may hold gigabytes of WAL whose metadata was
 * lost. It goes to STATE/quarantine/<name>.<unix seconds>, with a one-line reason beside it in
 * <name>.<unix seconds>.reason, and is listed by status until an operator removes it. Blocking;
 * runs at start before any task (the list is read under the registry lock afterwards).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "persist.h"
#include "regint.h"

#define QUARANTINE_DIR "quarantine"
#define REASON_SUFFIX ".reason"

static struct quarantine_entry *entries;
static size_t n_entries;

/* Rename @p dir to a new name in @p qdir, never replacing anything: *to is that name. */
static int move_into(const char *dir, const char *qdir, const char *name, char **to)
{
	long now = (long)time(NULL);
	for (int i = 0; i < 100; i++) {
		int n = i ? asprintf(to, "%s/%s.%ld.%d", qdir, name, now, i)
			  : asprintf(to, "%s/%s.%ld", qdir, name, now);
		if (n < 0)
			return -ENOMEM;
		if (renameat2(AT_FDCWD, dir, AT_FDCWD, *to, RENAME_NOREPLACE) == 0)
			return 0;
		int e = errno;
		free(*to);
		*to = NULL;
		if (e != EEXIST)
			return -e;
	}
	return -EEXIST;
}

int quarantine_move(const char *what, const char *dir, const char *reason)
{
	const char *slash = strrchr(dir, '/');
	char *qdir = path_join(reg.state_dir, QUARANTINE_DIR), *to = NULL, *parent = NULL;
	int r = qdir ? persist_mkdir(qdir) : -ENOMEM;
	if (r == 0)
		r = move_into(dir, qdir, slash ? slash + 1 : dir, &to);
	if (r == 0) {
		/* durable: the old parent loses the entry, the quarantine gains it */
		parent = strndup(dir, slash ? (size_t)(slash - dir) : 0);
		if (parent && *parent && (r = persist_fsync_dir(parent)) == 0)
			r = persist_fsync_dir(qdir);
		char *name = strrchr(to, '/') + 1, *rname;
		if (r == 0 && asprintf(&rname, "%s%s", name, REASON_SUFFIX) >= 0) {
			char line[512];
			int len = snprintf(line, sizeof line, "%s %s: %s\n", what, dir, reason);
			if (persist_write_file(qdir, rname, line, (size_t)len) < 0)
				log_warning("cannot write %s/%s", qdir, rname);
			free(rname);
		}
	}
	if (r < 0)
		log_error("cannot move %s directory %s (%s) into %s: %s", what, dir, reason,
			  qdir ? qdir : "the quarantine", strerror(-r));
	else
		log_warning("moved %s directory %s into quarantine as %s: %s; nothing was removed",
			    what, dir, to, reason);
	free(parent);
	free(to);
	free(qdir);
	return r;
}

/* The reason file of quarantined entry @p name, its one line, or a copy of "unknown". */
static char *read_reason(const char *qdir, const char *name)
{
	char *rname, *text = NULL;
	if (asprintf(&rname, "%s%s", name, REASON_SUFFIX) < 0)
		return NULL;
	if (persist_read_file(qdir, rname, 4096, &text, NULL) == 0)
		text[strcspn(text, "\n")] = '\0';
	free(rname);
	return text ? text : strdup("unknown (no " REASON_SUFFIX " file)");
}

static int add_entry(const char *qdir, const char *name, size_t *cap)
{
	if (n_entries == *cap) {
		size_t nc = *cap ? 2 * *cap : 8;
		struct quarantine_entry *e = realloc(entries, nc * sizeof *e);
		if (!e)
			return -ENOMEM;
		entries = e;
		*cap = nc;
	}
	struct quarantine_entry *e = &entries[n_entries];
	e->path = path_join(qdir, name);
	e->reason = read_reason(qdir, name);
	if (!e->path || !e->reason) {
		free(e->path);
		free(e->reason);
		return -ENOMEM;
	}
	n_entries++;
	return 0;
}

int quarantine_load(void)
{
	char *qdir = path_join(reg.state_dir, QUARANTINE_DIR);
	DIR *d = qdir ? opendir(qdir) : NULL;
	size_t cap = 0, sl = strlen(REASON_SUFFIX);
	int r = 0;
	quarantine_fini();
	if (!d) {
		r = !qdir ? -ENOMEM : errno == ENOENT ? 0 : -errno;
		free(qdir);
		return r;
	}
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (de->d_name[0] == '.' || (n > sl && !strcmp(de->d_name + n - sl, REASON_SUFFIX)))
			continue;
		r = add_entry(qdir, de->d_name, &cap);
	}
	closedir(d);
	free(qdir);
	return r;
}

void quarantine_fini(void)
{
	for (size_t i = 0; i < n_entries; i++) {
		free(entries[i].path);
		free(entries[i].reason);
	}
	free(entries);
	entries = NULL;
	n_entries = 0;
}

int registry_quarantined(struct quarantine_entry **out, size_t *n)
{
	int r = 0;
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&reg.lock);
	if (n_entries && !(*out = calloc(n_entries, sizeof **out)))
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < n_entries; i++, (*n)++)
		if (!((*out)[i].path = strdup(entries[i].path)) ||
		    !((*out)[i].reason = strdup(entries[i].reason))) {
			free((*out)[i].path);
			r = -ENOMEM;
		}
	pthread_mutex_unlock(&reg.lock);
	if (r < 0) {
		registry_quarantined_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return r;
}

void registry_quarantined_free(struct quarantine_entry *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].path);
		free(list[i].reason);
	}
	free(list);
}
