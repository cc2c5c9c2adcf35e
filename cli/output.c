/* SPDX-License-Identifier: MIT */
/* execctl output: see output.h. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "execctl.h"
#include "output.h"

struct table {
	size_t ncols, nrows, cap;
	unsigned right;
	char **cells; /* (nrows + 1) * ncols, row 0 the header */
};

/* Makes room for one more data row (rows are counted in cap, the header included). */
static int table_grow(struct table *t)
{
	if (t->nrows + 2 > t->cap) {
		size_t cap = t->cap * 2;
		char **nc = realloc(t->cells, cap * t->ncols * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		t->cells = nc;
		t->cap = cap;
	}
	return 0;
}

struct table *table_new(size_t ncols, const char *const *headers, unsigned right_aligned)
{
	struct table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = ncols;
	t->right = right_aligned;
	t->nrows = 0;
	/* Row 0 holds the header; table_add_row() counts data rows only. */
	t->cap = 16;
	t->cells = calloc(t->cap * ncols, sizeof(char *));
	if (!t->cells) {
		free(t);
		return NULL;
	}
	for (size_t i = 0; i < ncols; i++) {
		t->cells[i] = strdup(headers[i]);
		if (!t->cells[i]) {
			table_free(t);
			return NULL;
		}
	}
	return t;
}

int table_add_row(struct table *t, const char *const *cells)
{
	int r = table_grow(t);
	char **row;

	if (r < 0)
		return r;
	row = t->cells + (t->nrows + 1) * t->ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		row[i] = strdup(cells[i] ? cells[i] : "-");
		if (!row[i]) {
			while (i-- > 0)
				free(row[i]);
			return -ENOMEM;
		}
	}
	t->nrows++;
	return 0;
}

size_t table_rows(const struct table *t)
{
	return t->nrows;
}

void table_print(const struct table *t, FILE *f, bool no_header)
{
	size_t width[32] = { 0 };
	size_t nc = t->ncols < 32 ? t->ncols : 32;

	for (size_t r = no_header ? 1 : 0; r <= t->nrows; r++)
		for (size_t c = 0; c < nc; c++) {
			size_t w = strlen(t->cells[r * t->ncols + c]);
			if (w > width[c])
				width[c] = w;
		}
	for (size_t r = no_header ? 1 : 0; r <= t->nrows; r++) {
		for (size_t c = 0; c < nc; c++) {
			const char *cell = t->cells[r * t->ncols + c];
			bool last = c + 1 == nc;
			if (t->right & (1u << c))
				fprintf(f, "%*s", (int)width[c], cell);
			else if (last)
				fputs(cell, f);
			else
				fprintf(f, "%-*s", (int)width[c], cell);
			if (!last)
				fputc(' ', f);
		}
		fputc('\n', f);
	}
}

void table_free(struct table *t)
{
	if (!t)
		return;
	if (t->cells)
		for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++)
			free(t->cells[i]);
	free(t->cells);
	free(t);
}

const char *format_ns(char *buf, size_t size, int64_t ns)
{
	if (ns < 0)
		snprintf(buf, size, "-");
	else if (ns < 1000)
		snprintf(buf, size, "%" PRId64 "ns", ns);
	else if (ns < 1000000)
		snprintf(buf, size, "%.1fus", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, size, "%.2fms", (double)ns / 1e6);
	else
		format_ms(buf, size, ns / 1000000);
	return buf;
}

const char *format_ms(char *buf, size_t size, int64_t ms)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		snprintf(buf, size, "-");
	else if (ms < 1000)
		snprintf(buf, size, "%" PRId64 "ms", ms);
	else if (s < 60)
		snprintf(buf, size, "%.*fs", s < 10 ? 2 : 1, (double)ms / 1e3);
	else if (s < 3600)
		snprintf(buf, size, "%" PRId64 "min %" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%" PRId64 "h %" PRId64 "min", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, size, "%" PRId64 "d %" PRId64 "h", s / 86400, s % 86400 / 3600);
	return buf;
}

const char *format_bytes(char *buf, size_t size, int64_t bytes)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int u = -1;

	if (bytes < 0) {
		snprintf(buf, size, "-");
		return buf;
	}
	if (bytes < 1024) {
		snprintf(buf, size, "%" PRId64 "B", bytes);
		return buf;
	}
	while (v >= 1024.0 && u < 5) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, size, "%.1f%c", v, units[u]);
	return buf;
}

const char *format_age(char *buf, size_t size, int64_t created_ms, int64_t now_ms)
{
	return format_ms(buf, size,
			 created_ms < 0 ? -1 : (now_ms > created_ms ? now_ms - created_ms : 0));
}

const char *format_short_id(char *buf, size_t size, const char *id, size_t len)
{
	snprintf(buf, size, "%.*s", (int)len, id ? id : "-");
	return buf;
}

size_t short_id_len(const cJSON *array, const char *field, bool full)
{
	size_t len = 8;
	const cJSON *a, *b;

	if (full)
		return 32;
	/* Quadratic, but lists are short and this keeps shortened ids unambiguous among what is
	 * shown (as git grows abbreviated hashes). */
	for (;;) {
		bool clash = false;
		cJSON_ArrayForEach (a, array) {
			const char *x = json_str(a, field);
			if (!x)
				continue;
			for (b = a->next; b && !clash; b = b->next) {
				const char *y = json_str(b, field);
				if (y && strcmp(x, y) != 0 && strncmp(x, y, len) == 0)
					clash = true;
			}
			if (clash)
				break;
		}
		if (!clash || len >= 32)
			return len;
		len += 4;
	}
}

const char *json_str(const cJSON *obj, const char *field)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, field);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

int64_t json_int(const cJSON *obj, const char *field, int64_t def)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, field);

	return cJSON_IsNumber(it) ? (int64_t)it->valuedouble : def;
}

bool json_bool(const cJSON *obj, const char *field)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, field));
}

int print_json(const cJSON *item)
{
	char *text = cJSON_Print(item);

	if (!text)
		return print_out_of_memory();
	puts(text);
	cJSON_free(text);
	return 0;
}

int print_list(struct table *t, bool no_legend, const char *noun)
{
	size_t n = table_rows(t);

	table_print(t, stdout, no_legend);
	if (!no_legend && noun)
		printf("\n%zu %s%s listed.\n", n, noun, n == 1 ? "" : "s");
	table_free(t);
	return 0;
}

int print_out_of_memory(void)
{
	fprintf(stderr, "execctl: out of memory\n");
	return EXECCTL_EXIT_FAILURE;
}
