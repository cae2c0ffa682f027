/* json.h - a small streaming JSON writer for ortho-report's --format json:
 * objects, arrays, strings, integers, numbers and booleans, written as they
 * come with two-space indentation. The writer tracks only whether a comma
 * is due at each nesting level; the caller keeps begin/end balanced. */
#ifndef ORTHO_REPORT_JSON_H
#define ORTHO_REPORT_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json {
    FILE *out;
    int depth;                          /* open objects and arrays */
    bool has_items[JSON_MAX_DEPTH + 1]; /* per level: a comma is due */
};

/* The version of ortho-report's JSON layout, written first in every
 * document as "schema_version": it grows when a key changes meaning or
 * goes away (new keys do not change it). */
#define JSON_SCHEMA_VERSION 1

void json_init(struct json *j, FILE *out);
/* Opens the document's top-level object and writes its schema_version. */
void json_begin_document(struct json *j);

/* `key` names the value inside an object; NULL inside an array or at the top. */
void json_begin_object(struct json *j, const char *key);
void json_end_object(struct json *j);
void json_begin_array(struct json *j, const char *key);
void json_end_array(struct json *j);
void json_string(struct json *j, const char *key, const char *value); /* NULL: null */
void json_int(struct json *j, const char *key, int64_t value);
void json_number(struct json *j, const char *key, double value);      /* not finite: null */
void json_bool(struct json *j, const char *key, bool value);
/* Ends the document with a newline. */
void json_finish(struct json *j);

#endif
