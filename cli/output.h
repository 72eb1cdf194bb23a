/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* One output layer: objects described once as field tables, printed as text or JSON, and errors in the same two forms. */
#ifndef PR_CLI_OUTPUT_H
#define PR_CLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum out_type {
	OUT_STR,   /* s */
	OUT_UINT,  /* u */
	OUT_INT,   /* i */
	OUT_BOOL,  /* b; in text a column prints (its fmt alone) only when true */
	OUT_LIST,  /* n strings in s, each ended by '\0'; text joins them with ',' */
	OUT_OBJ,   /* one object: desc, obj */
	OUT_ARRAY, /* n objects of size bytes from obj */
	OUT_MAP,   /* like OUT_ARRAY, as a JSON object: key each element's field 0, value its field 1 */
};

#define OUT_STR_MAX 1024

struct out_desc;
/* One field's value, as a getter fills it (zeroed before the call). */
struct out_val {
	enum out_type type;
	bool absent; /* left out of the JSON object and of the text */
	char s[OUT_STR_MAX];
	unsigned long long u;
	long long i;
	bool b;
	size_t n, size;
	const struct out_desc *desc;
	const void *obj;
};

typedef void (*out_get_fn)(const void *obj, size_t arg, struct out_val *v);

#define OUT_F_TEXT (1u << 0)  /* text only: not in the JSON */
#define OUT_F_MERGE (1u << 1) /* an OUT_OBJ whose fields join this object's in JSON */

struct out_field {
	const char *key; /* the JSON key */
	out_get_fn get;
	size_t arg;      /* passed to get: which field, or an offset */
	unsigned int flags;
};

struct out_desc {
	const struct out_field *fields;
	size_t n;
};
#define OUT_DESC(f) { f, sizeof(f) / sizeof((f)[0]) }

/* A text view: columns in order, ended by OUT_COLS_END. */
#define OUT_C_SKIP_EMPTY (1u << 0) /* an empty string prints nothing, not even fmt */
#define OUT_C_HEADER (1u << 1)     /* OUT_ARRAY: a header line of the view's heads first */
struct out_col {
	int field;        /* index into the object's fields; -1 ends a view, -2 is a literal */
	const char *fmt;  /* printf format taking the value as one %s; NULL: "%s". For an
			   * OUT_ARRAY or OUT_MAP it is printed once, before the elements */
	const char *head; /* header cell, printed with fmt */
	const struct out_col *view; /* OUT_OBJ, OUT_ARRAY, OUT_MAP: how an element looks */
	unsigned int flags;
	const char *empty; /* printed instead of an empty string */
};
#define OUT_COLS_END { .field = -1 }
#define OUT_LIT_FIELD (-2)
#define OUT_LITERAL(text) { .field = OUT_LIT_FIELD, .fmt = text } /* text as is, headers too */

/* Setters and generic getters for field tables. */
void out_str(struct out_val *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void out_uint(struct out_val *v, unsigned long long u);
void out_int(struct out_val *v, long long i);
void out_bool(struct out_val *v, bool b);
void out_list_add(struct out_val *v, const char *s);
void out_obj(struct out_val *v, const struct out_desc *d, const void *obj);
void out_array(struct out_val *v, const struct out_desc *d, const void *base, size_t n, size_t size);
void out_map(struct out_val *v, const struct out_desc *d, const void *base, size_t n, size_t size);
void out_get_u64(const void *obj, size_t off, struct out_val *v);    /* __u64 at off */
void out_get_size(const void *obj, size_t off, struct out_val *v);   /* size_t at off */
void out_get_u32(const void *obj, size_t off, struct out_val *v);    /* __u32 at off */
void out_get_bool(const void *obj, size_t off, struct out_val *v);   /* bool at off */
void out_get_cstr(const void *obj, size_t off, struct out_val *v);   /* const char * at off */

/* Output mode and the command errors are reported under; set once by main. */
void out_setup(bool json, const char *command);
bool out_json(void);
/* While muted, out_err reports nothing (main parses the global options twice). */
void out_mute(bool mute);

/* One object: a JSON object, or its text view. */
void out_print(const struct out_desc *d, const void *obj, const struct out_col *view);
/* One object of a stream, flushed at once: JSON on one line (one object a
 * line), or its text view. -EIO when stdout cannot take it (a closed pipe). */
int out_print_line(const struct out_desc *d, const void *obj, const struct out_col *view);
/* A list: a JSON array, or one view a line (header first if asked; none,
 * if not NULL, is the text line of an empty list). */
void out_print_list(const struct out_desc *d, const void *base, size_t n, size_t size,
		    const struct out_col *view, bool header, const char *none);
/* An object's text view into buf (for messages). */
void out_text(char *buf, size_t len, const struct out_desc *d, const void *obj, const struct out_col *view);

/* Report an error and return code. Text: "portredir: COMMAND: MESSAGE" on
 * stderr. JSON: {"error": "MESSAGE"} on stdout, nothing on stderr. */
int out_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A notice on stderr in text mode ("portredir: COMMAND: ..."); under JSON the
 * object printed carries the same fact, so nothing is printed. */
void out_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
