// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Prints objects from their field tables: JSON from the fields, text from a view of columns over the same fields; errors as text or JSON. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "output.h"

static bool json_mode;
static const char *cmd_name;
static bool muted;

void out_setup(bool json, const char *command)
{
	json_mode = json;
	cmd_name = command;
}

bool out_json(void)
{
	return json_mode;
}

void out_mute(bool mute)
{
	muted = mute;
}

/* ---- setters and generic getters ---- */

void out_str(struct out_val *v, const char *fmt, ...)
{
	va_list ap;

	v->type = OUT_STR;
	va_start(ap, fmt);
	vsnprintf(v->s, sizeof(v->s), fmt, ap);
	va_end(ap);
}

void out_uint(struct out_val *v, unsigned long long u)
{
	v->type = OUT_UINT;
	v->u = u;
}

void out_int(struct out_val *v, long long i)
{
	v->type = OUT_INT;
	v->i = i;
}

void out_bool(struct out_val *v, bool b)
{
	v->type = OUT_BOOL;
	v->b = b;
}

/* Appends s to a list; v->size tracks the bytes used in v->s. */
void out_list_add(struct out_val *v, const char *s)
{
	size_t l = strlen(s) + 1;

	v->type = OUT_LIST;
	if (v->size + l > sizeof(v->s))
		return;
	memcpy(v->s + v->size, s, l);
	v->size += l;
	v->n++;
}

void out_obj(struct out_val *v, const struct out_desc *d, const void *obj)
{
	v->type = OUT_OBJ;
	v->desc = d;
	v->obj = obj;
}

void out_array(struct out_val *v, const struct out_desc *d, const void *base, size_t n, size_t size)
{
	v->type = OUT_ARRAY;
	v->desc = d;
	v->obj = base;
	v->n = n;
	v->size = size;
}

void out_map(struct out_val *v, const struct out_desc *d, const void *base, size_t n, size_t size)
{
	out_array(v, d, base, n, size);
	v->type = OUT_MAP;
}

void out_get_u64(const void *obj, size_t off, struct out_val *v)
{
	out_uint(v, *(const __u64 *)((const char *)obj + off));
}

void out_get_size(const void *obj, size_t off, struct out_val *v)
{
	out_uint(v, *(const size_t *)((const char *)obj + off));
}

void out_get_u32(const void *obj, size_t off, struct out_val *v)
{
	out_uint(v, *(const __u32 *)((const char *)obj + off));
}

void out_get_bool(const void *obj, size_t off, struct out_val *v)
{
	out_bool(v, *(const bool *)((const char *)obj + off));
}

void out_get_cstr(const void *obj, size_t off, struct out_val *v)
{
	out_str(v, "%s", *(const char *const *)((const char *)obj + off));
}

static void get(const struct out_desc *d, const void *obj, size_t i, struct out_val *v)
{
	/* not a memset of the whole value: lists of 100,000 rules call this a lot */
	v->type = OUT_STR;
	v->absent = v->b = false;
	v->s[0] = 0;
	v->u = v->i = 0;
	v->n = v->size = 0;
	v->desc = NULL;
	v->obj = NULL;
	d->fields[i].get(obj, d->fields[i].arg, v);
}

static const void *elem(const struct out_val *v, size_t i)
{
	return (const char *)v->obj + i * v->size;
}

/* ---- JSON ---- */

static void obj_fill(json_t *j, const struct out_desc *d, const void *obj);

static json_t *obj_json(const struct out_desc *d, const void *obj)
{
	json_t *j = json_object();

	obj_fill(j, d, obj);
	return j;
}

static json_t *val_json(const struct out_val *v)
{
	struct out_val k, x;
	json_t *j;

	switch (v->type) {
	case OUT_STR: return json_string(v->s);
	case OUT_UINT: return json_integer((json_int_t)v->u);
	case OUT_INT: return json_integer(v->i);
	case OUT_BOOL: return json_boolean(v->b);
	case OUT_OBJ: return obj_json(v->desc, v->obj);
	case OUT_LIST:
		j = json_array();
		for (const char *p = v->s; p < v->s + v->size; p += strlen(p) + 1)
			json_array_append_new(j, json_string(p));
		return j;
	case OUT_ARRAY:
		j = json_array();
		for (size_t i = 0; i < v->n; i++)
			json_array_append_new(j, obj_json(v->desc, elem(v, i)));
		return j;
	case OUT_MAP:
		j = json_object();
		for (size_t i = 0; i < v->n; i++) {
			get(v->desc, elem(v, i), 0, &k);
			get(v->desc, elem(v, i), 1, &x);
			json_object_set_new(j, k.s, val_json(&x));
		}
		return j;
	}
	return json_null();
}

static void obj_fill(json_t *j, const struct out_desc *d, const void *obj)
{
	struct out_val v;

	for (size_t i = 0; i < d->n; i++) {
		if (d->fields[i].flags & OUT_F_TEXT)
			continue;
		get(d, obj, i, &v);
		if (v.absent)
			continue;
		if (d->fields[i].flags & OUT_F_MERGE)
			obj_fill(j, v.desc, v.obj);
		else
			json_object_set_new(j, d->fields[i].key, val_json(&v));
	}
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s)
		puts(s);
	free(s);
	json_decref(j);
}

/* ---- text ---- */

static void render_view(FILE *f, const struct out_desc *d, const void *obj, const struct out_col *view);

/* A scalar or list value as the text a column formats. */
static void text_of(const struct out_val *v, char *buf, size_t len)
{
	size_t n = 0;

	switch (v->type) {
	case OUT_UINT: snprintf(buf, len, "%llu", v->u); return;
	case OUT_INT: snprintf(buf, len, "%lld", v->i); return;
	case OUT_LIST:
		buf[0] = 0;
		for (const char *p = v->s; p < v->s + v->size && n < len; p += strlen(p) + 1)
			n += snprintf(buf + n, len - n, "%s%s", p == v->s ? "" : ",", p);
		return;
	default: snprintf(buf, len, "%s", v->s); return;
	}
}

static void render_header(FILE *f, const struct out_col *view)
{
	for (const struct out_col *c = view; c->field != -1; c++) {
		if (c->field == OUT_LIT_FIELD)
			fputs(c->fmt, f);
		else if (c->view && !c->head)
			render_header(f, c->view);
		else
			fprintf(f, c->fmt ? c->fmt : "%s", c->head ? c->head : "");
	}
}

static void render_elems(FILE *f, const struct out_val *v, const struct out_col *c)
{
	fprintf(f, c->fmt ? c->fmt : "%s", "");
	if (c->flags & OUT_C_HEADER)
		render_header(f, c->view);
	for (size_t i = 0; i < v->n; i++)
		render_view(f, v->desc, elem(v, i), c->view);
}

static void render_col(FILE *f, const struct out_desc *d, const void *obj, const struct out_col *c)
{
	char buf[OUT_STR_MAX];
	struct out_val v;

	get(d, obj, c->field, &v);
	if (v.absent)
		return;
	if (v.type == OUT_ARRAY || v.type == OUT_MAP)
		return render_elems(f, &v, c);
	if (v.type == OUT_OBJ && !c->fmt)
		return render_view(f, v.desc, v.obj, c->view);
	if (v.type == OUT_BOOL) {
		if (v.b)
			fprintf(f, c->fmt, "");
		return;
	}
	if (v.type == OUT_OBJ)
		out_text(buf, sizeof(buf), v.desc, v.obj, c->view);
	else
		text_of(&v, buf, sizeof(buf));
	if (!buf[0] && (c->flags & OUT_C_SKIP_EMPTY))
		return;
	fprintf(f, c->fmt ? c->fmt : "%s", !buf[0] && c->empty ? c->empty : buf);
}

static void render_view(FILE *f, const struct out_desc *d, const void *obj, const struct out_col *view)
{
	for (const struct out_col *c = view; c->field != -1; c++) {
		if (c->field == OUT_LIT_FIELD)
			fputs(c->fmt, f);
		else
			render_col(f, d, obj, c);
	}
}

void out_text(char *buf, size_t len, const struct out_desc *d, const void *obj, const struct out_col *view)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	buf[0] = 0;
	if (!f)
		return;
	render_view(f, d, obj, view);
	fclose(f);
	snprintf(buf, len, "%s", s ? s : "");
	free(s);
}

/* ---- entry points ---- */

void out_print(const struct out_desc *d, const void *obj, const struct out_col *view)
{
	if (json_mode)
		print_json(obj_json(d, obj));
	else
		render_view(stdout, d, obj, view);
}

int out_print_line(const struct out_desc *d, const void *obj, const struct out_col *view)
{
	if (json_mode) {
		json_t *j = obj_json(d, obj);
		char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

		if (s)
			puts(s);
		free(s);
		json_decref(j);
	} else {
		render_view(stdout, d, obj, view);
	}
	return fflush(stdout) || ferror(stdout) ? -EIO : 0;
}

void out_print_list(const struct out_desc *d, const void *base, size_t n, size_t size,
		    const struct out_col *view, bool header, const char *none)
{
	struct out_val v = {};

	out_array(&v, d, base, n, size);
	if (json_mode) {
		print_json(val_json(&v));
		return;
	}
	if (header)
		render_header(stdout, view);
	for (size_t i = 0; i < n; i++)
		render_view(stdout, d, elem(&v, i), view);
	if (!n && none)
		puts(none);
}

/* Length of the valid UTF-8 sequence of a printable character at s, or 0:
 * ASCII controls, DEL, the C1 controls U+0080-U+009F (which some terminals
 * obey), overlong forms, surrogates and stray bytes are not. */
static size_t printable_utf8(const unsigned char *s)
{
	size_t n, i;
	__u32 cp;

	if (s[0] >= 0x20 && s[0] < 0x7f)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < 0xa0 || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* msg with every byte that is not part of a printable UTF-8 character
 * written as \xNN, so a bad file's control bytes never reach a terminal
 * raw, and JSON always gets a valid string. */
static void escape_msg(char *dst, size_t len, const char *msg)
{
	const unsigned char *s = (const unsigned char *)msg;
	size_t o = 0, n;

	while (*s && o + 5 < len) {
		n = printable_utf8(s);
		if (n) {
			memcpy(dst + o, s, n);
			o += n;
			s += n;
		} else {
			o += snprintf(dst + o, len - o, "\\x%02x", *s++);
		}
	}
	dst[o] = 0;
}

int out_err(int code, const char *fmt, ...)
{
	char raw[1024], msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	escape_msg(msg, sizeof(msg), raw);
	if (muted)
		return code;
	if (json_mode)
		print_json(json_pack("{s:s}", "error", msg));
	else if (cmd_name)
		fprintf(stderr, "portredir: %s: %s\n", cmd_name, msg);
	else
		fprintf(stderr, "portredir: %s\n", msg);
	return code;
}

void out_note(const char *fmt, ...)
{
	char raw[1024], msg[4096];
	va_list ap;

	if (json_mode)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	escape_msg(msg, sizeof(msg), raw);
	fprintf(stderr, "portredir: %s: %s\n", cmd_name, msg);
}
