#include "jsonfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *fb_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			char *nb = realloc(buf, cap ? cap * 2 : 8192);

			if (!nb) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
			cap = cap ? cap * 2 : 8192;
		}
		size_t r = fread(buf + n, 1, cap - n - 1, f);

		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		int e = errno;

		free(buf);
		fclose(f);
		errno = e ? e : EIO;
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
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

static void offset_to_line_col(const char *text, size_t off, int *line, int *col)
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

cJSON *fb_json_parse_text(const char *name, const char *text, struct fb_diag *diag)
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
		offset_to_line_col(text, off, &line, &col);
		fb_diag_add_at(diag, FB_SEV_ERROR, name, NULL, NULL,
			       "%s:%d:%d: unterminated /* comment", name, line, col);
		free(copy);
		return NULL;
	}
	doc = cJSON_ParseWithOpts(copy, &end, true);
	if (!doc) {
		/* cJSON points at (or just past) the offending character. */
		const char *at = cJSON_GetErrorPtr();

		off = (at && at >= copy) ? (size_t)(at - copy) : 0;
		offset_to_line_col(text, off, &line, &col);
		if (text[off] == '\0' || copy[strspn(copy, " \t\r\n")] == '\0')
			fb_diag_add_at(diag, FB_SEV_ERROR, name, NULL, NULL,
				       "%s:%d:%d: invalid JSON: unexpected end of file",
				       name, line, col);
		else
			fb_diag_add_at(diag, FB_SEV_ERROR, name, NULL, NULL,
				       "%s:%d:%d: invalid JSON near '%.20s'",
				       name, line, col, text + off);
	}
	free(copy);
	return doc;
}

cJSON *fb_json_load_file(const char *path, struct fb_diag *diag)
{
	char *text = fb_read_file(path, NULL);
	cJSON *doc;

	if (!text) {
		fb_diag_add_at(diag, FB_SEV_ERROR, path, NULL, NULL, "%s: cannot read: %s", path,
			       strerror(errno));
		return NULL;
	}
	doc = fb_json_parse_text(path, text, diag);
	free(text);
	return doc;
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

		/* Casting a double outside long long's range is undefined. */
		if (!(d >= -0x1p63 && d < 0x1p63) || d != (double)(long long)d) {
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

void fb_json_unknown_keys(const cJSON *obj, const char *const *known,
			  const char *where, struct fb_diag *diag)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, obj) {
		bool found = false;

		if (!item->string || item->string[0] == '_')
			continue; /* "_comment"-style keys are documentation */
		for (int i = 0; known[i]; i++) {
			if (!strcmp(item->string, known[i])) {
				found = true;
				break;
			}
		}
		if (!found)
			fb_json_warn(diag, where, item->string, "%s: unknown field \"%s\" ignored",
				     where, item->string);
	}
}
