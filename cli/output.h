/* SPDX-License-Identifier: MIT */
/* execctl output: systemctl-style tables, human durations and sizes, and --json printing. */
#ifndef EXECD_CLI_OUTPUT_H
#define EXECD_CLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

/* A table of strings: a header row, then rows; columns as wide as their widest cell,
 * separated by one space, numeric columns right-aligned, the last column not padded. */
struct table;

/* ncols column headers (uppercase, as systemctl prints them); right_aligned is a bit mask of
 * columns (bit i = column i) printed right-aligned. Returns NULL when out of memory. */
struct table *table_new(size_t ncols, const char *const *headers, unsigned right_aligned);
/* Appends a row of ncols cells (copied; NULL prints as "-"). Returns 0 or -ENOMEM. */
int table_add_row(struct table *t, const char *const *cells);
size_t table_rows(const struct table *t);
/* Prints the header (unless no_header) and the rows: nothing at all for an empty table without
 * its header. */
void table_print(const struct table *t, FILE *f, bool no_header);
void table_free(struct table *t);

/* Durations: "850ns", "12.3us", "1.20ms", "3.45s" (format_ns, for busy time) and "350ms", "5s",
 * "3min 2s", "2h 5min", "3d 4h" (format_ms, for ages). Write into buf (at least 32 bytes). */
const char *format_ns(char *buf, size_t size, int64_t ns);
const char *format_ms(char *buf, size_t size, int64_t ms);
/* IEC sizes as systemd prints them: "512B", "48.0M", "1.5G". */
const char *format_bytes(char *buf, size_t size, int64_t bytes);
/* The age of an object created at created_ms as format_ms() writes it, at now_ms (both Unix time
 * in milliseconds): "-" when created_ms is negative (unknown), "0ms" when the wall clock went back
 * (the daemon's and ours may differ). Writes into buf (size bytes, at least 32); returns buf. */
const char *format_age(char *buf, size_t size, int64_t created_ms, int64_t now_ms);
/* The first len characters of id ("-" for NULL), as tables show ids (len from short_id_len(),
 * like git's abbreviated hashes). Writes into buf (size bytes); returns buf. */
const char *format_short_id(char *buf, size_t size, const char *id, size_t len);

/* The length to which ids of `field` in the objects of `array` are shortened: 8, or more until
 * the shortened values are distinct; 32 (the whole id) with full. */
size_t short_id_len(const cJSON *array, const char *field, bool full);

/* Field getters that tolerate a missing or mistyped field: string (NULL if absent or null),
 * integer (def if absent), boolean (false if absent). */
const char *json_str(const cJSON *obj, const char *field);
int64_t json_int(const cJSON *obj, const char *field, int64_t def);
bool json_bool(const cJSON *obj, const char *field);

/* Prints `item` as indented JSON followed by a newline on stdout. Returns 0 or exit code 1. */
int print_json(const cJSON *item);

/* Prints a list on stdout as systemctl does and frees the table: t (without its header with
 * no_legend), then, unless no_legend or noun is NULL, an empty line and the footer
 * "N NOUNs listed." (N = t's rows; no plural s for 1). Returns 0. Not thread-safe (stdout). */
int print_list(struct table *t, bool no_legend, const char *noun);

/* Prints "execctl: out of memory" on stderr. Returns exit code 1 (EXECCTL_EXIT_FAILURE). */
int print_out_of_memory(void);

#endif /* EXECD_CLI_OUTPUT_H */
