/* SPDX-License-Identifier: Apache-2.0 */
/* Reading JSON files written by people: comments allowed, and every error
 * names the file and where.  Syntax errors carry file:line:col; field errors
 * carry the JSON path ("sdm120.json: points[3].address: expected ...").
 *
 * Comments (// to end of line and C-style blocks) are blanked out character
 * by character rather than removed, so offsets in the blanked text are
 * offsets in the original and cJSON's error pointer still maps to a line.
 * (cJSON_Minify cannot be used: it drops newlines too.) */
#ifndef FB_JSONFILE_H
#define FB_JSONFILE_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "diag.h"

/* Parses `path`. Returns the document (caller frees with cJSON_Delete), or
 * NULL after adding an error that names path (and line:col for syntax).
 * A key given twice in one object is an error naming both lines. */
cJSON *fb_json_load_file(const char *path, struct fb_diag *diag);

/* Same for text already in memory; `name` is used in messages. */
cJSON *fb_json_parse_text(const char *name, const char *text, struct fb_diag *diag);
/* The same for files that may hold secrets (configuration, users): a
 * syntax error's quote of the text shows the structure only, every string
 * and bare word but true/false/null as "…", so it never echoes a secret. */
cJSON *fb_json_parse_private(const char *name, const char *text, struct fb_diag *diag);
cJSON *fb_json_load_private(const char *path, struct fb_diag *diag);

/* Blanks comments in place (keeps newlines). Returns 0, or -1 with an
 * error offset in *err_off for an unterminated block comment. */
int fb_json_strip_comments(char *text, size_t *err_off);

/* Field readers.  `where` is the file name plus path of obj, e.g.
 * "sdm120.json: points[3]"; messages read "<where>.<key>: expected ...".
 * Each returns 1 if the key was present and valid (and stores it),
 * 0 if absent and not required (out untouched), -1 after adding an error. */
int fb_json_string(const cJSON *obj, const char *key, bool required,
		   const char *where, struct fb_diag *diag, const char **out);
/* Integers may also be written as strings "0x1A" or "26" (register maps are
 * usually printed in hex). */
int fb_json_int(const cJSON *obj, const char *key, bool required,
		long long min, long long max,
		const char *where, struct fb_diag *diag, long long *out);
int fb_json_number(const cJSON *obj, const char *key, bool required,
		   const char *where, struct fb_diag *diag, double *out);
/* Accepts true/false, and "on"/"off" as configuration pages write them. */
int fb_json_bool(const cJSON *obj, const char *key, bool required,
		 const char *where, struct fb_diag *diag, bool *out);
/* One of names[] (NULL-terminated); stores the index. The error lists all
 * accepted names. */
int fb_json_enum(const cJSON *obj, const char *key, bool required,
		 const char *const *names,
		 const char *where, struct fb_diag *diag, int *out);
/* An error for each key not in known[] (NULL-terminated), with the nearest
 * known key as "did you mean" when one is close: a typo such as "qoss"
 * would otherwise run with the default.  Keys starting with '_' are
 * comments and never reported. */
void fb_json_unknown_keys(const cJSON *obj, const char *const *known,
			  const char *where, struct fb_diag *diag);

/* Optimal string alignment distance (Levenshtein plus swapped neighbours:
 * "adress"/"address", "uint_id"/"unit_id"), letters compared without case;
 * SIZE_MAX for names longer than 64 bytes.  For "did you mean". */
size_t fb_json_name_distance(const char *a, const char *b);

/* Adds a problem about field `key` (NULL: the object itself) of the object
 * at `where`, recording file, JSON path and field (see fb_diag_entry) taken
 * from where: the file is what comes before the first ": ", the path what
 * follows, without the " (name)" notes that messages add after an array
 * element.  A drop-in file's object is called "bus" or "connection" in
 * messages; its path is "" (the top level).  fmt is the whole message. */
void fb_json_diag(struct fb_diag *d, enum fb_severity sev, const char *where,
		  const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
#define fb_json_error(d, where, key, ...) \
	fb_json_diag((d), FB_SEV_ERROR, (where), (key), __VA_ARGS__)
#define fb_json_warn(d, where, key, ...) \
	fb_json_diag((d), FB_SEV_WARNING, (where), (key), __VA_ARGS__)
/* The JSON path part of `where` as fb_json_diag takes it (caller frees);
 * NULL on ENOMEM. */
char *fb_json_where_path(const char *where);

/* The largest configuration, users or definition file read: far above any
 * real one (40,000 devices take about 4 MiB), small enough for a Pi. */
#define FB_JSON_FILE_MAX (16 * 1024 * 1024)
#define FB_JSON_FILE_MAX_TEXT "16 MiB"

/* Reads a whole regular file into a NUL-terminated buffer (caller frees).
 * Opened non-blocking, so a FIFO given by mistake cannot hang the caller.
 * Returns NULL with errno set: EINVAL not a regular file, EISDIR a
 * directory, EFBIG larger than FB_JSON_FILE_MAX. */
char *fb_read_file(const char *path, size_t *len);
/* strerror for fb_read_file's errno, naming the cap or the file type. */
const char *fb_read_file_strerror(int err);

/* 1-based line and column of byte `off` of text. */
void fb_json_offset_line_col(const char *text, size_t off, int *line, int *col);

#endif
