/* SPDX-License-Identifier: Apache-2.0 */
#include "jsonfile.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

char *fb_read_file(const char *path, size_t *len)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
	 * below like any file that is not regular. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;

		close(fd);
		errno = e;
		return NULL;
	}
	if (st.st_size > FB_JSON_FILE_MAX) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	for (;;) {
		ssize_t r;

		if (cap - n < 4096) {
			char *nb = realloc(buf, cap ? cap * 2 : 8192);

			if (!nb) {
				free(buf);
				close(fd);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
			cap = cap ? cap * 2 : 8192;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		/* The file may grow after fstat. */
		if (n > FB_JSON_FILE_MAX) {
			free(buf);
			close(fd);
			errno = EFBIG;
			return NULL;
		}
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

const char *fb_read_file_strerror(int err)
{
	if (err == EINVAL)
		return "expected a regular file (not a FIFO, socket or device)";
	if (err == EFBIG)
		return "expected a file of at most " FB_JSON_FILE_MAX_TEXT;
	return strerror(err);
}

int fb_json_strip_comments(char *t, size_t *err_off)
{
	bool in_string = false;

	for (size_t i = 0; t[i]; i++) {
		if (in_string) {
			if (t[i] == '\\' && t[i + 1])
				i++;
			else if (t[i] == '"')
				in_string = false;
			continue;
		}
		if (t[i] == '"') {
			in_string = true;
		} else if (t[i] == '/' && t[i + 1] == '/') {
			while (t[i] && t[i] != '\n')
				t[i++] = ' ';
			if (!t[i])
				break;
		} else if (t[i] == '/' && t[i + 1] == '*') {
			size_t start = i;

			t[i++] = ' ';
			t[i++] = ' ';
			while (t[i] && !(t[i] == '*' && t[i + 1] == '/')) {
				if (t[i] != '\n')
					t[i] = ' ';
				i++;
			}
			if (!t[i]) {
				if (err_off)
					*err_off = start;
				return -1;
			}
			t[i++] = ' ';
			t[i] = ' ';
		}
	}
	return 0;
}

void fb_json_offset_line_col(const char *text, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && text[i]; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* Duplicate keys: cJSON keeps the first, while jq, Python and JavaScript
 * keep the last, so a file would mean one thing to the gateway and another
 * to every tool that edits or checks it.  cJSON does not say where a key
 * was, so this scans the comment-blanked text (offsets as in the original)
 * after a successful parse.  Each object's keys are sorted when it closes:
 * O(n log n), as an object may hold many thousands of keys. */
struct dup_key {
	const char *s; /* raw bytes between the quotes, escapes not decoded */
	size_t len, off;
};

static int dup_key_cmp(const void *pa, const void *pb)
{
	const struct dup_key *a = pa, *b = pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->s, b->s, n);

	if (c)
		return c;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return a->off < b->off ? -1 : a->off > b->off;
}

#define DUP_REPORT_MAX 10

/* Returns the number of duplicates found (each one reported, up to
 * DUP_REPORT_MAX), or -1 on ENOMEM. */
static long dup_keys_find(const char *name, const char *orig, const char *t,
			  struct fb_diag *diag)
{
	struct dup_key *keys = NULL;
	size_t nkeys = 0, capkeys = 0, depth = 0, capdepth = 0;
	struct frame { char kind; size_t first; } *stack = NULL;
	bool expect_key = false;
	long found = 0;

	for (size_t i = 0; t[i]; i++) {
		char ch = t[i];

		if (ch == '{' || ch == '[') {
			if (depth == capdepth) {
				size_t nc = capdepth ? capdepth * 2 : 32;
				struct frame *ns = realloc(stack, nc * sizeof(*ns));

				if (!ns)
					goto oom;
				stack = ns;
				capdepth = nc;
			}
			stack[depth].kind = ch;
			stack[depth++].first = nkeys;
			expect_key = ch == '{';
		} else if ((ch == '}' || ch == ']') && depth) {
			size_t first = stack[--depth].first;

			if (ch == '}' && nkeys - first > 1) {
				qsort(keys + first, nkeys - first, sizeof(*keys), dup_key_cmp);
				for (size_t k = first + 1; k < nkeys; k++) {
					int l0, c0, l1, c1;

					if (keys[k].len != keys[k - 1].len ||
					    memcmp(keys[k].s, keys[k - 1].s, keys[k].len))
						continue;
					if (found++ >= DUP_REPORT_MAX)
						continue;
					fb_json_offset_line_col(orig, keys[k - 1].off, &l0, &c0);
					fb_json_offset_line_col(orig, keys[k].off, &l1, &c1);
					fb_diag_add_at(diag, FB_SEV_ERROR, name, NULL, NULL,
						       "%s:%d:%d: duplicate key \"%.*s\" (also at "
						       "line %d): expected each key once per object "
						       "(other JSON tools would read the last one)",
						       name, l1, c1, (int)(keys[k].len > 64 ? 64
									  : keys[k].len),
						       keys[k].s, l0);
				}
			}
			nkeys = first;
			expect_key = false;
		} else if (ch == ',') {
			expect_key = depth && stack[depth - 1].kind == '{';
		} else if (ch == '"') {
			size_t start = ++i;

			while (t[i] && t[i] != '"') {
				if (t[i] == '\\' && t[i + 1])
					i++;
				i++;
			}
			if (expect_key) {
				if (nkeys == capkeys) {
					size_t nc = capkeys ? capkeys * 2 : 64;
					struct dup_key *nk = realloc(keys, nc * sizeof(*nk));

					if (!nk)
						goto oom;
					keys = nk;
					capkeys = nc;
				}
				keys[nkeys++] = (struct dup_key){ t + start, i - start, start - 1 };
				expect_key = false;
			}
			if (!t[i])
				break;
		}
	}
	if (found > DUP_REPORT_MAX)
		fb_diag_add_at(diag, FB_SEV_ERROR, name, NULL, NULL,
			       "%s: %ld more duplicate keys not listed", name,
			       found - DUP_REPORT_MAX);
	free(keys);
	free(stack);
	return found;
oom:
	free(keys);
	free(stack);
	return -1;
}

/* The text at a syntax error, for the message, with every string's content
 * and every bare word other than true/false/null shown as "…": in a file
 * that may hold secrets the error may sit on one, quoted or not (a
 * password whose quotes were forgotten).  `t` is the comment-blanked
 * text; a string that begins before `off` is masked too. */
static void quote_masked(const char *t, size_t off, char *out, size_t outlen)
{
	bool in_string = false, masked = false;
	size_t o = 0, shown = 0;

	for (size_t i = 0; i < off && t[i]; i++) {
		if (in_string && t[i] == '\\' && t[i + 1])
			i++;
		else if (t[i] == '"')
			in_string = !in_string;
	}
	for (size_t i = off; t[i] && shown < 20 && o + 8 < outlen; i++, shown++) {
		char ch = t[i];

		if (in_string) {
			if (ch == '\\' && t[i + 1]) {
				i++;
			} else if (ch == '"') {
				out[o++] = '"';
				in_string = false;
				masked = false;
				continue;
			}
			if (!masked) {
				memcpy(out + o, "\xe2\x80\xa6", 3); /* U+2026 … */
				o += 3;
				masked = true;
			}
		} else if (ch == '"') {
			out[o++] = '"';
			in_string = true;
			masked = false;
		} else if (strchr("{}[]:, \t\r\n", ch)) {
			out[o++] = ch == '\n' || ch == '\r' ? ' ' : ch;
		} else {
			size_t n = strcspn(t + i, "{}[]:,\" \t\r\n");

			if ((n == 4 && (!strncmp(t + i, "true", 4) || !strncmp(t + i, "null", 4))) ||
			    (n == 5 && !strncmp(t + i, "false", 5))) {
				memcpy(out + o, t + i, n);
				o += n;
			} else {
				memcpy(out + o, "\xe2\x80\xa6", 3);
				o += 3;
			}
			i += n - 1;
			shown += n - 1;
		}
	}
	out[o] = '\0';
}

static cJSON *parse_text(const char *name, const char *text, bool private,
			 struct fb_diag *diag)
{
	char *copy = strdup(text);
	size_t off = 0;
	int line, col;
	cJSON *doc;
	const char *end = NULL;

	if (!copy) {
		fb_diag_add_at(diag, FB_SEV_ERROR, name, NULL, NULL, "%s: out of memory", name);
		return NULL;
	}
	if (fb_json_strip_comments(copy, &off) < 0) {
		fb_json_offset_line_col(text, off, &line, &col);
		fb_diag_add_at(diag, FB_SEV_ERROR, name, NULL, NULL,
			       "%s:%d:%d: unterminated /* comment", name, line, col);
		free(copy);
		return NULL;
	}
	doc = cJSON_ParseWithOpts(copy, &end, true);
	if (!doc) {
		/* cJSON points at (or just past) the offending character. */
		const char *at = cJSON_GetErrorPtr();
		char quote[128];

		off = (at && at >= copy) ? (size_t)(at - copy) : 0;
		fb_json_offset_line_col(text, off, &line, &col);
		if (text[off] == '\0' || copy[strspn(copy, " \t\r\n")] == '\0') {
			fb_diag_add_at(diag, FB_SEV_ERROR, name, NULL, NULL,
				       "%s:%d:%d: invalid JSON: unexpected end of file",
				       name, line, col);
		} else {
			if (private)
				quote_masked(copy, off, quote, sizeof(quote));
			else
				snprintf(quote, sizeof(quote), "%.20s", text + off);
			fb_diag_add_at(diag, FB_SEV_ERROR, name, NULL, NULL,
				       "%s:%d:%d: invalid JSON near '%s'", name, line, col,
				       quote);
		}
	} else {
		long dups = dup_keys_find(name, text, copy, diag);

		if (dups != 0) {
			if (dups < 0)
				fb_diag_add_at(diag, FB_SEV_ERROR, name, NULL, NULL,
					       "%s: out of memory", name);
			cJSON_Delete(doc);
			doc = NULL;
		}
	}
	free(copy);
	return doc;
}

cJSON *fb_json_parse_text(const char *name, const char *text, struct fb_diag *diag)
{
	return parse_text(name, text, false, diag);
}

cJSON *fb_json_parse_private(const char *name, const char *text, struct fb_diag *diag)
{
	return parse_text(name, text, true, diag);
}

static cJSON *load_file(const char *path, bool private, struct fb_diag *diag)
{
	char *text = fb_read_file(path, NULL);
	cJSON *doc;

	if (!text) {
		fb_diag_add_at(diag, FB_SEV_ERROR, path, NULL, NULL, "%s: cannot read: %s", path,
			       fb_read_file_strerror(errno));
		return NULL;
	}
	doc = parse_text(path, text, private, diag);
	if (private)
		explicit_bzero(text, strlen(text));
	free(text);
	return doc;
}

cJSON *fb_json_load_file(const char *path, struct fb_diag *diag)
{
	return load_file(path, false, diag);
}

cJSON *fb_json_load_private(const char *path, struct fb_diag *diag)
{
	return load_file(path, true, diag);
}

char *fb_json_where_path(const char *where)
{
	const char *sep = strstr(where, ": ");
	const char *in = sep ? sep + 2 : "";
	char *out = malloc(strlen(in) + 1), *o = out;

	if (!out)
		return NULL;
	if (!strncmp(in, "bus", 3) || !strncmp(in, "connection", 10)) {
		size_t n = in[0] == 'b' ? 3 : 10;

		if (!in[n] || in[n] == ' ' || in[n] == '.')
			in += n + (in[n] == '.');
	}
	while (*in) {
		/* " (name)" closes at the next ')' followed by '.' or the end. */
		if (in[0] == ' ' && in[1] == '(') {
			const char *close = in + 2;

			while (*close && !(close[0] == ')' && (!close[1] || close[1] == '.')))
				close++;
			if (*close) {
				in = close + 1;
				continue;
			}
		}
		*o++ = *in++;
	}
	*o = '\0';
	if (out[0] == '.')
		memmove(out, out + 1, strlen(out));
	return out;
}

void fb_json_diag(struct fb_diag *d, enum fb_severity sev, const char *where,
		  const char *key, const char *fmt, ...)
{
	const char *sep = strstr(where, ": ");
	char *file = sep ? strndup(where, (size_t)(sep - where)) : strdup(where);
	char *path = fb_json_where_path(where);
	va_list ap;

	va_start(ap, fmt);
	fb_diag_vadd_at(d, sev, file, path, key, fmt, ap);
	va_end(ap);
	free(file);
	free(path);
}

static const char *json_type_name(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "an unknown value";
}

static const cJSON *json_field(const cJSON *obj, const char *key, bool required,
			       const char *where, struct fb_diag *diag, int *rc)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v || cJSON_IsNull(v)) {
		if (required) {
			fb_json_error(diag, where, key,
				      "%s.%s: required field is missing", where, key);
			*rc = -1;
		} else {
			*rc = 0;
		}
		return NULL;
	}
	*rc = 1;
	return v;
}

int fb_json_string(const cJSON *obj, const char *key, bool required,
		   const char *where, struct fb_diag *diag, const char **out)
{
	int rc;
	const cJSON *v = json_field(obj, key, required, where, diag, &rc);

	if (!v)
		return rc;
	if (!cJSON_IsString(v)) {
		fb_json_error(diag, where, key, "%s.%s: expected a string, got %s", where, key,
			      json_type_name(v));
		return -1;
	}
	*out = v->valuestring;
	return 1;
}

int fb_json_int(const cJSON *obj, const char *key, bool required,
		long long min, long long max,
		const char *where, struct fb_diag *diag, long long *out)
{
	int rc;
	const cJSON *v = json_field(obj, key, required, where, diag, &rc);
	long long n;

	if (!v)
		return rc;
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		/* Out of long long's range (1e30, 1e999 = inf) the cast below is
		 * undefined: refuse first, naming the range. */
		if (!(d >= -0x1p63 && d < 0x1p63)) {
			fb_json_error(diag, where, key, "%s.%s: expected %lld..%lld, got %g",
				      where, key, min, max, d);
			return -1;
		}
		if (d != (double)(long long)d) {
			fb_json_error(diag, where, key,
				      "%s.%s: expected an integer, got %g", where, key, d);
			return -1;
		}
		n = (long long)d;
	} else if (cJSON_IsString(v) && v->valuestring[0]) {
		char *end;

		errno = 0;
		n = strtoll(v->valuestring, &end, 0);
		if (errno || *end) {
			fb_json_error(diag, where, key,
				      "%s.%s: expected an integer (decimal or 0x hex), got \"%s\"",
				      where, key, v->valuestring);
			return -1;
		}
	} else {
		fb_json_error(diag, where, key, "%s.%s: expected an integer, got %s", where, key,
			      json_type_name(v));
		return -1;
	}
	if (n < min || n > max) {
		fb_json_error(diag, where, key, "%s.%s: expected %lld..%lld, got %lld", where, key,
			      min, max, n);
		return -1;
	}
	*out = n;
	return 1;
}

int fb_json_number(const cJSON *obj, const char *key, bool required,
		   const char *where, struct fb_diag *diag, double *out)
{
	int rc;
	const cJSON *v = json_field(obj, key, required, where, diag, &rc);

	if (!v)
		return rc;
	if (!cJSON_IsNumber(v)) {
		fb_json_error(diag, where, key, "%s.%s: expected a number, got %s", where, key,
			      json_type_name(v));
		return -1;
	}
	*out = v->valuedouble;
	return 1;
}

int fb_json_bool(const cJSON *obj, const char *key, bool required,
		 const char *where, struct fb_diag *diag, bool *out)
{
	int rc;
	const cJSON *v = json_field(obj, key, required, where, diag, &rc);

	if (!v)
		return rc;
	if (cJSON_IsBool(v)) {
		*out = cJSON_IsTrue(v);
		return 1;
	}
	if (cJSON_IsString(v)) {
		if (!strcasecmp(v->valuestring, "on")) {
			*out = true;
			return 1;
		}
		if (!strcasecmp(v->valuestring, "off")) {
			*out = false;
			return 1;
		}
	}
	fb_json_error(diag, where, key, "%s.%s: expected true/false or \"on\"/\"off\", got %s",
		      where, key, cJSON_IsString(v) ? v->valuestring : json_type_name(v));
	return -1;
}

int fb_json_enum(const cJSON *obj, const char *key, bool required,
		 const char *const *names,
		 const char *where, struct fb_diag *diag, int *out)
{
	int rc;
	const cJSON *v = json_field(obj, key, required, where, diag, &rc);
	char list[512] = "";
	size_t used = 0;

	if (!v)
		return rc;
	if (cJSON_IsString(v)) {
		for (int i = 0; names[i]; i++) {
			if (!strcmp(v->valuestring, names[i])) {
				*out = i;
				return 1;
			}
		}
	}
	for (int i = 0; names[i] && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
					 i ? ", " : "", names[i]);
	if (cJSON_IsString(v))
		fb_json_error(diag, where, key, "%s.%s: expected one of %s, got \"%s\"", where, key,
			      list, v->valuestring);
	else
		fb_json_error(diag, where, key, "%s.%s: expected one of %s, got %s", where, key,
			      list, json_type_name(v));
	return -1;
}

/* Keys are short: anything longer than KEY_CMP_MAX is "far". */
#define KEY_CMP_MAX 64

size_t fb_json_name_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t d[KEY_CMP_MAX + 1][KEY_CMP_MAX + 1];

	if (la > KEY_CMP_MAX || lb > KEY_CMP_MAX)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]);
			int cb = tolower((unsigned char)b[j - 1]);
			size_t best = d[i - 1][j - 1] + (ca != cb);

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

/* The known key `key` was most likely meant as, or NULL.  A near miss is a
 * small edit (one for keys of up to 3 letters, two up to 6, three beyond)
 * or a known key that starts the unknown one or the reverse ("baudrate"
 * for "baud", "bus" for "buses"). */
static const char *key_suggestion(const char *key, const char *const *known)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX, klen = strlen(key);

	for (int i = 0; known[i]; i++) {
		size_t n = strlen(known[i]);
		size_t allowed = n <= 3 ? 1 : n <= 6 ? 2 : 3;
		size_t d = fb_json_name_distance(key, known[i]);
		bool prefix = (n >= 3 && klen > n && !strncasecmp(key, known[i], n)) ||
			      (klen >= 3 && n > klen && !strncasecmp(known[i], key, klen));

		if (d > allowed && !prefix)
			continue;
		if (prefix && d > allowed)
			d = allowed + 1; /* after every real near miss */
		if (d < best_d) {
			best_d = d;
			best = known[i];
		}
	}
	return best;
}

void fb_json_unknown_keys(const cJSON *obj, const char *const *known,
			  const char *where, struct fb_diag *diag)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, obj) {
		bool found = false;
		const char *hint;
		char list[768];
		size_t used = 0;

		if (!item->string || item->string[0] == '_')
			continue; /* "_comment"-style keys are documentation */
		for (int i = 0; known[i]; i++) {
			if (!strcmp(item->string, known[i])) {
				found = true;
				break;
			}
		}
		if (found)
			continue;
		hint = key_suggestion(item->string, known);
		if (hint) {
			fb_json_error(diag, where, item->string,
				      "%s: unknown field \"%s\": did you mean \"%s\"?",
				      where, item->string, hint);
			continue;
		}
		list[0] = '\0';
		for (int i = 0; known[i] && used < sizeof(list); i++)
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
						 i ? ", " : "", known[i]);
		fb_json_error(diag, where, item->string,
			      "%s: unknown field \"%s\": expected one of %s (keys starting "
			      "with '_' are comments)", where, item->string, list);
	}
}
